import Foundation

/// Which audit records a reader wants (the console's audit log filters): every field that is set must match.
public struct AuditQuery: Sendable, Equatable {
    public enum Result: String, Sendable, CaseIterable {
        case success = "Success"
        case failure = "Failure"
        /// The records written before a change is made (``AuditEvent/stage`` `request`).
        case started = "Started"
    }

    /// The caller's object id or application (client) id.
    public var caller: String?
    /// The operation's name (`SecretGet`), in any case.
    public var operation: String?
    /// Text the object's identifier contains (`secrets/db-password`), in any case.
    public var object: String?
    /// nil: the outcomes (successes and failures).
    public var result: Result?
    /// Records at or after this time (`2026-12-07T21:00:00.000Z`, compared as the records write it).
    public var from: String?
    /// Records at or before this time.
    public var until: String?
    /// Records before this time (the next page of a list).
    public var before: String?
    /// Only records of these resources (`/vaults/NAME`); nil: every record.
    public var resources: Set<String>?

    public init(
        caller: String? = nil, operation: String? = nil, object: String? = nil, result: Result? = nil, from: String? = nil,
        until: String? = nil, before: String? = nil, resources: Set<String>? = nil
    ) {
        self.caller = caller
        self.operation = operation
        self.object = object
        self.result = result
        self.from = from
        self.until = until
        self.before = before
        self.resources = resources
    }

    public func matches(_ event: AuditEvent) -> Bool {
        if let resources, !resources.contains(event.resourceId) { return false }
        if let from, event.time < from { return false }
        if let until, event.time > until { return false }
        if let before, event.time >= before { return false }
        if let result { guard event.resultType == result.rawValue else { return false } } else if event.stage != nil { return false }
        if let operation, event.operationName.lowercased() != operation.lowercased() { return false }
        if let object, !event.properties.id.lowercased().contains(object.lowercased()) { return false }
        if let caller {
            let claims = event.identity?.claim ?? [:]
            let wanted = caller.lowercased()
            guard claims[AuditEvent.objectIdClaim]?.lowercased() == wanted || claims["appid"]?.lowercased() == wanted else { return false }
        }
        return true
    }
}

extension AuditEvent {
    /// The claim that holds the caller's object id.
    public static let objectIdClaim = "http://schemas.microsoft.com/identity/claims/objectidentifier"
}

/// An audit trail that can be read back: the newest records that match a query.
public protocol AuditReader: Sendable {
    /// At most `limit` records matching `query`, newest first.
    func newest(matching query: AuditQuery, limit: Int) throws -> [AuditEvent]
}

extension MemoryAuditSink: AuditReader {
    public func newest(matching query: AuditQuery, limit: Int) throws -> [AuditEvent] {
        Array(recorded.reversed().lazy.filter(query.matches).prefix(limit))
    }
}

/// Reads a file of audit records (JSON lines, oldest first) from its end, a chunk at a time, so that the newest
/// records come first and a large log costs only what is read; reading stops after `scanLimit` bytes.
public struct AuditFileReader: AuditReader {
    let path: String
    let scanLimit: Int
    static let chunk = 256 * 1024

    public init(path: String, scanLimit: Int = 64 * 1024 * 1024) {
        self.path = path
        self.scanLimit = scanLimit
    }

    public func newest(matching query: AuditQuery, limit: Int) throws -> [AuditEvent] {
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        var end = try handle.seekToEnd()
        let stop = end > UInt64(scanLimit) ? end - UInt64(scanLimit) : 0
        var carry: [UInt8] = [] // the start of a line whose beginning is in the next chunk back
        var found: [AuditEvent] = []
        let decoder = JSONDecoder()
        while end > stop, found.count < limit {
            let start = max(stop, end - UInt64(min(UInt64(Self.chunk), end)))
            try handle.seek(toOffset: start)
            var bytes = [UInt8](try handle.read(upToCount: Int(end - start)) ?? Data()) + carry
            end = start
            // The first line of the chunk may be cut: keep it for the next round (unless this is the file's start).
            var lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
            if start > stop, let first = lines.first {
                carry = Array(first)
                lines.removeFirst()
            } else {
                carry = []
            }
            bytes = []
            for line in lines.reversed() where !line.isEmpty {
                guard let event = try? decoder.decode(AuditEvent.self, from: Data(line)), query.matches(event) else { continue }
                found.append(event)
                if found.count == limit { break }
            }
            // Records are in time order: nothing older than `from` can match.
            if let from = query.from, let oldest = lines.first(where: { !$0.isEmpty }),
                let event = try? decoder.decode(AuditEvent.self, from: Data(oldest)), event.time < from
            {
                break
            }
        }
        return found
    }
}

/// The audit log cannot be read back: it goes to standard output.
public struct AuditOnStandardOutput: Error, CustomStringConvertible {
    public init() {}
    public var description: String { "The audit log goes to standard output (--audit-log -): read it where that output is kept." }
}
