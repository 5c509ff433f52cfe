import CoffreJSON
import CoffreModel
import Foundation
import Synchronization

/// One audit record, in the shape of Key Vault's `AuditEvent` diagnostic log. It carries who, which operation on which
/// object, and the outcome — never a secret value, key material or token. A request that may change something has
/// two records, as HashiCorp Vault audits request and response: one with ``stage`` `request` written before anything
/// is changed (a request whose record cannot be written is refused with no effect, and a change a crash interrupts
/// still has its record), then the outcome's.
public struct AuditEvent: Codable, Sendable, Equatable {
    public struct Identity: Codable, Sendable, Equatable {
        public var claim: [String: String]
    }

    public struct Properties: Codable, Sendable, Equatable {
        /// The object's identifier (`https://v.vault.localhost:8443/secrets/name[/version]`) or the vault's URL.
        public var id: String
        public var requestUri: String
        public var httpStatusCode: Int
        public var clientInfo: String?
        public var requestId: String
        public var isAccessPolicyMatch: Bool?
        public var isRbacAuthorized: Bool?

        public init(
            id: String, requestUri: String, httpStatusCode: Int, clientInfo: String?, requestId: String, isAccessPolicyMatch: Bool?,
            isRbacAuthorized: Bool?
        ) {
            self.id = id
            self.requestUri = requestUri
            self.httpStatusCode = httpStatusCode
            self.clientInfo = clientInfo
            self.requestId = requestId
            self.isAccessPolicyMatch = isAccessPolicyMatch
            self.isRbacAuthorized = isRbacAuthorized
        }
    }

    public var time: String
    public var resourceId: String
    public var operationName: String
    public var operationVersion: String?
    public var category = "AuditEvent"
    public var resultType: String
    public var resultSignature: String
    public var resultDescription: String
    public var durationMs: Int
    public var callerIpAddress: String?
    public var correlationId: String?
    public var identity: Identity?
    public var properties: Properties
    /// `request` on the record written before a change is made (its status is not known yet: `resultType` `Started`,
    /// `httpStatusCode` 0); absent on the outcome's record.
    public var stage: String?

    public init(
        time: Date, resourceId: String, operationName: String, operationVersion: String?, status: Int, reason: String,
        description: String, durationMs: Int, callerIpAddress: String?, correlationId: String?, caller: Caller?,
        properties: Properties
    ) {
        self.time = Self.timestamp(time)
        self.resourceId = resourceId
        self.operationName = operationName
        self.operationVersion = operationVersion
        self.resultType = (200..<400).contains(status) ? "Success" : "Failure"
        self.resultSignature = reason
        self.resultDescription = description
        self.durationMs = durationMs
        self.callerIpAddress = callerIpAddress
        self.correlationId = correlationId
        self.identity = caller.map {
            Identity(claim: [
                "http://schemas.microsoft.com/identity/claims/objectidentifier": $0.objectId, "appid": $0.appId ?? "",
                "tid": $0.tenantId, "iss": $0.issuer,
            ])
        }
        self.properties = properties
    }
}

extension AuditEvent {
    /// `2026-12-03T10:01:01.123Z` (UTC, milliseconds), written by hand: Foundation's ISO 8601 format style cost more
    /// than the rest of the record.
    static func timestamp(_ date: Date) -> String {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        let ms = ((milliseconds % 1000) + 1000) % 1000
        let time = CivilTime(seconds: (milliseconds - ms) / 1000)
        var text: [UInt8] = []
        text.reserveCapacity(24)
        func digits(_ value: Int64, _ width: Int, then separator: Character?) {
            var divisor: Int64 = 1
            for _ in 1..<width { divisor *= 10 }
            var rest = value
            while divisor > 0 {
                text.append(UInt8(ascii: "0") + UInt8(rest / divisor))
                rest %= divisor
                divisor /= 10
            }
            if let separator { text.append(separator.asciiValue!) }
        }
        digits(Int64(time.year), 4, then: "-")
        digits(Int64(time.month), 2, then: "-")
        digits(Int64(time.day), 2, then: "T")
        digits(Int64(time.hour), 2, then: ":")
        digits(Int64(time.minute), 2, then: ":")
        digits(Int64(time.second), 2, then: ".")
        digits(ms, 3, then: "Z")
        return String(decoding: text, as: UTF8.self)
    }
}

/// Where audit records go. A sink that cannot write throws, and the request that produced the record fails.
public protocol AuditSink: Sendable {
    func record(_ event: AuditEvent) throws
    /// `false` after a failed write: requests are refused (fail closed) until a write succeeds again.
    var isAvailable: Bool { get }
}

/// Keeps records in memory (tests).
public final class MemoryAuditSink: AuditSink {
    private let events = Mutex<[AuditEvent]>([])
    private let failing = Mutex(false)

    public init() {}

    public var recorded: [AuditEvent] { events.withLock { $0 } }

    private let failingOnce = Mutex<[@Sendable (AuditEvent) -> Bool]>([])

    /// Makes every write fail until set back (to test failing closed).
    public func setFailing(_ value: Bool) { failing.withLock { $0 = value } }

    /// Makes the next write of a record that `matches` fail, once (the log fills up between two records).
    public func failNext(where matches: @escaping @Sendable (AuditEvent) -> Bool) { failingOnce.withLock { $0.append(matches) } }

    public var isAvailable: Bool { !failing.withLock { $0 } }

    public func record(_ event: AuditEvent) throws {
        guard isAvailable else { throw AuditUnavailable() }
        let failsOnce = failingOnce.withLock { rules in
            rules.firstIndex { $0(event) }.map { rules.remove(at: $0) } != nil
        }
        guard !failsOnce else { throw AuditUnavailable() }
        events.withLock { $0.append(event) }
    }
}

public struct AuditUnavailable: Error, Sendable {
    public init() {}
}

extension AuditEvent: JSONFieldsEncodable {
    /// The record as one JSON line (keys in alphabetical order): this runs on every request, so it is streamed
    /// field by field. Decodes back to the same event (tested).
    public func jsonLine() throws -> [UInt8] {
        try StreamingJSONEncoder.encode(self) + [UInt8(ascii: "\n")]
    }

    public func writeFields(_ object: inout JSONObjectWriter) throws {
        try object.field("callerIpAddress", callerIpAddress)
        try object.field("category", category)
        try object.field("correlationId", correlationId)
        try object.field("durationMs", durationMs)
        try object.field("identity", identity)
        try object.field("operationName", operationName)
        try object.field("operationVersion", operationVersion)
        try object.field("properties", properties)
        try object.field("resourceId", resourceId)
        try object.field("resultDescription", resultDescription)
        try object.field("resultSignature", resultSignature)
        try object.field("resultType", resultType)
        try object.field("stage", stage)
        try object.field("time", time)
    }
}

extension AuditEvent.Identity: JSONFieldsEncodable {
    public func writeFields(_ object: inout JSONObjectWriter) throws {
        try object.field("claim", sortingKeysOf: claim)
    }
}

extension AuditEvent.Properties: JSONFieldsEncodable {
    public func writeFields(_ object: inout JSONObjectWriter) throws {
        try object.field("clientInfo", clientInfo)
        try object.field("httpStatusCode", httpStatusCode)
        try object.field("id", id)
        try object.field("isAccessPolicyMatch", isAccessPolicyMatch)
        try object.field("isRbacAuthorized", isRbacAuthorized)
        try object.field("requestId", requestId)
        try object.field("requestUri", requestUri)
    }
}
