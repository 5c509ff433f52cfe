import CoffreCore
import Foundation
import Synchronization

/// Appends audit records as JSON lines to a file (mode 0600, `O_APPEND`, so `logrotate` with `copytruncate` works)
/// or to standard output. A failed write marks the sink unavailable, which makes the server refuse requests until a
/// write succeeds again.
public final class FileAuditSink: AuditSink {
    private let descriptor: Int32
    private let ownsDescriptor: Bool
    private let state = Mutex((healthy: true, encoder: JSONEncoder()))

    /// `path` is a file, or `-` for standard output.
    public init(path: String) throws {
        if path == "-" {
            descriptor = STDOUT_FILENO
            ownsDescriptor = false
        } else {
            descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
            guard descriptor >= 0 else {
                throw AuditOpenFailure(description: "Cannot open the audit log \(path): \(String(cString: strerror(errno)))")
            }
            ownsDescriptor = true
        }
    }

    deinit {
        if ownsDescriptor { close(descriptor) }
    }

    public var isAvailable: Bool { state.withLock { $0.healthy } }

    public func record(_ event: AuditEvent) throws {
        try state.withLock { state in
            state.encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            var line = try state.encoder.encode(event)
            line.append(UInt8(ascii: "\n"))
            let written = line.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            state.healthy = written == line.count
            guard state.healthy else { throw AuditUnavailable() }
        }
    }
}

struct AuditOpenFailure: Error, CustomStringConvertible {
    var description: String
}
