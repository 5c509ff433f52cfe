import CoffreCore
import Foundation
import Synchronization

/// Appends audit records as JSON lines to a file (mode 0600, `O_APPEND`, so `logrotate` with `copytruncate` works)
/// or to standard output. A failed write marks the sink unavailable, which makes the server refuse requests until a
/// write succeeds again.
public final class FileAuditSink: AuditSink {
    private let descriptor: Int32
    private let ownsDescriptor: Bool
    /// What reads the file back (the console's audit log); nil when records go to standard output.
    private let reader: AuditFileReader?
    private let healthy = Mutex(true)

    /// `path` is a file, or `-` for standard output.
    public init(path: String) throws {
        if path == "-" {
            descriptor = STDOUT_FILENO
            ownsDescriptor = false
            reader = nil
        } else {
            descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
            guard descriptor >= 0 else {
                throw AuditOpenFailure(description: "Cannot open the audit log \(path): \(String(cString: strerror(errno)))")
            }
            ownsDescriptor = true
            reader = AuditFileReader(path: path)
        }
    }

    deinit {
        if ownsDescriptor { close(descriptor) }
    }

    public var isAvailable: Bool { healthy.withLock { $0 } }

    /// One `write(2)` per record, under the lock so that lines never interleave.
    public func record(_ event: AuditEvent) throws {
        let line = try event.jsonLine()
        try healthy.withLock { healthy in
            let written = line.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            healthy = written == line.count
            guard healthy else { throw AuditUnavailable() }
        }
    }
}

extension FileAuditSink: AuditReader {
    public func newest(matching query: AuditQuery, limit: Int) throws -> [AuditEvent] {
        guard let reader else { throw AuditOnStandardOutput() }
        return try reader.newest(matching: query, limit: limit)
    }
}

struct AuditOpenFailure: Error, CustomStringConvertible {
    var description: String
}
