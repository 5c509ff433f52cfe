import CoffreCertificates
import CoffreCrypto
import CoffreModel
import Foundation
import Testing

@testable import CoffreCore

@Suite struct ManagedHSMSettingsTests {
    let name = "AllowKeyManagementOperationsThroughARM"

    @Test func settingsStartAtTheirDefaultsAndKeepUpdates() async throws {
        let fixture = try PoolFixture()
        let pool = try await fixture.pool("pool").name
        #expect(try await fixture.settings.list(in: pool) == [ManagedHSMSetting(name: name, type: .boolean, value: "false")])
        #expect(try await fixture.settings.update(name.lowercased(), value: "True", in: pool) == .init(name: name, type: .boolean, value: "true"))
        #expect(try await fixture.settings.get(name, in: pool).value == "true")
        #expect(try await fixture.settings.list(in: pool).map(\.value) == ["true"])
        #expect(try await fixture.settings.update(name, value: "false", in: pool).value == "false")
        #expect(try await fixture.settings.get(name.uppercased(), in: pool) == .init(name: name, type: .boolean, value: "false"))
    }

    @Test func refusals() async throws {
        let fixture = try PoolFixture()
        let pool = try await fixture.pool("pool").name
        await #expect(throws: CoffreError.self) { try await fixture.settings.update(name, value: "yes", in: pool) }
        await #expect(throws: ManagedHSMError.settingNotFound("Unknown")) { try await fixture.settings.get("Unknown", in: pool) }
        await #expect(throws: ManagedHSMError.settingNotFound("Unknown")) { try await fixture.settings.update("Unknown", value: "true", in: pool) }
        await #expect(throws: ManagedHSMError.poolNotFound("other")) {
            try await fixture.settings.update(name, value: "true", in: try ManagedHSMName("other"))
        }
        #expect(try await fixture.settings.get(name, in: pool).value == "false")
    }
}

