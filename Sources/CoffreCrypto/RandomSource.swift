/// Where a computation draws its random bytes: the system's CSPRNG in service, a fixed sequence in known-answer
/// tests. Only formats whose every random choice must be reproducible in a test take one (the security domain); the
/// rest of the engine calls ``SecureRandom`` directly.
public protocol RandomSource: Sendable {
    func bytes(_ count: Int) -> [UInt8]
}

/// The system's CSPRNG (``SecureRandom``).
public struct SystemRandomSource: RandomSource {
    public init() {}

    public func bytes(_ count: Int) -> [UInt8] { SecureRandom.bytes(count) }
}
