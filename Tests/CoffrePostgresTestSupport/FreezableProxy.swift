import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A TCP proxy on loopback in front of a server, that can stop forwarding without closing anything: its clients then
/// see a server that vanished without a FIN or a reset (power loss, a partition), the half-open connection that only
/// timeouts reveal. Each connection is served by a thread that polls every 50 ms; `stop()` closes everything.
public final class FreezableProxy: Sendable {
    public let port: Int
    private let targetPort: Int
    private let listener: Int32
    private let state = Mutex<(frozen: Bool, stopped: Bool, sockets: Set<Int32>)>((false, false, []))

    /// A proxy on a free loopback port that forwards to `targetPort` on loopback.
    public init(forwardingTo targetPort: Int) throws {
        self.targetPort = targetPort
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw TemporaryPostgresError("socket() failed (errno \(errno))") }
        var address = Self.loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                bind(listener, generic, length) == 0 && getsockname(listener, generic, &length) == 0 && listen(listener, 64) == 0
            }
        }
        guard bound else {
            close(listener)
            throw TemporaryPostgresError("the proxy could not listen on loopback (errno \(errno))")
        }
        self.listener = listener
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread.detachNewThread { self.acceptLoop() }
    }

    /// Stops forwarding in both directions and connects no new client to the server; every socket stays open.
    public func freeze() { state.withLock { $0.frozen = true } }

    /// Forwards again.
    public func thaw() { state.withLock { $0.frozen = false } }

    /// Closes the listener and every connection.
    public func stop() {
        let sockets = state.withLock { state -> Set<Int32> in
            state.stopped = true
            defer { state.sockets = [] }
            return state.sockets
        }
        shutdown(listener, Int32(SHUT_RDWR))
        for socket in sockets { close(socket) }
    }

    private var stopped: Bool { state.withLock { $0.stopped } }
    private var frozen: Bool { state.withLock { $0.frozen } }

    private func acceptLoop() {
        defer { close(listener) }
        while !stopped {
            guard Self.readable(listener) else { continue }
            let client = accept(listener, nil, nil)
            guard client >= 0 else { continue }
            guard track(client) else { return }
            // A frozen server takes connections and never answers.
            guard !frozen, let server = connectToTarget(), track(server) else { continue }
            Thread.detachNewThread { self.pump(client, server) }
        }
    }

    /// Remembers `socket` for `stop()`; false (and closes it) when the proxy has stopped.
    private func track(_ socket: Int32) -> Bool {
        let kept = state.withLock { state -> Bool in
            guard !state.stopped else { return false }
            state.sockets.insert(socket)
            return true
        }
        if !kept { close(socket) }
        return kept
    }

    private func connectToTarget() -> Int32? {
        let server = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = Self.loopback(port: targetPort)
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(server, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        if !connected { close(server) }
        return connected ? server : nil
    }

    /// Copies bytes both ways until either side closes (then closes both), the proxy stops, or forever while frozen.
    private func pump(_ client: Int32, _ server: Int32) {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while !stopped {
            var descriptors = [pollfd(fd: client, events: Int16(POLLIN), revents: 0), pollfd(fd: server, events: Int16(POLLIN), revents: 0)]
            guard poll(&descriptors, 2, 50) > 0, !frozen else { continue }
            for (index, descriptor) in descriptors.enumerated() where descriptor.revents != 0 {
                let count = read(descriptor.fd, &buffer, buffer.count)
                let other = index == 0 ? server : client
                guard count > 0, Self.writeAll(other, buffer[0..<count]) else {
                    let tracked = state.withLock { state -> Bool in
                        state.sockets.remove(client) != nil && state.sockets.remove(server) != nil
                    }
                    if tracked {
                        close(client)
                        close(server)
                    }
                    return
                }
            }
        }
    }

    private static func writeAll(_ socket: Int32, _ bytes: ArraySlice<UInt8>) -> Bool {
        var rest = bytes
        while !rest.isEmpty {
            let written = rest.withUnsafeBytes { send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard written > 0 else { return false }
            rest = rest.dropFirst(written)
        }
        return true
    }

    private static func readable(_ socket: Int32) -> Bool {
        var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
        return poll(&descriptor, 1, 50) > 0
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return address
    }
}
