import CoffreCrypto
import Crypto
import Foundation
import Synchronization
import Testing
import _CryptoExtras

/// The random stream of the known-answer vectors: SHA-256(seed ‖ counter₃₂) blocks, consumed in order.
final class SeededRandom: RandomSource {
    private let seed: [UInt8]
    private let state = Mutex<(counter: UInt32, buffer: [UInt8])>((0, []))

    init(seed: [UInt8]) { self.seed = seed }

    func bytes(_ count: Int) -> [UInt8] {
        state.withLock { state in
            while state.buffer.count < count {
                state.buffer += Array(SHA256.hash(data: seed + withUnsafeBytes(of: state.counter.bigEndian, Array.init)))
                state.counter += 1
            }
            defer { state.buffer.removeFirst(count) }
            return Array(state.buffer.prefix(count))
        }
    }
}

/// `Vectors/security-domain/security_domain_test.json`, made by `generate.py` with pyca/cryptography.
struct SecurityDomainVectors: Decodable {
    struct Holder: Decodable {
        var certificate: String
        var privateKey: String

        var certificateDER: [UInt8] { Array(Data(base64Encoded: certificate) ?? Data()) }
        var thumbprint: [UInt8] { Digest.sha256(certificateDER) }
        func key() throws -> KeyMaterial { try KeyMaterial(pkcs8DER: Array(try #require(Data(base64Encoded: privateKey)))) }
        func recipient() throws -> SecurityDomainRecipient {
            SecurityDomainRecipient(publicKey: try #require(try key().publicKey), certificateThumbprint: thumbprint)
        }
    }

    struct Item: Decodable {
        var tag: String
        var plaintext: String
    }

    var seed: String
    var required: Int
    var certificates: [Holder]
    var items: [Item]
    var domain: String
    var transferKey: Holder
    var restoreBlobSeed: String
    var restoreBlob: String

    static func load() throws -> SecurityDomainVectors {
        try Vectors.load(SecurityDomainVectors.self, "security-domain", "security_domain_test")
    }

    var domainItems: [SecurityDomainItem] { items.map { SecurityDomainItem(tag: $0.tag, plaintext: [UInt8](hex: $0.plaintext)) } }
}

@Suite struct SecurityDomainFormatTests {
    @Test func downloadMatchesTheIndependentImplementationByteForByte() throws {
        let vectors = try SecurityDomainVectors.load()
        let document = try SecurityDomainFormat.seal(
            vectors.domainItems, to: try vectors.certificates.map { try $0.recipient() }, required: vectors.required,
            random: SeededRandom(seed: [UInt8](hex: vectors.seed)))
        #expect(try SecurityDomainFormat.json(document) == vectors.domain)
    }

    @Test func restoreBlobMatchesTheIndependentImplementationByteForByte() throws {
        let vectors = try SecurityDomainVectors.load()
        let blob = try SecurityDomainFormat.restoreBlob(
            vectors.domainItems, transferKey: try #require(try vectors.transferKey.key().publicKey),
            transferKeyThumbprint: vectors.transferKey.thumbprint, random: SeededRandom(seed: [UInt8](hex: vectors.restoreBlobSeed)))
        #expect(try SecurityDomainFormat.json(blob) == vectors.restoreBlob)
    }

    @Test(arguments: [[0, 1], [0, 2], [2, 1], [0, 1, 2]])
    func anyQuorumOfTheVectorsHoldersRecoversTheItems(_ indices: [Int]) throws {
        let vectors = try SecurityDomainVectors.load()
        let holders = try indices.map { (vectors.certificates[$0].thumbprint, try vectors.certificates[$0].key()) }
        let items = try SecurityDomainFormat.recover(try SecurityDomainFormat.parseDocument(vectors.domain), holders: holders)
        #expect(items == vectors.domainItems)
    }

    @Test func theVectorsRestoreBlobOpensWithTheTransferKey() throws {
        let vectors = try SecurityDomainVectors.load()
        let items = try SecurityDomainFormat.open(
            try SecurityDomainFormat.parseRestoreBlob(vectors.restoreBlob), transferKey: try vectors.transferKey.key(),
            transferKeyThumbprint: vectors.transferKey.thumbprint)
        #expect(items == vectors.domainItems)
    }

    /// The SDK's own client code read the vectors' domain and wrapped it to the transfer key: Coffre opens its upload.
    @Test func anUploadMadeByTheSecurityDomainSDKOpens() throws {
        struct SDKBlob: Decodable { var restoreBlob: String }
        let vectors = try SecurityDomainVectors.load()
        let made = try Vectors.load(SDKBlob.self, "security-domain", "sdk_restore_blob")
        let items = try SecurityDomainFormat.open(
            try SecurityDomainFormat.parseRestoreBlob(made.restoreBlob), transferKey: try vectors.transferKey.key(),
            transferKeyThumbprint: vectors.transferKey.thumbprint)
        #expect(items == vectors.domainItems)
    }

    @Test func roundTripThroughDownloadRecoveryAndUpload() throws {
        let holders = try (0..<5).map { _ in try KeyMaterial.generate(.rsa, size: 2048) }
        let thumbprints = (0..<5).map { Digest.sha256(Array("certificate \($0)".utf8)) }
        let recipients = try zip(holders, thumbprints).map {
            SecurityDomainRecipient(publicKey: try #require($0.publicKey), certificateThumbprint: $1)
        }
        let items = [SecurityDomainItem(tag: "root", plaintext: SecureRandom.bytes(32))]
        let document = try SecurityDomainFormat.seal(items, to: recipients, required: 3, random: SystemRandomSource())
        let text = try SecurityDomainFormat.json(document)

        let quorum = [(thumbprints[4], holders[4]), (thumbprints[1], holders[1]), (thumbprints[3], holders[3])]
        let recovered = try SecurityDomainFormat.recover(try SecurityDomainFormat.parseDocument(text), holders: quorum)
        #expect(recovered == items)
        #expect(throws: SecurityDomainFailure.insufficientShares(required: 3, available: 2)) {
            try SecurityDomainFormat.recover(document, holders: Array(quorum.prefix(2)))
        }

        let transfer = try KeyMaterial.generate(.rsa, size: 2048)
        let transferThumbprint = Digest.sha256(Array("transfer".utf8))
        let blob = try SecurityDomainFormat.restoreBlob(
            recovered, transferKey: try #require(transfer.publicKey), transferKeyThumbprint: transferThumbprint, random: SystemRandomSource())
        let opened = try SecurityDomainFormat.open(
            try SecurityDomainFormat.parseRestoreBlob(try SecurityDomainFormat.json(blob)), transferKey: transfer,
            transferKeyThumbprint: transferThumbprint)
        #expect(opened == items)
    }

    @Test func anAlteredItemIsRefusedAsTampered() throws {
        let vectors = try SecurityDomainVectors.load()
        var blob = try SecurityDomainFormat.parseRestoreBlob(vectors.restoreBlob)
        blob.encryptedData.data[1].compact_jwe = Self.flippingACiphertextCharacter(blob.encryptedData.data[1].compact_jwe)
        #expect(throws: SecurityDomainFailure.tampered) {
            try SecurityDomainFormat.open(blob, transferKey: try vectors.transferKey.key(), transferKeyThumbprint: vectors.transferKey.thumbprint)
        }
    }

    @Test func anAlteredShareIsRefusedAsTampered() throws {
        let vectors = try SecurityDomainVectors.load()
        var document = try SecurityDomainFormat.parseDocument(vectors.domain)
        document.sharedKeys.enc_shares[0].enc_key = Self.flippingACiphertextCharacter(document.sharedKeys.enc_shares[0].enc_key)
        let holders = try vectors.certificates.prefix(2).map { ($0.thumbprint, try $0.key()) }
        #expect(throws: SecurityDomainFailure.tampered) { try SecurityDomainFormat.recover(document, holders: holders) }
    }

    @Test func anotherPoolsTransferKeyIsRefused() throws {
        let vectors = try SecurityDomainVectors.load()
        let blob = try SecurityDomainFormat.parseRestoreBlob(vectors.restoreBlob)
        let other = try KeyMaterial.generate(.rsa, size: 2048)
        #expect(throws: SecurityDomainFailure.foreignTransferKey) {
            try SecurityDomainFormat.open(blob, transferKey: other, transferKeyThumbprint: Digest.sha256(Array("other".utf8)))
        }
        // The right thumbprint with the wrong key: the wrapped key does not open.
        #expect(throws: SecurityDomainFailure.tampered) {
            try SecurityDomainFormat.open(blob, transferKey: other, transferKeyThumbprint: vectors.transferKey.thumbprint)
        }
    }

    @Test(arguments: ["", "{", "[]", #"{"EncData":{"data":[],"kdf":"sp108_kdf"}}"#, #"{"EncData":1,"WrappedKey":{"enc_key":"","x5t_256":""}}"#])
    func malformedUploadsAreRefused(_ json: String) {
        #expect(throws: SecurityDomainFailure.self) { try SecurityDomainFormat.parseRestoreBlob(json) }
    }

    @Test func anUnknownKDFOrANonJWEIsMalformed() throws {
        let vectors = try SecurityDomainVectors.load()
        let key = try vectors.transferKey.key()
        var blob = try SecurityDomainFormat.parseRestoreBlob(vectors.restoreBlob)
        blob.encryptedData.kdf = "hkdf"
        #expect(throws: SecurityDomainFailure.malformed("unknown kdf 'hkdf'")) {
            try SecurityDomainFormat.open(blob, transferKey: key, transferKeyThumbprint: vectors.transferKey.thumbprint)
        }
        blob = try SecurityDomainFormat.parseRestoreBlob(vectors.restoreBlob)
        blob.wrappedKey.enc_key = "not.a.jwe"
        #expect(throws: SecurityDomainFailure.malformed("a value is not a compact JWE")) {
            try SecurityDomainFormat.open(blob, transferKey: key, transferKeyThumbprint: vectors.transferKey.thumbprint)
        }
    }

    @Test(arguments: [1, 4])
    func aQuorumOutsideTwoToTheCertificateCountIsRefused(_ required: Int) throws {
        let vectors = try SecurityDomainVectors.load()
        #expect(throws: SecurityDomainFailure.self) {
            try SecurityDomainFormat.seal(
                vectors.domainItems, to: try vectors.certificates.map { try $0.recipient() }, required: required, random: SystemRandomSource())
        }
    }

