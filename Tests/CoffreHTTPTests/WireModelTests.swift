import CoffreCrypto
import CoffreJSON
import CoffreModel
import Foundation
import Testing

@testable import CoffreCore
@testable import CoffreHTTP

/// Key and certificate bundles and items write their fields by hand (`JSONFieldsEncodable`); their bytes must stay
/// those of the synthesized `Encodable` conformance they replaced, which the SDKs read.
@Suite struct WireModelTests {
    static let url = VaultURL(base: "https://default.vault.localhost:8443")
    static let attributes = ObjectAttributes(
        enabled: false, notBefore: 1_700_000_000, expires: 1_800_000_000, created: 1_600_000_000, updated: 1_650_000_000)
    static let record = KeyVersion(
        version: "fedcba9876543210fedcba9876543210", keyType: .ecHSM, material: "bWF0ZXJpYWw",
        publicKey: JsonWebKey(kty: .ecHSM, crv: .p256, x: [0x78], y: [0x79]),
        keyOps: ["sign", "verify"], attributes: attributes, exportable: true, tags: ["team": "a \"b\""],
        releasePolicy: KeyReleasePolicy(contentType: "application/json; charset=utf-8", immutable: false, data: "e30"), managed: true,
        size: nil, curve: .p256)

    static func vault() throws -> VaultRecord { VaultRecord(name: try VaultName("default"), created: 1, retentionDays: 7) }

    static func text(_ value: some Encodable) throws -> String { String(decoding: try StreamingJSONEncoder.encode(value), as: UTF8.self) }

    @Test func listPagesAlwaysWriteTheirNextLink() throws {
        #expect(try Self.text(ListResult<Int>(value: [], nextLink: nil)) == #"{"value":[],"nextLink":null}"#)
        #expect(try Self.text(ListResult(value: [1, 2], nextLink: "https://n")) == #"{"value":[1,2],"nextLink":"https://n"}"#)
    }