@Suite struct ManagedHSMSecurityDomainTests {
    @Test func downloadSealsANewRootToTheCertificatesAndBeginsTheActivation() async throws {
        let fixture = try PoolFixture()
        let pool = try await fixture.pool("pool").name
        let holders = try await DomainHolder.three()
        let document = try await fixture.securityDomain.download(certificates: holders.map(\.certificate), required: 2, in: pool)
        #expect(document.sharedKeys.required == 2)
        #expect(document.sharedKeys.enc_shares.map(\.x5t_256) == holders.map { Base64.urlEncoded($0.thumbprint) })

        let stored = try await fixture.directory.get(pool)
        #expect(stored.activation == .activating(.download, since: fixture.clock.now))
        let recovered = try SecurityDomainFormat.recover(
            try SecurityDomainFormat.parseDocument(try SecurityDomainFormat.json(document)), holders: [holders[2].holder, holders[0].holder])
        #expect(try SecurityDomainRoot(items: recovered) == stored.securityDomain)

        try await fixture.directory.activation(.complete, of: pool)
        await #expect(throws: ManagedHSMError.alreadyActivated("pool")) {
            try await fixture.securityDomain.download(certificates: holders.map(\.certificate), required: 2, in: pool)
        }
        #expect(try await fixture.directory.get(pool).securityDomain == stored.securityDomain)
    }

    @Test func downloadRefusalsChangeNothing() async throws {
        let fixture = try PoolFixture()
        let pool = try await fixture.pool("pool").name
        let holders = try await DomainHolder.three()
        var mismatched = holders[0].certificate
        mismatched.x5c = holders[1].certificate.x5c
        var wrongThumbprint = holders[0].certificate
        wrongThumbprint.x5tS256 = holders[1].certificate.x5tS256
        var notACertificate = holders[0].certificate
        notACertificate.x5c = ["bm90IGEgY2VydGlmaWNhdGU="]
        var ecKey = holders[0].certificate
        ecKey.jwk = try KeyMaterial.generate(.ec).publicJWK()
        let refused: [([ManagedHSMSecurityDomain.Certificate], Int)] = [
            (holders.prefix(2).map(\.certificate), 2),
            (Array(repeating: holders[0].certificate, count: 11), 2),
            (holders.map(\.certificate), 1),
            (holders.map(\.certificate), 4),
            ([holders[0].certificate, holders[0].certificate, holders[1].certificate], 2),
            ([mismatched, holders[1].certificate, holders[2].certificate], 2),
            ([wrongThumbprint, holders[1].certificate, holders[2].certificate], 2),
            ([notACertificate, holders[1].certificate, holders[2].certificate], 2),
            ([ecKey, holders[1].certificate, holders[2].certificate], 2),
        ]
        for (certificates, required) in refused {
            await #expect(throws: SecurityDomainFailure.self) {
                try await fixture.securityDomain.download(certificates: certificates, required: required, in: pool)
            }
        }
        let unchanged = try await fixture.directory.get(pool)
        #expect(unchanged.activation == .notActivated && unchanged.securityDomain == nil)
    }

    @Test func theTransferKeyIsCertifiedByCoffresCAAndStable() async throws {
        let fixture = try PoolFixture()
        let pool = try await fixture.pool("pool").name
        let key = try await fixture.securityDomain.transferKey(of: pool)
        #expect(key.jwk.keyType == .rsa && key.jwk.keyOps == ["wrapKey", "encrypt"])
        #expect(key.jwk.kid?.hasSuffix(key.thumbprint) == true)
        #expect(key.thumbprint == Base64.urlEncoded(Digest.sha256(key.certificateDER)))
        let certificate = try CertificateInfo(der: key.certificateDER)
        #expect(certificate.isIssued(by: try CertificateInfo(der: fixture.authority.certificateDER)))
        #expect(certificate.hasPublicKey(try PublicKeyMaterial(jwk: key.jwk).subjectPublicKeyInfoDER))
        #expect(try await fixture.securityDomain.transferKey(of: pool).certificateDER == key.certificateDER)
        await #expect(throws: ManagedHSMError.poolNotFound("nope")) { try await fixture.securityDomain.transferKey(of: try ManagedHSMName("nope")) }
    }

    /// What a client does with the downloaded domain and the second pool's transfer key.
    func restoreBlob(_ document: SecurityDomainFormat.Document, for key: ManagedHSMSecurityDomain.TransferKey) async throws -> String {
        let items = try SecurityDomainFormat.recover(document, holders: try await DomainHolder.three().prefix(2).map(\.holder))
        let blob = try SecurityDomainFormat.restoreBlob(
            items, transferKey: try PublicKeyMaterial(jwk: key.jwk), transferKeyThumbprint: Digest.sha256(key.certificateDER),
            random: SystemRandomSource())
        return try SecurityDomainFormat.json(blob)
    }

    @Test func uploadGivesASecondPoolTheSameRoot() async throws {
        let fixture = try PoolFixture()
        let first = try await fixture.pool("first").name
        let second = try await fixture.pool("second").name
        let document = try await fixture.securityDomain.download(certificates: await DomainHolder.three().map(\.certificate), required: 2, in: first)
        try await fixture.directory.activation(.complete, of: first)

        let blob = try await restoreBlob(document, for: try await fixture.securityDomain.transferKey(of: second))
        try await fixture.securityDomain.upload(blob, to: second)
        #expect(try await fixture.directory.get(second).activation == .activating(.upload, since: fixture.clock.now))
        try await fixture.directory.activation(.complete, of: second)
        let firstRoot = try await fixture.directory.get(first).requireActive()
        let secondRoot = try await fixture.directory.get(second).requireActive()
        #expect(firstRoot == secondRoot)
        #expect(firstRoot.derivedKey(for: "backup") == secondRoot.derivedKey(for: "backup"))
        await #expect(throws: ManagedHSMError.alreadyActivated("second")) { try await fixture.securityDomain.upload(blob, to: second) }
    }

    @Test func uploadRefusalsChangeNothing() async throws {
        let fixture = try PoolFixture()
        let first = try await fixture.pool("first").name
        let target = try await fixture.pool("target").name
        let other = try await fixture.pool("other").name
        let document = try await fixture.securityDomain.download(certificates: await DomainHolder.three().map(\.certificate), required: 2, in: first)
        await #expect(throws: SecurityDomainFailure.foreignTransferKey) {
            try await fixture.securityDomain.upload(
                try await restoreBlob(document, for: try await fixture.securityDomain.transferKey(of: other)), to: target)
        }

        let blob = try await restoreBlob(document, for: try await fixture.securityDomain.transferKey(of: target))
        var tampered = try SecurityDomainFormat.parseRestoreBlob(blob)
        var parts = tampered.encryptedData.data[0].compact_jwe.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        parts[3] = (parts[3].hasPrefix("A") ? "B" : "A") + parts[3].dropFirst()
        tampered.encryptedData.data[0].compact_jwe = parts.joined(separator: ".")
        await #expect(throws: SecurityDomainFailure.tampered) {
            try await fixture.securityDomain.upload(try SecurityDomainFormat.json(tampered), to: target)
        }
        var withoutRoot = try SecurityDomainFormat.parseRestoreBlob(blob)
        withoutRoot.encryptedData.data.removeAll()
        await #expect(throws: SecurityDomainFailure.self) {
            try await fixture.securityDomain.upload(try SecurityDomainFormat.json(withoutRoot), to: target)
        }
        for malformed in ["", "{}", "not json", #"{"EncData":{"data":[],"kdf":"sp108_kdf"},"WrappedKey":{"enc_key":"x","x5t_256":"y"}}"#] {
            await #expect(throws: SecurityDomainFailure.self) { try await fixture.securityDomain.upload(malformed, to: target) }
        }
        let unchanged = try await fixture.directory.get(target)
        #expect(unchanged.activation == .notActivated && unchanged.securityDomain == nil)

        try await fixture.securityDomain.upload(blob, to: target)
        #expect(try await fixture.directory.get(target).securityDomain == fixture.directory.get(first).securityDomain)
    }

    @Test func uploadBeforeAnyTransferKeyIsForeign() async throws {
        let fixture = try PoolFixture()
        let first = try await fixture.pool("first").name
        let second = try await fixture.pool("second").name
        let document = try await fixture.securityDomain.download(certificates: await DomainHolder.three().map(\.certificate), required: 2, in: first)
        let blob = try await restoreBlob(document, for: try await fixture.securityDomain.transferKey(of: first))
        await #expect(throws: SecurityDomainFailure.foreignTransferKey) { try await fixture.securityDomain.upload(blob, to: second) }
    }
}

