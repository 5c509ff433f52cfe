import CPKCS11
import CoffreCrypto
import CoffreSoftHSMTestSupport
import Foundation
import Testing

@testable import CoffreKeyCustody

/// Bring your own key: a key-exchange key made in the token, a customer key wrapped for it by the BYOK tool (test
/// helper written from the specification), unwrapped inside the module into a new token object.
@Suite(.softHSM([.init("byok")]))
struct BYOKTests {
    private func custody() async throws -> PKCS11Custody {
        try await SoftHSM.requireCurrent().custody("byok")
    }

    private func keyExchangeKey(_ custody: PKCS11Custody, bits: Int = 2048) async throws -> CustodyKey {
        try await custody.generate(KeySpec(type: .rsaHSM, size: bits), policy: KeyPolicy(keyExchange: true), label: "kek-\(bits)")
    }

    @Test(arguments: [2048, 3072, 4096])
    func rsaKeysAreImported(kekBits: Int) async throws {
        let custody = try await custody()
        let kek = try await keyExchangeKey(custody, bits: kekBits)
        let customerKey = try KeyMaterial.generate(.rsa, size: 3072)
        let file = try BYOKTool.file(wrapping: customerKey, for: kek.publicKey!, kid: "https://vault/keys/kek/1")
        let blob = try BYOKTransferBlob(keyHSM: file)
        #expect(blob.keyExchangeKeyID == "https://vault/keys/kek/1")
        let imported = try await custody.importBYOK(blob.ciphertext, keyExchangeKey: kek, type: .rsaHSM, policy: KeyPolicy(), label: "byok-rsa")
        #expect(imported.keyType == .rsaHSM)
        #expect(imported.publicJWK().n == customerKey.publicJWK().n)
        try await custody.expectSignatureVerifies(imported, algorithm: "RS256")
        let ciphertext = try customerKey.publicKey!.encrypt("RSA-OAEP-256", plaintext: [1, 2, 3])
        #expect(try await custody.unwrapKey(imported, algorithm: "RSA-OAEP-256", wrappedKey: ciphertext) == [1, 2, 3])
        guard case .token(let tokenKey) = imported else { throw SoftHSMError("not a token key") }
        let attributes = try await custody.inspect(tokenKey)
        #expect(attributes.sensitive && !attributes.extractable && attributes.valueHidden)
    }

    /// The module gives no public point with an unwrapped EC key: it is derived (ECDH with the base point) and checked
    /// with a test signature.
    @Test(arguments: [CurveName.p256, .p384, .p521, .p256k])
    func ecKeysAreImportedWithTheirPublicPoint(curve: CurveName) async throws {
        let custody = try await custody()
        let kek = try await keyExchangeKey(custody)
        let customerKey = try KeyMaterial.generate(.ec, curve: curve)
        let ciphertext = try BYOKTool.ciphertext(wrapping: customerKey, for: kek.publicKey!)
        let imported = try await custody.importBYOK(ciphertext, keyExchangeKey: kek, type: .ecHSM, policy: KeyPolicy(), label: "byok-ec")
        #expect(imported.curve == curve)
        #expect(imported.publicJWK().x == customerKey.publicJWK().x)
        #expect(imported.publicJWK().y == customerKey.publicJWK().y)
        try await custody.expectSignatureVerifies(imported, algorithm: curve.signatureAlgorithm)
    }

    @Test func alteredBlobsCreateNothing() async throws {
        let custody = try await custody()
        let kek = try await keyExchangeKey(custody)
        let ciphertext = try BYOKTool.ciphertext(wrapping: try KeyMaterial.generate(.rsa), for: kek.publicKey!)
        for position in [10, 256 + 40, ciphertext.count - 1] {
            var altered = ciphertext
            altered[position] ^= 0x01
            await expectFailure(BYOKTransferBlob.notUnwrappable) {
                try await custody.importBYOK(altered, keyExchangeKey: kek, type: .rsaHSM, policy: KeyPolicy(), label: "altered")
            }
        }
        await expectFailure(
            CustodyFailure.invalidBYOK(
                "the ciphertext must be the 256-byte wrapped AES key of this key-exchange key followed by an AES-wrapped private key")
        ) {
            try await custody.importBYOK(Array(ciphertext.dropLast(3)), keyExchangeKey: kek, type: .rsaHSM, policy: KeyPolicy(), label: "short")
        }
        #expect(try await custody.objectCount(labelled: "altered") == 0)
    }

    @Test func blobsForAnotherKeyExchangeKeyOrOfAnotherTypeAreRefused() async throws {
        let custody = try await custody()
        let kek = try await keyExchangeKey(custody)
        let otherKEK = try await keyExchangeKey(custody)
        let ciphertext = try BYOKTool.ciphertext(wrapping: try KeyMaterial.generate(.ec), for: otherKEK.publicKey!)
        await expectFailure(BYOKTransferBlob.notUnwrappable) {
            try await custody.importBYOK(ciphertext, keyExchangeKey: kek, type: .ecHSM, policy: KeyPolicy(), label: "wrong-kek")
        }
        await expectFailure(BYOKTransferBlob.notUnwrappable) {
            try await custody.importBYOK(ciphertext, keyExchangeKey: otherKEK, type: .rsaHSM, policy: KeyPolicy(), label: "wrong-type")
        }
        #expect(try await custody.objectCount(labelled: "wrong-kek") + custody.objectCount(labelled: "wrong-type") == 0)
    }

