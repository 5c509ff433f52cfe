import CProcessHardening
import Logging
import NIOSSL

#if canImport(Glibc)
import Glibc
#endif

/// What keeps key material and unsealed values out of places that outlive the process: swap, core dumps, and other
/// processes of the same user reading this one's memory. Applied once, when `coffre serve` starts, before any key is
/// read. Each step that the system refuses is logged with what to change; none stops the server.
public enum ProcessHardening {
    /// Each step and whether it held: for the log, and for tests.
    public struct Outcome: Sendable, Equatable {
        /// Memory locked (`mlockall`): no page of this process is written to swap.
        public var memoryLocked: Bool
        /// No core dump (`RLIMIT_CORE` 0), and not dumpable (`PR_SET_DUMPABLE` 0: no core, no ptrace or
        /// /proc/PID/mem by other processes of the same user).
        public var dumpsDisabled: Bool
    }

    @discardableResult
    public static func apply(logger: Logger) -> Outcome {
        var noCore = rlimit(rlim_cur: 0, rlim_max: 0)
        let dumpsDisabled = setrlimit(__rlimit_resource_t(RLIMIT_CORE.rawValue), &noCore) == 0 && coffre_set_not_dumpable() == 0
        if !dumpsDisabled {
            logger.warning("could not disable core dumps (errno \(errno)): a crash could write key material to a core file")
        }
        // Locked as pages are first touched (MCL_ONFAULT): thread stacks and reserved heap are not populated up front.
        let memoryLocked = mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) == 0
        if memoryLocked {
            logger.info("memory locked: key material and secret values are never written to swap")
        } else {
            let reason =
                errno == EPERM || errno == ENOMEM
                ? "not permitted: raise the memlock limit (LimitMEMLOCK=infinity, ulimit -l unlimited) or grant CAP_IPC_LOCK"
                : "errno \(errno)"
            logger.warning(
                "memory not locked (\(reason)): key material and secret values may be written to swap; disable swap or encrypt it")
        }
        return Outcome(memoryLocked: memoryLocked, dumpsDisabled: dumpsDisabled)
    }

    /// The TLS cipher suites of TLS 1.2 that Coffre serves: forward-secret key exchange (ECDHE) and authenticated
    /// encryption (AES-GCM, ChaCha20-Poly1305) only; no CBC, no RSA key transport, no SHA-1 MAC. TLS 1.3's suites are
    /// all of this kind. TLS 1.0 and 1.1 are refused.
    public static let cipherSuites: [NIOTLSCipher] = [
        .TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, .TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, .TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        .TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, .TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, .TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ]

    /// `tls` restricted to TLS 1.2 and later with `cipherSuites`.
    public static func modern(_ tls: TLSConfiguration) -> TLSConfiguration {
        var tls = tls
        tls.minimumTLSVersion = .tlsv12
        tls.cipherSuiteValues = cipherSuites
        return tls
    }
}