@Suite struct KeyAttestationTests {
    struct Statement: Decodable {
        var typ: String
        var version: String
        var pool: String
        var kid: String
        var kty: String
        var origin: String
        var exportable: Bool?
        var publicKeySha256: String?
        var jwk: JsonWebKey?
    }

    /// Checks a JWS the way a user does offline: the attestation certificate chains to the CA, signs the JWS.
    func verified(_ jws: [UInt8], chain: String, ca: [UInt8]) throws -> Statement {
        let certificates = try CertificateBundle(pem: chain, preservingOrder: true).certificates
        #expect(certificates.count == 2 && certificates[1] == ca)
        let attestation = try CertificateInfo(der: certificates[0])
        #expect(attestation.isIssued(by: try CertificateInfo(der: ca)))
        let parts = String(decoding: jws, as: UTF8.self).split(separator: ".").map(String.init)
        let header = try JSONDecoder().decode([String: String].self, from: Data(try #require(Base64.decode(parts[0]))))
        #expect(header == ["alg": "RS256", "typ": "JWT", "x5t#S256": Base64.urlEncoded(attestation.sha256Thumbprint)])
        let key = try PublicKeyMaterial(jwk: JsonWebKey(kty: .rsa, n: try rsaModulus(attestation), e: [1, 0, 1]))
        let signed = Digest.sha256(Array("\(parts[0]).\(parts[1])".utf8))
        #expect(try key.verify("RS256", digest: signed, signature: try #require(Base64.decode(parts[2]))))
        return try JSONDecoder().decode(Statement.self, from: Data(try #require(Base64.decode(parts[1]))))
    }

    /// The modulus of an RSA 2048 certificate key (its SPKI ends with the 256-byte modulus, then the exponent 65537).
    func rsaModulus(_ certificate: CertificateInfo) throws -> [UInt8] {
        let spki = certificate.subjectPublicKeyInfoDER
        try #require(spki.suffix(5) == [0x02, 0x03, 0x01, 0x00, 0x01])
        return Array(spki.dropLast(5).suffix(256))
    }

    @Test func anRSAKeyGetsBothStatements() async throws {
        let fixture = try PoolFixture()
        let pool = try await fixture.pool("pool", activated: true).name
        let key = try KeyMaterial.generate(.rsaHSM, size: 2048)
        let subject = KeyAttestation.Subject(
            keyIdentifier: "https://pool.managedhsm.localhost:8443/keys/k/0123", keyType: .rsaHSM, origin: .generated, publicKey: key.publicJWK(),
            exportable: false, created: 1_700_000_000)
        let attestation = try await fixture.attestation.attest(subject, in: pool)
        #expect(attestation.version == "1.0")
        let privateStatement = try verified(
            attestation.privateKeyAttestation, chain: attestation.certificatePemFile, ca: fixture.authority.certificateDER)
        let spkiHash = Base64.urlEncoded(Digest.sha256(try key.subjectPublicKeyInfoDER))
        #expect(privateStatement.typ == "coffre-private-key-attestation" && privateStatement.pool == "pool")
        #expect(privateStatement.kid == subject.keyIdentifier && privateStatement.kty == "RSA-HSM" && privateStatement.origin == "generated")
        #expect(privateStatement.exportable == false && privateStatement.publicKeySha256 == spkiHash)
        let publicStatement = try verified(
            try #require(attestation.publicKeyAttestation), chain: attestation.certificatePemFile, ca: fixture.authority.certificateDER)
        #expect(publicStatement.typ == "coffre-public-key-attestation" && publicStatement.publicKeySha256 == spkiHash)
        #expect(publicStatement.jwk?.n == key.publicJWK().n)

        // The same bytes every time (the SDK's test compares them across an update of the key's properties).
        fixture.clock.advance(seconds: 60)
        #expect(try await fixture.attestation.attest(subject, in: pool) == attestation)
    }

    @Test func anOctKeyIsNamedByItsIdentifierAlone() async throws {
        let fixture = try PoolFixture()
        let pool = try await fixture.pool("pool", activated: true).name
        let subject = KeyAttestation.Subject(
            keyIdentifier: "https://pool.managedhsm.localhost/keys/aes/1", keyType: .octHSM, origin: .imported, publicKey: nil, exportable: true,
            created: 1)
        let attestation = try await fixture.attestation.attest(subject, in: pool)
        #expect(attestation.publicKeyAttestation == nil)
        let statement = try verified(attestation.privateKeyAttestation, chain: attestation.certificatePemFile, ca: fixture.authority.certificateDER)
        #expect(statement.origin == "imported" && statement.kty == "oct-HSM" && statement.publicKeySha256 == nil && statement.exportable == true)
    }
}
