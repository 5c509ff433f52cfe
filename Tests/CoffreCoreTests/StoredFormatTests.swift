import CoffreCrypto
import CoffreJSON
import CoffreModel
import Foundation
import Testing

@testable import CoffreCore

/// Stored records are written by hand (`JSONFieldsEncodable`) for speed; their bytes must stay those of the
/// synthesized `Codable` encoding they replaced, which every stored record was written in.
@Suite struct StoredFormatTests {
    static let attributes = ObjectAttributes(
        enabled: false, notBefore: 1_700_000_000, expires: 1_800_000_000, created: 1_600_000_000, updated: 1_650_000_000)
    static let secret = SecretVersion(
        version: "0123456789abcdef0123456789abcdef", value: "s3cret \"quoted\"\n", contentType: "text/plain", attributes: attributes,
        tags: ["env": "prod"], keyPath: "/keys/cert/0123", managed: true)
    static let key = KeyVersion(
        version: "fedcba9876543210fedcba9876543210", keyType: .ecHSM, material: "bWF0ZXJpYWw",
        publicKey: JsonWebKey(kty: .ecHSM, keyOps: ["sign", "verify"], crv: .p256, x: [0x78], y: [0x79]),
        keyOps: ["sign", "verify"], attributes: attributes, exportable: true, tags: ["team": "a"],
        releasePolicy: KeyReleasePolicy(contentType: "application/json; charset=utf-8", immutable: false, data: "e30"), managed: false,
        size: nil, curve: .p256)

    static func text(_ value: some Encodable) throws -> String { String(decoding: try StreamingJSONEncoder.encode(value), as: UTF8.self) }

    @Test func secretVersions() throws {
        #expect(
            try Self.text(Self.secret)
                == #"{"version":"0123456789abcdef0123456789abcdef","value":"s3cret \"quoted\"\n","contentType":"text/plain","attributes":{"enabled":false,"notBefore":1700000000,"expires":1800000000,"created":1600000000,"updated":1650000000},"tags":{"env":"prod"},"keyPath":"/keys/cert/0123","managed":true}"#
        )
        let minimal = SecretVersion(version: "v", value: "", contentType: nil, attributes: ObjectAttributes(created: 1, updated: 2), tags: nil)
        #expect(try Self.text(minimal) == #"{"version":"v","value":"","attributes":{"enabled":true,"created":1,"updated":2}}"#)
    }

    @Test func heads() throws {
        let head = ObjectHead(
            name: "MySecret", latestVersion: "v", summary: Self.secret.summary, deletion: Deletion(deletedDate: 5, scheduledPurgeDate: 6))
        #expect(
            try Self.text(head)
                == #"{"name":"MySecret","latestVersion":"v","summary":{"attributes":{"enabled":false,"notBefore":1700000000,"expires":1800000000,"created":1600000000,"updated":1650000000},"contentType":"text/plain","tags":{"env":"prod"},"managed":true},"deletion":{"deletedDate":5,"scheduledPurgeDate":6}}"#
        )
        let keyHead = ObjectHead(name: "k", latestVersion: "v", summary: Self.key.summary, deletion: nil)
        #expect(
            try Self.text(keyHead)
                == #"{"name":"k","latestVersion":"v","summary":{"attributes":{"enabled":false,"notBefore":1700000000,"expires":1800000000,"created":1600000000,"updated":1650000000},"exportable":true,"tags":{"team":"a"},"managed":false,"keyType":"EC-HSM"}}"#
        )
    }

    @Test func keyVersions() throws {
        #expect(
            try Self.text(Self.key)
                == #"{"version":"fedcba9876543210fedcba9876543210","keyType":"EC-HSM","material":"bWF0ZXJpYWw","publicKey":{"kty":"EC-HSM","key_ops":["sign","verify"],"crv":"P-256","x":"eA","y":"eQ"},"keyOps":["sign","verify"],"attributes":{"enabled":false,"notBefore":1700000000,"expires":1800000000,"created":1600000000,"updated":1650000000},"exportable":true,"tags":{"team":"a"},"releasePolicy":{"contentType":"application/json; charset=utf-8","immutable":false,"data":"e30"},"managed":false,"curve":"P-256"}"#
        )
    }

    @Test func foundationsEncoderWritesTheSameFields() throws {
        // Backups and other Foundation-encoded documents go through `encode(to:)`, not the streaming writer.
        let rsa = JsonWebKey(kid: "https://v/keys/k/1", kty: .rsa, keyOps: ["encrypt"], n: [1, 2, 3], e: [1, 0, 1], d: [9])
        for key in [rsa, Self.key.publicKey] {
            // Foundation's encoder does not keep the order of keys: compare the documents.
            let foundation = try JSONSerialization.jsonObject(with: JSONEncoder().encode(key)) as? NSDictionary
            let streamed = try JSONSerialization.jsonObject(with: Data(StreamingJSONEncoder.encode(key))) as? NSDictionary
            #expect(foundation != nil && foundation == streamed)
        }
        #expect(try Self.text(rsa) == #"{"kid":"https://v/keys/k/1","kty":"RSA","key_ops":["encrypt"],"n":"AQID","e":"AQAB","d":"CQ"}"#)
    }

    @Test func recordsReadBackAsWritten() throws {
        let secret = try JSONDecoder().decode(SecretVersion.self, from: Data(try StreamingJSONEncoder.encode(Self.secret)))
        #expect(secret == Self.secret)
        let key = try JSONDecoder().decode(KeyVersion.self, from: Data(try StreamingJSONEncoder.encode(Self.key)))
        #expect(try Self.text(key) == Self.text(Self.key))
    }
}
