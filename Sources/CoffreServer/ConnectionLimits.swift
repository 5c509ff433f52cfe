import CoffreHTTP
import Hummingbird
import HummingbirdCore
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// What keeps hostile or broken clients from stopping the others: a connection that sends no complete request within
/// the idle timeout (an idle one, a TLS handshake never finished, headers sent a byte at a time) is closed; at most
/// `maximumConnections` are served at once (more wait in the kernel's accept queue instead of exhausting file
/// descriptors); headers past the decoder's limits are answered 431 in the Key Vault error envelope, bodies past a
/// route group's limit 413 (the router).
struct ConnectionLimits: Sendable {
    static let defaultIdleTimeout = 60
    static let defaultMaximumConnections = 10_000
    /// File descriptors kept for everything but client connections: storage, audit log, TLS files, outgoing calls.
    static let reservedDescriptors = 256

    let idleTimeout: Int
    let maximumConnections: Int

    /// Raises the open-file soft limit to the hard limit, so that the default connection cap fits under it.
    init(configuration: ServerConfiguration, logger: Logger) {
        idleTimeout = configuration.idleTimeout ?? Self.defaultIdleTimeout
        let descriptors = Self.raiseOpenFileLimit()
        let fitting = max(1, descriptors - Self.reservedDescriptors)
        maximumConnections = min(configuration.maxConnections ?? Self.defaultMaximumConnections, fitting)
        if let asked = configuration.maxConnections, asked > fitting {
            logger.warning("--max-connections \(asked) does not fit the open-file limit (\(descriptors)): serving \(fitting) at once")
        }
    }

    var http1: HTTP1Channel.Configuration {
        HTTP1Channel.Configuration(additionalChannelHandlers: [OversizedHeaderResponder()], idleTimeout: .seconds(Int64(idleTimeout)))
    }

    /// The open-file soft limit after raising it as far as the hard limit allows.
    static func raiseOpenFileLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return Int(clamping: limit.rlim_cur)
    }
}
