import CoffreCrypto
import Foundation
import Testing

@testable import CoffreKeyCustody

/// Hashes a message as a Key Vault client does before calling sign.
enum ClientDigest {
    static func of(_ message: [UInt8], algorithm: String) -> [UInt8] {
        switch algorithm {
        case "RS256", "PS256", "ES256", "ES256K": Digest.sha256(message)
        case "RS384", "PS384", "ES384": Digest.sha384(message)
        default: Digest.sha512(message)
        }
    }
}

extension KeyCustody {
    /// Signs a fresh message's digest with `algorithm` and checks the signature with the key's public part in software
    /// (CoffreCrypto, as a client verifies locally); also that a changed digest does not verify.
    func expectSignatureVerifies(_ key: CustodyKey, algorithm: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let digest = ClientDigest.of(SecureRandom.bytes(40), algorithm: algorithm)
        let signature = try await sign(key, algorithm: algorithm, digest: digest)
        let publicKey = try #require(key.publicKey, sourceLocation: sourceLocation)
        #expect(try publicKey.verify(algorithm, digest: digest, signature: signature), "\(algorithm)", sourceLocation: sourceLocation)
        var other = digest
        other[0] ^= 1
        #expect(try !publicKey.verify(algorithm, digest: other, signature: signature), "\(algorithm)", sourceLocation: sourceLocation)
    }
}

/// Expects `body` to throw exactly `failure`.
func expectFailure<E: Error & Equatable>(
    _ failure: E, sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> some Any
) async {
    do {
        _ = try await body()
        Issue.record("expected \(failure), nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as E {
        #expect(error == failure, sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected \(failure), got \(error)", sourceLocation: sourceLocation)
    }
}
