import Dispatch
import NIOCore

/// An event loop group whose `any()` takes turns, as `next()` does. postgres-nio opens each pooled connection on
/// `any()`, which in a `MultiThreadedEventLoopGroup` is the calling loop: all connections would share one loop.
public final class SpreadingEventLoopGroup: EventLoopGroup, Sendable {
    private let group: any EventLoopGroup

    public init(_ group: any EventLoopGroup) { self.group = group }

    public func next() -> any EventLoop { group.next() }
    public func any() -> any EventLoop { group.next() }
    public func makeIterator() -> EventLoopIterator { group.makeIterator() }

    public func shutdownGracefully(queue: DispatchQueue, _ callback: @escaping @Sendable ((any Error)?) -> Void) {
        group.shutdownGracefully(queue: queue, callback)
    }
}