    /// A KEK must be made as one: an ordinary RSA key cannot unwrap into the token (and the token itself refuses:
    /// its object has no CKA_UNWRAP); a KEK neither signs nor decrypts.
    @Test func onlyKeyExchangeKeysImportAndTheyDoNothingElse() async throws {
        let custody = try await custody()
        let ordinary = try await custody.generate(KeySpec(type: .rsaHSM), policy: KeyPolicy(), label: "not-a-kek")
        let ciphertext = try BYOKTool.ciphertext(wrapping: try KeyMaterial.generate(.rsa), for: ordinary.publicKey!)
        await expectFailure(CustodyFailure.notAKeyExchangeKey) {
            try await custody.importBYOK(ciphertext, keyExchangeKey: ordinary, type: .rsaHSM, policy: KeyPolicy(), label: "refused")
        }
        guard case .token(var pretending) = ordinary else { throw SoftHSMError("not a token key") }
        pretending = TokenKey(
            objectID: pretending.objectID, label: pretending.label, publicKey: pretending.publicKey!, policy: KeyPolicy(keyExchange: true))
        await expectFailure(CustodyFailure.notAKeyExchangeKey) {
            try await custody.importBYOK(ciphertext, keyExchangeKey: .token(pretending), type: .rsaHSM, policy: KeyPolicy(), label: "refused")
        }

        let kek = try await keyExchangeKey(custody)
        await expectFailure(CustodyFailure.operationNotPermitted("C_SignInit returned CKR_KEY_FUNCTION_NOT_PERMITTED")) {
            try await custody.sign(kek, algorithm: "RS256", digest: Digest.sha256([1]))
        }
        let wrapped = try kek.publicKey!.encrypt("RSA-OAEP", plaintext: [1])
        await expectFailure(CustodyFailure.operationNotPermitted("C_DecryptInit returned CKR_KEY_FUNCTION_NOT_PERMITTED")) {
            try await custody.unwrapKey(kek, algorithm: "RSA-OAEP", wrappedKey: wrapped)
        }
    }

    /// Without a module, the same blob imports in software with a software key-exchange key (development behaviour).
    @Test func theSoftwareCustodyImportsTheSameBlobs() async throws {
        let software = SoftwareCustody()
        let kek = try await software.generate(KeySpec(type: .rsaHSM), policy: KeyPolicy(keyExchange: true), label: "kek")
        let customerKey = try KeyMaterial.generate(.ec, curve: .p521)
        let ciphertext = try BYOKTool.ciphertext(wrapping: customerKey, for: kek.publicKey!)
        let imported = try await software.importBYOK(ciphertext, keyExchangeKey: kek, type: .ecHSM, policy: KeyPolicy(), label: "byok")
        #expect(imported.keyType == .ecHSM)
        #expect(imported.publicJWK().x == customerKey.publicJWK().x)
        var altered = ciphertext
        altered[300] ^= 1
        await expectFailure(BYOKTransferBlob.notUnwrappable) {
            try await software.importBYOK(altered, keyExchangeKey: kek, type: .ecHSM, policy: KeyPolicy(), label: "byok")
        }
        await expectFailure(CustodyFailure.invalidBYOK("the wrapped key is not an RSA-HSM key")) {
            try await software.importBYOK(ciphertext, keyExchangeKey: kek, type: .rsaHSM, policy: KeyPolicy(), label: "byok")
        }
    }
}

/// The `.byok` file format.
struct BYOKTransferBlobTests {
    @Test func theFileRoundTripsAndNamesItsKeyExchangeKey() throws {
        let blob = BYOKTransferBlob(keyExchangeKeyID: "https://v.vault.localhost:8443/keys/kek/abc", ciphertext: [1, 2, 3])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(blob.keyHSM)) as? [String: Any])
        #expect(json["schema_version"] as? String == "1.0.0")
        #expect((json["header"] as? [String: String])?["enc"] == "CKM_RSA_AES_KEY_WRAP")
        #expect(try BYOKTransferBlob(keyHSM: blob.keyHSM) == blob)
    }

    @Test(arguments: [
        ("not json", "key_hsm is not a BYOK transfer blob (JSON with header and ciphertext)"),
        (#"{"header": {"enc": "CKM_RSA_AES_KEY_WRAP"}, "ciphertext": "AQID"}"#, "the blob's header names no key-exchange key (kid)"),
        (#"{"header": {"kid": "k", "enc": "RSA-OAEP"}, "ciphertext": "AQID"}"#, "the blob's encryption must be CKM_RSA_AES_KEY_WRAP"),
        (#"{"header": {"kid": "k", "alg": "RSA", "enc": "CKM_RSA_AES_KEY_WRAP"}, "ciphertext": "AQID"}"#, "the blob's alg must be dir"),
        (#"{"header": {"kid": "k", "enc": "CKM_RSA_AES_KEY_WRAP"}, "ciphertext": "!!"}"#, "the blob's ciphertext is missing or not base64url"),
    ])
    func malformedFilesAreRefusedClearly(text: String, message: String) {
        #expect(throws: CustodyFailure.invalidBYOK(message)) { try BYOKTransferBlob(keyHSM: Array(text.utf8)) }
    }
}

extension PKCS11Custody {
    /// How many objects of the token carry this label.
    func objectCount(labelled label: String) async throws -> Int {
        try await withSession { session in try session.find([(CKA_LABEL, .bytes(Array(label.utf8)))], limit: 16).count }
    }
}
