import CoffreCrypto
import Crypto
import Foundation
import Testing

extension Array where Element == UInt8 {
    /// Bytes from hexadecimal text; fails the test on malformed input.
    init(hex: String) {
        var bytes = [UInt8]()
        var high: UInt8?
        for character in hex.utf8 {
            guard let nibble = Self.nibble(character) else {
                Issue.record("not hexadecimal: \(hex)")
                self = []
                return
            }
            if let pending = high {
                bytes.append(pending << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
        }
        #expect(high == nil, "odd number of hex digits")
        self = bytes
    }

    private static func nibble(_ character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): character - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): character - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): character - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    var hex: String { map { String(format: "%02x", $0) }.joined() }
}

/// The test vectors shipped as resources (`Vectors/`).
enum Vectors {
    static func load<T: Decodable>(_ type: T.Type, _ directory: String, _ name: String) throws -> T {
        let url = try #require(
            Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Vectors/\(directory)"),
            "missing vector file \(directory)/\(name).json")
        return try JSONDecoder().decode(T.self, from: Data(contentsOf: url))
    }
}

/// Hashes a message the way a client does before calling sign or verify.
enum ClientDigest {
    static func of(_ message: [UInt8], algorithm: String) -> [UInt8] {
        switch algorithm {
        case "RS256", "PS256", "ES256", "ES256K": Array(SHA256.hash(data: message))
        case "RS384", "PS384", "ES384": Array(SHA384.hash(data: message))
        case "RS512", "PS512", "ES512": Array(SHA512.hash(data: message))
        default: message
        }
    }
}

/// Keys are slow to generate (RSA-4096 takes seconds); the tests share one of each shape.
enum SharedKeys {
    static let rsa2048 = generate(.rsa, size: 2048)
    static let ec: [CurveName: KeyMaterial] = Dictionary(
        uniqueKeysWithValues: CurveName.allCases.map { ($0, generate(.ec, curve: $0)) })
    static let oct: [Int: KeyMaterial] = Dictionary(
        uniqueKeysWithValues: [128, 192, 256].map { ($0, generate(.oct, size: $0)) })

    private static func generate(_ type: KeyType, size: Int? = nil, curve: CurveName? = nil) -> KeyMaterial {
        do {
            return try KeyMaterial.generate(type, size: size, curve: curve)
        } catch {
            fatalError("key generation failed in test setup: \(error)")
        }
    }
}
