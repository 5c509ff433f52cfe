import CoffreCrypto
import CoffreModel
import Hummingbird
import Logging
import NIOCore

/// The per-request context: Hummingbird's core storage plus the peer address (audit, loopback checks).
public struct CoffreRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?
    /// The event loop of the request's connection.
    public let eventLoop: any EventLoop

    /// Hummingbird's request id when it set one, else a random one; read once, as the response and the audit record
    /// must carry the same.
    public let requestId: String

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
        self.eventLoop = source.channel.eventLoop
        self.requestId = source.logger[metadataKey: "hb.request.id"]?.description ?? Hex.encode(SecureRandom.bytes(16))
    }

    /// Whether the peer is on this machine.
    public var isLoopback: Bool {
        guard let ip = remoteAddress?.ipAddress else { return false }
        return ip == "::1" || ip.hasPrefix("127.") || ip.hasPrefix("::ffff:127.")
    }
}