    @Test func keyBundles() throws {
        let deleted = Versioned(name: "k", record: Self.record, deletion: Deletion(deletedDate: 5, scheduledPurgeDate: 6), isLatest: true)
        #expect(
            try Self.text(KeyBundle(deleted, vault: Self.vault(), url: Self.url))
                == #"{"key":{"kid":"https://default.vault.localhost:8443/keys/k/fedcba9876543210fedcba9876543210","kty":"EC-HSM","key_ops":["sign","verify"],"crv":"P-256","x":"eA","y":"eQ"},"attributes":{"enabled":false,"nbf":1700000000,"exp":1800000000,"created":1600000000,"updated":1650000000,"recoverableDays":7,"recoveryLevel":"CustomizedRecoverable+Purgeable","exportable":true,"hsmPlatform":"0"},"tags":{"team":"a \"b\""},"managed":true,"release_policy":{"contentType":"application/json; charset=utf-8","immutable":false,"data":"e30"},"recoveryId":"https://default.vault.localhost:8443/deletedkeys/k","deletedDate":5,"scheduledPurgeDate":6}"#
        )
        var plain = Self.record
        (plain.tags, plain.releasePolicy, plain.managed, plain.exportable) = (nil, nil, nil, nil)
        let live = Versioned(name: "k", record: plain, deletion: nil, isLatest: true)
        #expect(
            try Self.text(KeyBundle(live, vault: Self.vault(), url: Self.url))
                == #"{"key":{"kid":"https://default.vault.localhost:8443/keys/k/fedcba9876543210fedcba9876543210","kty":"EC-HSM","key_ops":["sign","verify"],"crv":"P-256","x":"eA","y":"eQ"},"attributes":{"enabled":false,"nbf":1700000000,"exp":1800000000,"created":1600000000,"updated":1650000000,"recoverableDays":7,"recoveryLevel":"CustomizedRecoverable+Purgeable","exportable":false,"hsmPlatform":"0"}}"#
        )
    }

    @Test func keyItems() throws {
        let version = Versioned(name: "k", record: Self.record, deletion: nil, isLatest: false)
        #expect(
            try Self.text(KeyItem(version: version, vault: Self.vault(), url: Self.url))
                == #"{"kid":"https://default.vault.localhost:8443/keys/k/fedcba9876543210fedcba9876543210","attributes":{"enabled":false,"nbf":1700000000,"exp":1800000000,"created":1600000000,"updated":1650000000,"recoverableDays":7,"recoveryLevel":"CustomizedRecoverable+Purgeable","exportable":true},"tags":{"team":"a \"b\""},"managed":true}"#
        )
    }

    static let certificate = CertificateVersion(
        version: "0123456789abcdef0123456789abcdef", cer: "Y2Vy", chain: [], x5t: "eDV0", attributes: attributes,
        tags: ["env": "ci"], contentType: CertificatePolicy.pem, preserveCertOrder: true)

    @Test func certificateBundles() throws {
        var policy = CertificatePolicy()
        (policy.keyType, policy.subject, policy.issuerName) = ("EC", "CN=a", "Self")
        let deleted = Versioned(name: "c", record: Self.certificate, deletion: Deletion(deletedDate: 5, scheduledPurgeDate: 6), isLatest: true)
        #expect(
            try Self.text(CertificateBundle(deleted, policy: policy, vault: Self.vault(), url: Self.url))
                == #"{"id":"https://default.vault.localhost:8443/certificates/c/0123456789abcdef0123456789abcdef","kid":"https://default.vault.localhost:8443/keys/c/0123456789abcdef0123456789abcdef","sid":"https://default.vault.localhost:8443/secrets/c/0123456789abcdef0123456789abcdef","x5t":"eDV0","cer":"Y2Vy","contentType":"application/x-pem-file","attributes":{"enabled":false,"nbf":1700000000,"exp":1800000000,"created":1600000000,"updated":1650000000,"recoverableDays":7,"recoveryLevel":"CustomizedRecoverable+Purgeable"},"tags":{"env":"ci"},"policy":{"id":"https://default.vault.localhost:8443/certificates/c/policy","key_props":{"kty":"EC"},"secret_props":{},"x509_props":{"subject":"CN=a"},"issuer":{"name":"Self"},"attributes":{}},"preserveCertOrder":true,"recoveryId":"https://default.vault.localhost:8443/deletedcertificates/c","deletedDate":5,"scheduledPurgeDate":6}"#
        )
        var plain = Self.certificate
        (plain.tags, plain.preserveCertOrder) = (nil, nil)
        let live = Versioned(name: "c", record: plain, deletion: nil, isLatest: true)
        #expect(
            try Self.text(CertificateBundle(live, policy: nil, vault: Self.vault(), url: Self.url))
                == #"{"id":"https://default.vault.localhost:8443/certificates/c/0123456789abcdef0123456789abcdef","kid":"https://default.vault.localhost:8443/keys/c/0123456789abcdef0123456789abcdef","sid":"https://default.vault.localhost:8443/secrets/c/0123456789abcdef0123456789abcdef","x5t":"eDV0","cer":"Y2Vy","contentType":"application/x-pem-file","attributes":{"enabled":false,"nbf":1700000000,"exp":1800000000,"created":1600000000,"updated":1650000000,"recoverableDays":7,"recoveryLevel":"CustomizedRecoverable+Purgeable"}}"#
        )
    }

    @Test func certificateItems() throws {
        let head = CertificateService.Item(
            name: "c", latestVersion: Self.certificate.version, summary: Self.certificate.summary,
            deletion: Deletion(deletedDate: 5, scheduledPurgeDate: 6))
        #expect(
            try Self.text(CertificateItem(head: head, vault: Self.vault(), url: Self.url))
                == #"{"id":"https://default.vault.localhost:8443/certificates/c","attributes":{"enabled":false,"nbf":1700000000,"exp":1800000000,"created":1600000000,"updated":1650000000,"recoverableDays":7,"recoveryLevel":"CustomizedRecoverable+Purgeable"},"tags":{"env":"ci"},"x5t":"eDV0","recoveryId":"https://default.vault.localhost:8443/deletedcertificates/c","deletedDate":5,"scheduledPurgeDate":6}"#
        )
        #expect(try Self.text(CertificateItem(pendingName: "p", url: Self.url)) == #"{"id":"https://default.vault.localhost:8443/certificates/p"}"#)
    }

    @Test func foundationsEncoderWritesTheSameDocument() throws {
        // Backups and other Foundation-encoded documents go through `encode(to:)`, not the streaming writer.
        let bundle = KeyBundle(Versioned(name: "k", record: Self.record, deletion: nil, isLatest: true), vault: try Self.vault(), url: Self.url)
        let foundation = try JSONSerialization.jsonObject(with: JSONEncoder().encode(bundle)) as? NSDictionary
        let streamed = try JSONSerialization.jsonObject(with: Data(StreamingJSONEncoder.encode(bundle))) as? NSDictionary
        #expect(foundation != nil && foundation == streamed)
    }
}
