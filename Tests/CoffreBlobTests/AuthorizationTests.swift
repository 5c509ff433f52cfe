import CoffreCrypto
import CoffreModel
import Foundation
import Testing

@testable import CoffreBlob

/// SAS tokens written by the official clients, accepted and refused as Azure Storage accepts and refuses them.
@Suite struct AuthorizationTests {
    static let blobPath = "/vectors/dir/a%20b%2Bc.txt"

    /// The vectors' container with two blobs; the clock one hour into the tokens' validity.
    static func fixture() async throws -> BlobFixture {
        let f = try await BlobFixture()
        #expect(await f.signed("PUT", "/vectors", query: "restype=container").status == 201)
        for path in [blobPath, "/vectors/file.txt", "/vectors/d%C3%A9j%C3%A0/%E6%97%A5%E6%9C%AC.txt"] {
            #expect(await f.signed("PUT", path, headers: [("x-ms-blob-type", "BlockBlob")], body: Array("content".utf8)).status == 201)
        }
        return f
    }

    func sas(_ name: String) -> String { Vectors.shared.sas(name).token }

    func expectRefusal(_ response: BlobResponse, _ code: String, status: Int = 403, detail: String? = nil) async throws {
        #expect(response.status == status)
        #expect(response.errorCode == code)
        let body = XMLElement.parse(try await response.body.collect())
        #expect(body?.child("Code")?.text == code)
        #expect(body?.child("Message")?.text.contains("RequestId:") == true)
        if let detail { #expect(body?.child("AuthenticationErrorDetail")?.text.contains(detail) == true, "\(body?.children ?? [])") }
    }

    @Test func anAccountSASWorksForEveryBlobOperationItGrants() async throws {
        let f = try await Self.fixture()
        let token = sas("account-all")
        #expect(await f.send("GET", "/", query: "comp=list", token: token).status == 200)
        #expect(await f.send("PUT", "/second", query: "restype=container", token: token).status == 201)
        #expect(await f.send("GET", "/vectors", query: "restype=container&comp=list", token: token).status == 200)
        let put = await f.send("PUT", "/vectors/new.bin", token: token, headers: ["x-ms-blob-type": "BlockBlob"], body: [1, 2, 3])
        #expect(put.status == 201)
        #expect(try await f.send("GET", "/vectors/new.bin", token: token).body.collect() == [1, 2, 3])
        #expect(await f.send("DELETE", "/vectors/new.bin", token: token).status == 202)
        #expect(await f.send("DELETE", "/second", query: "restype=container", token: token).status == 202)
        #expect(await f.send("GET", "/vectors", query: "restype=container&comp=list", token: sas("account-any-order")).status == 200)
        #expect(await f.send("GET", "/vectors", query: "restype=container&comp=list", token: sas("account-no-start")).status == 200)
        #expect(await f.send("GET", "/vectors", query: "restype=container&comp=list", token: sas("account-encryption-scope")).status == 200)
    }

    @Test func expiredAndNotYetValidTokensAreRefused() async throws {
        let f = try await Self.fixture()
        let token = sas("account-all")
        f.clock.advance(seconds: StorageDate.parseISO8601(f.vectors.expiry)! - f.clock.now - 1)
        #expect(await f.send("GET", "/", query: "comp=list", token: token).status == 200)
        f.clock.advance(seconds: 1)
        try await expectRefusal(
            await f.send("GET", "/", query: "comp=list", token: token), "AuthenticationFailed",
            detail: "Signature not valid in the specified time frame")
        f.clock.advance(seconds: StorageDate.parseISO8601(f.vectors.start)! - f.clock.now - 1)
        try await expectRefusal(
            await f.send("GET", "/", query: "comp=list", token: token), "AuthenticationFailed",
            detail: "Signature not valid in the specified time frame")
        f.clock.advance(seconds: 1)
        #expect(await f.send("GET", "/", query: "comp=list", token: token).status == 200)
    }

    @Test func permissionsResourceTypesAndServicesAreEnforced() async throws {
        let f = try await Self.fixture()
        let readOnly = sas("account-read-only")
        #expect(await f.send("GET", Self.blobPath, token: readOnly).status == 200)
        try await expectRefusal(
            await f.send("PUT", "/vectors/x", token: readOnly, headers: ["x-ms-blob-type": "BlockBlob"]), "AuthorizationPermissionMismatch")
        try await expectRefusal(await f.send("DELETE", Self.blobPath, token: readOnly), "AuthorizationPermissionMismatch")
        let objects = sas("account-objects-only")
        #expect(await f.send("GET", Self.blobPath, token: objects).status == 200)
        try await expectRefusal(
            await f.send("GET", "/vectors", query: "restype=container&comp=list", token: objects), "AuthorizationResourceTypeMismatch")
        try await expectRefusal(await f.send("GET", "/", query: "comp=list", token: objects), "AuthorizationResourceTypeMismatch")
        try await expectRefusal(await f.send("GET", Self.blobPath, token: sas("account-queue-only")), "AuthorizationServiceMismatch")
    }

    @Test func addressesAndProtocolsAreEnforced() async throws {
        let f = try await Self.fixture()
        let range = sas("account-ip-range")
        #expect(await f.send("GET", Self.blobPath, token: range, from: "127.0.0.9").status == 200)
        #expect(await f.send("GET", Self.blobPath, token: range, from: "::ffff:127.0.0.5").status == 200)
        try await expectRefusal(await f.send("GET", Self.blobPath, token: range, from: "127.0.0.10"), "AuthorizationSourceIPMismatch")
        try await expectRefusal(await f.send("GET", Self.blobPath, token: range, from: "::1"), "AuthorizationSourceIPMismatch")
        try await expectRefusal(await f.send("GET", Self.blobPath, token: sas("account-wrong-ip")), "AuthorizationSourceIPMismatch")
        #expect(await f.send("GET", Self.blobPath, token: sas("container-ip")).status == 200)
        try await expectRefusal(await f.send("GET", Self.blobPath, token: sas("container-ip"), from: "10.0.0.1"), "AuthorizationSourceIPMismatch")
        try await expectRefusal(await f.send("GET", Self.blobPath, token: sas("account-all"), secure: false), "AuthorizationProtocolMismatch")
        #expect(await f.send("GET", Self.blobPath, token: sas("account-http-allowed"), secure: false).status == 200)
    }

    @Test func tamperedTokensAreRefused() async throws {
        let f = try await Self.fixture()
        let token = sas("account-read-only")
        let signature = try QueryParameters(token)["sig"]!
        var tampered = Array(signature.utf8)
        tampered[3] = tampered[3] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        let forged = token.replacingOccurrences(
            of: PercentEncoding.encode(signature, keepingSlash: true),
            with: PercentEncoding.encode(String(decoding: tampered, as: UTF8.self), keepingSlash: true))
        #expect(forged != token)
        try await expectRefusal(await f.send("GET", Self.blobPath, token: forged), "AuthenticationFailed", detail: "Signature did not match")
        let widened = token.replacingOccurrences(of: "sp=rl", with: "sp=rwl")
        #expect(widened != token)
        try await expectRefusal(
            await f.send("PUT", "/vectors/x", token: widened, headers: ["x-ms-blob-type": "BlockBlob"]), "AuthenticationFailed",
            detail: "String to sign used was coffretest\nrwl\nb\nsco\n")
        try await expectRefusal(
            await f.send("GET", "/vectors", query: "restype=container&comp=list", token: sas("container-other")), "AuthenticationFailed",
            detail: "Signature did not match")
        try await expectRefusal(
            await f.send("GET", "/vectors", query: "restype=container&comp=list", token: sas("container-wrong-order")), "AuthenticationFailed",
            detail: "Signature fields not well formed.")
    }

    @Test func aRegeneratedKeyNoLongerVerifiesAndTheOtherStillDoes() async throws {
        let f = try await Self.fixture()
        let (first, second) = (sas("account-all"), sas("account-key2"))
        #expect(await f.send("GET", Self.blobPath, token: first).status == 200)
        #expect(await f.send("GET", Self.blobPath, token: second).status == 200)
        let name = try StorageAccountName(f.vectors.account)
        let regenerated = try await f.accounts.regenerateKey("key1", of: name)
        #expect(regenerated.key(named: "key1")?.bytes != f.vectors.key("key1"))
        #expect(regenerated.key(named: "key2") == f.account.key(named: "key2"))
        try await expectRefusal(await f.send("GET", Self.blobPath, token: first), "AuthenticationFailed", detail: "Signature did not match")
        try await expectRefusal(await f.signed("GET", Self.blobPath), "AuthenticationFailed", detail: "is not the same as any computed signature")
        #expect(await f.send("GET", Self.blobPath, token: second).status == 200)
        #expect(await f.signed("GET", Self.blobPath, key: regenerated.key(named: "key1")!.bytes).status == 200)
        _ = try await f.accounts.regenerateKey("key2", of: name)
        try await expectRefusal(await f.send("GET", Self.blobPath, token: second), "AuthenticationFailed", detail: "Signature did not match")
    }

    @Test func unknownAccountsAndMissingCredentialsAreRefused() async throws {
        let f = try await Self.fixture()
        try await expectRefusal(
            await f.send("GET", "/", query: "comp=list", token: sas("account-unknown"), account: "coffreother"), "AuthenticationFailed",
            detail: "does not exist")
        try await expectRefusal(
            await f.send("GET", "/", query: "comp=list", token: sas("account-all"), account: "Not-An-Account"), "AuthenticationFailed")
        try await expectRefusal(await f.send("GET", Self.blobPath), "NoAuthenticationInformation", status: 401)
        try await expectRefusal(
            await f.send("GET", Self.blobPath, headers: ["Authorization": "Bearer eyJ0eXAi"]), "AuthenticationFailed", detail: "not supported")
        try await expectRefusal(
            await f.send("GET", Self.blobPath, headers: ["Authorization": "SharedKey coffretest"]), "InvalidAuthenticationInfo", status: 400)
    }

    @Test func sharedKeyRequestsMustBeRecent() async throws {
        let f = try await Self.fixture()
        var headers: BlobHeaders = ["x-ms-date": StorageDate.rfc1123(f.clock.now - 16 * 60), "x-ms-version": "2026-10-06"]
        let query = try QueryParameters("")
        let stringToSign = SharedKey.stringToSign(
            method: "GET", headers: headers, account: f.vectors.account, path: Self.blobPath, query: query, version: "2026-10-06")
        let signature = Base64.standardEncoded(Digest.hmacSHA256(key: f.vectors.key("key1"), Array(stringToSign.utf8)))
        headers.add("Authorization", "SharedKey \(f.vectors.account):\(signature)")
        try await expectRefusal(await f.send("GET", Self.blobPath, headers: headers), "AuthenticationFailed", detail: "Request date header too old")
        f.clock.advance(seconds: -60)
        #expect(await f.send("GET", Self.blobPath, headers: headers).status == 200)
    }

    @Test func serviceSASesCoverTheirContainerOrBlobOnly() async throws {
        let f = try await Self.fixture()
        let container = sas("container-read-list")
        #expect(await f.send("GET", "/vectors", query: "restype=container&comp=list", token: container).status == 200)
        #expect(await f.send("GET", Self.blobPath, token: container).status == 200)
        try await expectRefusal(await f.send("PUT", "/vectors", query: "restype=container&comp=metadata", token: container), "AuthorizationFailure")
        try await expectRefusal(await f.send("DELETE", Self.blobPath, token: container), "AuthorizationPermissionMismatch")
        let write = sas("container-write")
        #expect(await f.send("PUT", "/vectors/w.bin", token: write, headers: ["x-ms-blob-type": "BlockBlob"], body: [9]).status == 201)
        #expect(await f.send("DELETE", "/vectors/w.bin", token: write).status == 202)

        let blob = sas("blob-read")
        #expect(try await f.send("GET", Self.blobPath, token: blob).text == "content")
        try await expectRefusal(await f.send("GET", "/vectors/file.txt", token: blob), "AuthenticationFailed", detail: "Signature did not match")
        try await expectRefusal(
            await f.send("GET", "/vectors", query: "restype=container&comp=list", token: blob), "AuthenticationFailed",
            detail: "signed resource is not allowed")
        try await expectRefusal(
            await f.send("PUT", Self.blobPath, token: blob, headers: ["x-ms-blob-type": "BlockBlob"]), "AuthorizationPermissionMismatch")
        #expect(await f.send("GET", "/vectors/d%C3%A9j%C3%A0/%E6%97%A5%E6%9C%AC.txt", token: sas("blob-unicode")).status == 200)
    }

    @Test func createPermissionCreatesButNeverReplaces() async throws {
        let f = try await Self.fixture()
        let create = sas("blob-create-only")
        let put = { await f.send("PUT", "/vectors/new.bin", token: create, headers: ["x-ms-blob-type": "BlockBlob"], body: [1]) }
        #expect(await put().status == 201)
        try await expectRefusal(await put(), "AuthorizationPermissionMismatch")
        #expect(try await f.send("GET", "/vectors/new.bin", token: sas("account-all")).body.collect() == [1])
        #expect(await f.send("PUT", "/vectors/new.bin", token: sas("blob-create-write"), headers: ["x-ms-blob-type": "BlockBlob"]).status == 201)
    }

    @Test func responseHeaderOverridesReplaceTheBlobsHeaders() async throws {
        let f = try await Self.fixture()
        let response = await f.send("GET", Self.blobPath, token: sas("container-response-headers"))
        #expect(response.status == 200)
        #expect(response.header("Content-Type") == "text/plain; charset=utf-8")
        #expect(response.header("Cache-Control") == "no-cache")
        #expect(response.header("Content-Disposition") == "attachment")
        #expect(response.header("Content-Encoding") == "identity")
        #expect(response.header("Content-Language") == "fr")
        let blob = await f.send("HEAD", "/vectors/file.txt", token: sas("blob-response-headers"))
        #expect(blob.header("Content-Type") == "application/json")
        #expect(blob.header("Content-Disposition") == "inline")
        #expect(await f.send("HEAD", "/vectors/file.txt", token: sas("account-all")).header("Content-Type") == "application/octet-stream")
    }

    @Test func tokensOfOlderClientsAndVersionsAreAccepted() async throws {
        let f = try await Self.fixture()
        for name in ["v12_8-container", "track1-container", "legacy-container"] {
            #expect(await f.send("GET", "/vectors", query: "restype=container&comp=list", token: sas(name)).status == 200, "\(name)")
        }
        for name in ["track1-blob", "legacy-blob", "legacy-2012-blob", "v12_8-blob", "v12_8-account", "track1-account"] {
            #expect(await f.send("GET", Self.blobPath, token: sas(name)).status == 200, "\(name)")
        }
        #expect(await f.send("PUT", Self.blobPath, token: sas("v12_8-blob"), headers: ["x-ms-blob-type": "BlockBlob"]).status == 201)
        #expect(await f.send("GET", "/vectors/file.txt", token: sas("track1-container")).header("Content-Type") == "text/csv")
        #expect(await f.send("GET", "/vectors/file.txt", token: sas("legacy-container")).header("Content-Language") == "de")
    }
}