    /// Changes one base64url character of the fourth part (the ciphertext) of a compact JWE.
    static func flippingACiphertextCharacter(_ compact: String) -> String {
        var parts = compact.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        var ciphertext = Array(parts[3].utf8)
        ciphertext[2] = ciphertext[2] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        parts[3] = String(decoding: ciphertext, as: UTF8.self)
        return parts.joined(separator: ".")
    }
}

@Suite struct SecurityDomainPrimitiveTests {
    /// The self-test the Azure CLI's security-domain module carries for its SP 800-108 implementation.
    @Test func sp800108KnownAnswer() throws {
        let key = [UInt8](repeating: 0x41, count: 32)
        let derived = try SP800108.counterHMACSHA512(key: key, label: Array("label".utf8), context: Array("context".utf8), byteCount: 32)
        #expect(derived.hex == "f0ca51f6308791404bf68b56024ee7c64d6c737716f81d47e1e68b5c4e399575")
    }

    @Test func sp800108LongerOutputsContinueTheCounter() throws {
        let key = [UInt8](repeating: 0x41, count: 32)
        let long = try SP800108.counterHMACSHA512(key: key, label: [1], byteCount: 100)
        let suffix: [UInt8] = [1, 0] + [0, 0, 0x03, 0x20]
        let first = Array(HMAC<SHA512>.authenticationCode(for: [0, 0, 0, 1] + suffix, using: SymmetricKey(data: key)))
        let second = Array(HMAC<SHA512>.authenticationCode(for: [0, 0, 0, 2] + suffix, using: SymmetricKey(data: key)))
        #expect(long == Array((first + second).prefix(100)))
    }

