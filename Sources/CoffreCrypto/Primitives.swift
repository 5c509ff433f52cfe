import Crypto
import Foundation

/// Randomness from the system's CSPRNG.
public enum SecureRandom {
    /// Eight bytes per draw from the generator (a system call each), not one.
    public static func bytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count + 7)
        while bytes.count < count {
            withUnsafeBytes(of: generator.next()) { bytes.append(contentsOf: $0) }
        }
        bytes.removeLast(bytes.count - count)
        return bytes
    }

    /// A random string of `count` characters from an unambiguous alphabet (client secrets, header secrets).
    public static func token(_ count: Int = 40) -> String {
        let alphabet = Array("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789~._-".utf8)
        var generator = SystemRandomNumberGenerator()
        return String(decoding: (0..<count).map { _ in alphabet.randomElement(using: &generator)! }, as: UTF8.self)
    }

    /// A random RFC 4122 version-4 UUID in lower case (tenant, object and client ids).
    public static func uuid() -> String { UUID().uuidString.lowercased() }
}

/// Comparison whose duration does not depend on where the inputs differ.
public enum ConstantTime {
    public static func equals(_ lhs: some Collection<UInt8>, _ rhs: some Collection<UInt8>) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var difference: UInt8 = 0
        for (a, b) in zip(lhs, rhs) { difference |= a ^ b }
        return difference == 0
    }
}

/// SHA-2, HMAC and legacy checksum helpers over byte arrays.
public enum Digest {
    public static func sha256(_ bytes: some DataProtocol) -> [UInt8] { Array(SHA256.hash(data: bytes)) }
    public static func sha384(_ bytes: some DataProtocol) -> [UInt8] { Array(SHA384.hash(data: bytes)) }
    public static func sha512(_ bytes: some DataProtocol) -> [UInt8] { Array(SHA512.hash(data: bytes)) }
    public static func sha1(_ bytes: some DataProtocol) -> [UInt8] { Array(Insecure.SHA1.hash(data: bytes)) }
    /// MD5, only where a wire protocol names it as a checksum (Azure Storage's `Content-MD5`), never for security.
    public static func md5(_ bytes: some DataProtocol) -> [UInt8] { Array(Insecure.MD5.hash(data: bytes)) }

    public static func hmacSHA256(key: [UInt8], _ message: some DataProtocol) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key)))
    }
}

/// AES-256-GCM sealing with associated data; the output is `nonce ‖ ciphertext ‖ tag`.
public struct AEADKey: Sendable {
    private let key: SymmetricKey

    public init(bytes: [UInt8]) throws {
        guard bytes.count == 32 else { throw CryptoFailure.invalidKey("an AES-256 key must be 32 bytes") }
        self.key = SymmetricKey(data: bytes)
    }

    public static func generate() -> [UInt8] { SecureRandom.bytes(32) }

    public func seal(_ plaintext: some DataProtocol, authenticating aad: some DataProtocol) throws -> [UInt8] {
        let box = try AES.GCM.seal(plaintext, using: key, authenticating: aad)
        guard let combined = box.combined else { throw CryptoFailure.internal("AES-GCM produced no combined form") }
        return Array(combined)
    }

    /// Opens a sealed box; throws `CryptoFailure.authenticationFailed` when it was altered or sealed elsewhere.
    public func open(_ sealed: some DataProtocol, authenticating aad: some DataProtocol) throws -> [UInt8] {
        do {
            let box = try AES.GCM.SealedBox(combined: sealed)
            return Array(try AES.GCM.open(box, using: key, authenticating: aad))
        } catch {
            throw CryptoFailure.authenticationFailed
        }
    }
}

/// Why a crypto operation failed. Messages are safe to show to the caller: they never carry key material,
/// plaintext or any other secret value.
public enum CryptoFailure: Error, Equatable, Sendable {
    /// Key material that is malformed, inconsistent or of a size that is not accepted.
    case invalidKey(String)
    /// Decryption, unwrapping or opening failed. Deliberately one case with no detail, so that callers cannot tell a
    /// padding error from a wrong key or a tampered ciphertext (no padding oracle).
    case authenticationFailed
    /// An algorithm, key type, curve or size that is not supported, or not with this key.
    case unsupported(String)
    /// A parameter of the operation is malformed: wrong digest length, wrong IV size, plaintext too long…
    case invalidInput(String)
    case `internal`(String)
}
