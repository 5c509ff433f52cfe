import CoffreCrypto
import Crypto
import Foundation
import Testing
import _CryptoExtras

/// Our signatures and ciphertexts checked by swift-crypto's own verifiers and decryptors, and the reverse, so that a
/// mistake shared by our signing and our verifying code cannot go unnoticed.
@Suite struct SwiftCryptoCrossCheckTests {
    private let message = Array("The quick brown fox jumps over the lazy dog".utf8)

    @Test func es256() throws {
        let key = try #require(SharedKeys.ec[.p256])
        let jwk = key.publicJWK()
        let theirs = try P256.Signing.PublicKey(rawRepresentation: try #require(jwk.x) + #require(jwk.y))
        let signature = try key.sign("ES256", digest: ClientDigest.of(message, algorithm: "ES256"))
        #expect(theirs.isValidSignature(try P256.Signing.ECDSASignature(rawRepresentation: signature), for: message))
        let signer = try P256.Signing.PrivateKey(rawRepresentation: try #require(key.privateJWK().d))
        let theirSignature = try signer.signature(for: message).rawRepresentation
        #expect(try key.verify("ES256", digest: ClientDigest.of(message, algorithm: "ES256"), signature: Array(theirSignature)))
    }

    @Test func es384() throws {
        let key = try #require(SharedKeys.ec[.p384])
        let jwk = key.publicJWK()
        let theirs = try P384.Signing.PublicKey(rawRepresentation: try #require(jwk.x) + #require(jwk.y))
        let signature = try key.sign("ES384", digest: ClientDigest.of(message, algorithm: "ES384"))
        #expect(theirs.isValidSignature(try P384.Signing.ECDSASignature(rawRepresentation: signature), for: message))
        let signer = try P384.Signing.PrivateKey(derRepresentation: try key.pkcs8DER)
        let theirSignature = Array(try signer.signature(for: message).rawRepresentation)
        #expect(try key.verify("ES384", digest: ClientDigest.of(message, algorithm: "ES384"), signature: theirSignature))
    }

    @Test func es512() throws {
        let key = try #require(SharedKeys.ec[.p521])
        let jwk = key.publicJWK()
        let theirs = try P521.Signing.PublicKey(rawRepresentation: try #require(jwk.x) + #require(jwk.y))
        let signature = try key.sign("ES512", digest: ClientDigest.of(message, algorithm: "ES512"))
        #expect(signature.count == 132)
        #expect(theirs.isValidSignature(try P521.Signing.ECDSASignature(rawRepresentation: signature), for: message))
        let signer = try P521.Signing.PrivateKey(derRepresentation: try key.pkcs8DER)
        let theirSignature = Array(try signer.signature(for: message).rawRepresentation)
        #expect(try key.verify("ES512", digest: ClientDigest.of(message, algorithm: "ES512"), signature: theirSignature))
    }

    @Test(arguments: ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"])
    func rsaSignatures(_ algorithm: String) throws {
        let key = SharedKeys.rsa2048
        let jwk = key.publicJWK()
        let theirs = try _RSA.Signing.PublicKey(n: try #require(jwk.n), e: try #require(jwk.e))
        let padding: _RSA.Signing.Padding = algorithm.hasPrefix("PS") ? .PSS : .insecurePKCS1v1_5
        let signature = _RSA.Signing.RSASignature(rawRepresentation: try key.sign(algorithm, digest: ClientDigest.of(message, algorithm: algorithm)))
        let signer = try _RSA.Signing.PrivateKey(derRepresentation: try key.pkcs8DER)
        let theirSignature: _RSA.Signing.RSASignature
        switch algorithm.suffix(3) {
        case "256":
            #expect(theirs.isValidSignature(signature, for: SHA256.hash(data: message), padding: padding))
            theirSignature = try signer.signature(for: SHA256.hash(data: message), padding: padding)
        case "384":
            #expect(theirs.isValidSignature(signature, for: SHA384.hash(data: message), padding: padding))
            theirSignature = try signer.signature(for: SHA384.hash(data: message), padding: padding)
        default:
            #expect(theirs.isValidSignature(signature, for: SHA512.hash(data: message), padding: padding))
            theirSignature = try signer.signature(for: SHA512.hash(data: message), padding: padding)
        }
        #expect(try key.verify(algorithm, digest: ClientDigest.of(message, algorithm: algorithm), signature: Array(theirSignature.rawRepresentation)))
    }

    @Test func rsaEncryption() throws {
        let key = SharedKeys.rsa2048
        let jwk = key.publicJWK()
        let theirPublic = try _RSA.Encryption.PublicKey(n: try #require(jwk.n), e: try #require(jwk.e))
        let theirPrivate = try _RSA.Encryption.PrivateKey(derRepresentation: try key.pkcs8DER)
        let cases: [(String, _RSA.Encryption.Padding)] = [
            ("RSA-OAEP-256", .PKCS1_OAEP_SHA256), ("RSA-OAEP", .PKCS1_OAEP), ("RSA1_5", ._WEAK_AND_INSECURE_PKCS_V1_5),
        ]
        let dataKey = [UInt8](repeating: 0x3C, count: 32)
        for (algorithm, padding) in cases {
            let theirCiphertext = Array(try theirPublic.encrypt(dataKey, padding: padding))
            #expect(try key.unwrapKey(algorithm, wrappedKey: theirCiphertext) == dataKey)
            let ours = try key.wrapKey(algorithm, key: dataKey)
            #expect(Array(try theirPrivate.decrypt(ours, padding: padding)) == dataKey)
        }
    }

    @Test func aesFamilies() throws {
        let key = try #require(SharedKeys.oct[256])
        let theirKey = SymmetricKey(data: try #require(key.privateJWK().k))
        let sealed = try key.encrypt("A256GCM", plaintext: message, iv: nil, additionalData: [1, 2])
        let box = try AES.GCM.SealedBox(
            nonce: AES.GCM.Nonce(data: try #require(sealed.iv)), ciphertext: sealed.ciphertext, tag: try #require(sealed.authenticationTag))
        #expect(Array(try AES.GCM.open(box, using: theirKey, authenticating: [1, 2])) == message)
        let wrapped = try key.wrapKey("A256KW", key: [UInt8](repeating: 1, count: 24))
        #expect(try AES.KeyWrap.unwrap(wrapped, using: theirKey).withUnsafeBytes { Array($0) } == [UInt8](repeating: 1, count: 24))
        let mac = try key.sign("HS256", digest: message)
        #expect(HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: message, using: theirKey))
    }
}

/// Checks against the `openssl` command, a separate program: secp256k1 and RSNULL, which swift-crypto cannot check,
/// and PKCS#8 keys written and read by OpenSSL.
@Suite(.enabled(if: OpenSSLCommand.isAvailable, "needs the openssl command"))
struct OpenSSLCommandCrossCheckTests {
    @Test func es256kVerifiesWithOpenSSL() throws {
        let key = try #require(SharedKeys.ec[.p256k])
        let digest = ClientDigest.of(Array("secp256k1".utf8), algorithm: "ES256K")
        let signature = try key.sign("ES256K", digest: digest)
        #expect(signature.count == 64)
        let result = try OpenSSLCommand.run(
            ["pkeyutl", "-verify", "-pubin", "-keyform", "DER", "-inkey", "@key", "-in", "@digest", "-sigfile", "@sig"],
            files: ["key": try key.subjectPublicKeyInfoDER, "digest": digest, "sig": OpenSSLCommand.derSignature(signature)])
        #expect(result.status == 0)
        #expect(result.output.contains("Signature Verified Successfully"))
    }

    @Test func es256kOpenSSLKeyImportsAndSigns() throws {
        let key = try KeyMaterial(pkcs8DER: OpenSSLCommand.generatePKCS8(["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:secp256k1"]))
        #expect(key.curve == .p256k && key.keyType == .ec)
        let digest = ClientDigest.of([42], algorithm: "ES256K")
        let verified = try OpenSSLCommand.run(
            ["pkeyutl", "-verify", "-pubin", "-keyform", "DER", "-inkey", "@key", "-in", "@digest", "-sigfile", "@sig"],
            files: [
                "key": try key.subjectPublicKeyInfoDER, "digest": digest,
                "sig": OpenSSLCommand.derSignature(try key.sign("ES256K", digest: digest)),
            ])
        #expect(verified.status == 0)
    }

    @Test func rsNullRecoversTheRawBytes() throws {
        let key = SharedKeys.rsa2048
        let data = Array("raw bytes, no DigestInfo".utf8)
        let signature = try key.sign("RSNULL", digest: data)
        let result = try OpenSSLCommand.run(
            [
                "pkeyutl", "-verifyrecover", "-pubin", "-keyform", "DER", "-inkey", "@key", "-in", "@sig", "-pkeyopt",
                "rsa_padding_mode:pkcs1", "-out", "@out",
            ],
            files: ["key": try key.subjectPublicKeyInfoDER, "sig": signature])
        #expect(result.status == 0)
        #expect(result.files["out"] == data)
    }

    @Test func oaep256FromOpenSSLDecrypts() throws {
        let key = SharedKeys.rsa2048
        let secret = [UInt8](repeating: 0x77, count: 32)
        let result = try OpenSSLCommand.run(
            [
                "pkeyutl", "-encrypt", "-pubin", "-keyform", "DER", "-inkey", "@key", "-in", "@in", "-out", "@out",
                "-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", "rsa_oaep_md:sha256", "-pkeyopt", "rsa_mgf1_md:sha256",
            ],
            files: ["key": try key.subjectPublicKeyInfoDER, "in": secret])
        #expect(result.status == 0)
        let ciphertext = try #require(result.files["out"])
        #expect(try key.unwrapKey("RSA-OAEP-256", wrappedKey: ciphertext) == secret)
    }

    @Test func openSSLChecksOurPKCS8() throws {
        for key in [SharedKeys.rsa2048] + CurveName.allCases.compactMap({ SharedKeys.ec[$0] }) {
            let result = try OpenSSLCommand.run(["pkey", "-inform", "DER", "-in", "@key", "-check", "-noout"], files: ["key": try key.pkcs8DER])
            #expect(result.status == 0, "\(key)")
            #expect(result.output.contains("Key is valid"), "\(key)")
        }
    }

    @Test func rsaKeyWithExponentThreeFromOpenSSL() throws {
        let key = try KeyMaterial(
            pkcs8DER: OpenSSLCommand.generatePKCS8(["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-pkeyopt", "rsa_keygen_pubexp:3"]))
        #expect(key.publicJWK().e == [3] && key.sizeInBits == 2048)
    }
}

/// Runs `openssl` with its files in a fresh temporary directory: `@name` in an argument is the path of file `name`.
enum OpenSSLCommand {
    static let path = "/usr/bin/openssl"
    static var isAvailable: Bool { FileManager.default.isExecutableFile(atPath: path) }

    struct Result {
        var status: Int32
        var output: String
        var files: [String: [UInt8]]
    }

    static func run(_ arguments: [String], files: [String: [UInt8]]) throws -> Result {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("coffre-openssl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        for (name, bytes) in files { try Data(bytes).write(to: directory.appendingPathComponent(name)) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments.map { $0.hasPrefix("@") ? directory.appendingPathComponent(String($0.dropFirst())).path : $0 }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        var produced = [String: [UInt8]]()
        for argument in arguments where argument.hasPrefix("@") {
            let name = String(argument.dropFirst())
            if let data = FileManager.default.contents(atPath: directory.appendingPathComponent(name).path) { produced[name] = Array(data) }
        }
        return Result(status: process.terminationStatus, output: String(decoding: output, as: UTF8.self), files: produced)
    }

    /// A new private key as PKCS#8 DER (`genpkey -outform DER` writes the traditional form in OpenSSL 3.0, hence `pkcs8`).
    static func generatePKCS8(_ genpkeyArguments: [String]) throws -> [UInt8] {
        let pem = try #require(run(["genpkey"] + genpkeyArguments + ["-out", "@pem"], files: [:]).files["pem"])
        return try #require(run(["pkcs8", "-topk8", "-nocrypt", "-in", "@pem", "-outform", "DER", "-out", "@der"], files: ["pem": pem]).files["der"])
    }

    /// R‖S as a DER `ECDSA-Sig-Value` (short lengths only: enough for 256-bit curves).
    static func derSignature(_ raw: [UInt8]) -> [UInt8] {
        func integer(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
            var value = Array(bytes.drop { $0 == 0 })
            if value.first.map({ $0 & 0x80 != 0 }) ?? true { value.insert(0, at: 0) }
            return [0x02, UInt8(value.count)] + value
        }
        let body = integer(raw.prefix(raw.count / 2)) + integer(raw.suffix(raw.count / 2))
        return [0x30, UInt8(body.count)] + body
    }
}