    @Test(arguments: [(2, 3), (3, 5), (10, 10)])
    func shamirRebuildsFromAnyQuorumAndNotFromLess(_ threshold: Int, _ count: Int) throws {
        let secret = SecureRandom.bytes(32)
        let shares = try Shamir257.split(secret, shares: count, threshold: threshold, random: SystemRandomSource())
        #expect(shares.allSatisfy { $0.count == 32 })
        for (index, share) in shares.enumerated() { #expect(share.allSatisfy { Int($0 >> 9) == index + 1 && $0 & 0x1ff < 257 }) }
        #expect(try Shamir257.combine(Array(shares.suffix(threshold))) == secret)
        #expect(try Shamir257.combine(Array(shares.shuffled().prefix(threshold))) == secret)
        let fewer = Array(shares.prefix(threshold - 1))
        if fewer.count >= 2 { #expect((try? Shamir257.combine(fewer)) != secret) }
    }

    @Test func shamirSharesAreLittleEndianWords() throws {
        #expect(Shamir257.encode([0x0201, (3 << 9) | 256]) == [0x01, 0x02, 0x00, 0x07])
        #expect(try Shamir257.decode([0x01, 0x02, 0x00, 0x07]) == [0x0201, (3 << 9) | 256])
        #expect(throws: CryptoFailure.self) { try Shamir257.decode([1]) }
    }

    @Test func shamirRefusesDuplicateOrMalformedShares() throws {
        let shares = try Shamir257.split([1, 2, 3], shares: 3, threshold: 2, random: SystemRandomSource())
        #expect(throws: CryptoFailure.self) { try Shamir257.combine([shares[0], shares[0]]) }
        #expect(throws: CryptoFailure.self) { try Shamir257.combine([shares[0], [shares[1][0], shares[2][1], shares[1][2]]]) }
    }

    @Test func seededOAEPCiphertextsOpenWithStandardDecryptors() throws {
        let key = try KeyMaterial.generate(.rsa, size: 2048)
        let message = SecureRandom.bytes(64)
        let ciphertext = try #require(key.publicKey).encryptRSAOAEP256(message, random: SystemRandomSource())
        #expect(try key.unwrapKey("RSA-OAEP-256", wrappedKey: ciphertext) == message)
        let theirs = try _RSA.Encryption.PrivateKey(derRepresentation: try key.pkcs8DER)
        #expect(Array(try theirs.decrypt(ciphertext, padding: .PKCS1_OAEP_SHA256)) == message)
    }

    @Test func compactJWERoundTripAndTagCheck() throws {
        let key = SecureRandom.bytes(64)
        let jwe = try CompactJWE.seal(Array("hello".utf8), header: .init(alg: "dir", kid: "k"), contentKey: key, random: SystemRandomSource())
        let parsed = try CompactJWE(compact: jwe.compact)
        #expect(parsed.header == .init(alg: "dir", kid: "k"))
        #expect(try parsed.open(contentKey: key) == Array("hello".utf8))
        #expect(throws: CryptoFailure.authenticationFailed) { try parsed.open(contentKey: SecureRandom.bytes(64)) }
    }
}
