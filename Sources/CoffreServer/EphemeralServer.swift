import CoffreCore
import Foundation

/// What an ephemeral server (`coffre serve --ephemeral`) needs that a persistent one does not.
public enum EphemeralServer {
    /// A free TCP port on `host` (IPv4 or IPv6 literal, or `localhost`), chosen by the kernel: the server needs its
    /// port before it starts, since every URL and token audience names it.
    public static func freePort(on host: String) throws -> Int {
        let family = host.contains(":") ? AF_INET6 : AF_INET
        let descriptor = socket(family, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw EphemeralFailure("cannot open a socket: \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        var storage = sockaddr_storage()
        var length: socklen_t
        if family == AF_INET6 {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            guard inet_pton(AF_INET6, host, &address.sin6_addr) == 1 else { throw EphemeralFailure("'\(host)' is not an IPv6 address") }
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
            withUnsafeBytes(of: address) { bytes in withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: bytes) } }
        } else {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            guard inet_pton(AF_INET, host == "localhost" ? "127.0.0.1" : host, &address.sin_addr) == 1 else {
                throw EphemeralFailure("'\(host)' is not an IPv4 address")
            }
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
            withUnsafeBytes(of: address) { bytes in withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: bytes) } }
        }
        let bound = withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) } }
        guard bound == 0 else { throw EphemeralFailure("cannot bind \(host): \(String(cString: strerror(errno)))") }
        let named = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        guard named == 0 else { throw EphemeralFailure("cannot read the chosen port: \(String(cString: strerror(errno)))") }
        let port =
            family == AF_INET6
            ? withUnsafeBytes(of: storage) { $0.load(as: sockaddr_in6.self).sin6_port }
            : withUnsafeBytes(of: storage) { $0.load(as: sockaddr_in.self).sin_port }
        return Int(UInt16(bigEndian: port))
    }

    /// Audit records of an ephemeral server go nowhere unless `--audit-log` says where.
    public struct DiscardedAudit: AuditSink {
        public init() {}
        public func record(_ event: AuditEvent) throws {}
        public var isAvailable: Bool { true }
    }
}

public struct EphemeralFailure: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
