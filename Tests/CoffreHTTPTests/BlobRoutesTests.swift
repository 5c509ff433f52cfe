import CoffreBlob
import CoffreCore
import CoffreCrypto
import CoffreModel
import Foundation
import HTTPTypes
import Testing

@testable import CoffreHTTP

/// The Blob service's route group and the management API's storage accounts, through the one router without sockets.
@Suite struct BlobRoutesTests {
    let blobHost = "acct.blob.localhost:8443"

    /// A server with the account `acct`, and an account SAS of its key1 with every blob permission.
    func setUp() async throws -> (Harness, token: String) {
        let h = try await Harness()
        let created = try await h.admin(.post, "/coffre/v1/storage/accounts", json: ["name": "acct"])
        #expect(created.status == .created)
        #expect(created.json["blobEndpoint"] as? String == "https://acct.blob.localhost:8443/")
        let keys = try await h.admin(.get, "/coffre/v1/storage/accounts/acct/keys")
        let list = try #require((try JSONSerialization.jsonObject(with: keys.body)) as? [[String: Any]])
        #expect(list.map { $0["keyName"] as? String } == ["key1", "key2"])
        #expect(list.allSatisfy { $0["permissions"] as? String == "FULL" })
        let key = try #require(Base64.decode(list[0]["value"] as? String ?? ""))
        let token = SharedAccessSignature.account(
            account: "acct", key: key, services: "b", resourceTypes: "sco", permissions: "rwdlac",
            expiry: SharedAccessSignature.time(h.clock.now + 3600))
        return (h, token)
    }

    @Test func blobHostsReachTheBlobServiceForEveryPath() async throws {
        let (h, token) = try await setUp()
        #expect(try await h.send(.put, "/box?restype=container&\(token)", host: blobHost).status == .created)
        let put = try await h.send(
            .put, "/box/dir/a%20b.txt?\(token)", host: blobHost, headers: [HTTPField.Name("x-ms-blob-type")!: "BlockBlob"], rawBody: "hello")
        #expect(put.status == .created)
        let get = try await h.send(.get, "/box/dir/a%20b.txt?\(token)", host: blobHost)
        #expect(get.status == .ok)
        #expect(get.text == "hello")
        #expect(get.headers[.contentLength] == "5")
        let head = try await h.send(.head, "/box/dir/a%20b.txt?\(token)", host: blobHost)
        #expect(head.headers[.contentLength] == "5")
        #expect(head.body.isEmpty)
        // Paths the other groups serve on their hosts are containers here.
        let health = try await h.send(.get, "/healthz?restype=container&\(token)", host: blobHost)
        #expect(health.status == .notFound)
        #expect(health.headers[HTTPField.Name("x-ms-error-code")!] == "ContainerNotFound")
        #expect(health.text.contains("<Code>ContainerNotFound</Code>"))
        #expect(health.text.contains("RequestId:\(health.headers[.msRequestId] ?? "none")"))
        #expect(try await h.send(.get, "/healthz").status == .ok)
    }

    @Test func requestsAreAuditedWithoutTheirToken() async throws {
        let (h, token) = try await setUp()
        _ = try await h.send(.put, "/box?restype=container&\(token)", host: blobHost)
        let event = try #require(h.audit.recorded.last)
        #expect(event.operationName == "CreateContainer")
        #expect(event.properties.requestUri == "https://\(blobHost)/box")
        #expect(!"\(event)".contains("sig="))
    }

    @Test func aRegeneratedKeyIsRefusedAtOnce() async throws {
        let (h, token) = try await setUp()
        #expect(try await h.send(.get, "/?comp=list&\(token)", host: blobHost).status == .ok)
        let regenerated = try await h.admin(.post, "/coffre/v1/storage/accounts/acct/keys/regenerate", json: ["keyName": "key1"])
        #expect(regenerated.status == .ok)
        let refused = try await h.send(.get, "/?comp=list&\(token)", host: blobHost)
        #expect(refused.status == .forbidden)
        #expect(refused.headers[HTTPField.Name("x-ms-error-code")!] == "AuthenticationFailed")
        #expect(try await h.admin(.post, "/coffre/v1/storage/accounts/acct/keys/regenerate", json: ["keyName": "key3"]).status == .badRequest)
    }

    @Test func storageAccountsAreManaged() async throws {
        let (h, _) = try await setUp()
        #expect(try await h.admin(.post, "/coffre/v1/storage/accounts", json: ["name": "acct"]).status == .conflict)
        #expect(try await h.admin(.post, "/coffre/v1/storage/accounts", json: ["name": "Not-Valid"]).errorCode == "BadParameter")
        #expect(try await h.admin(.get, "/coffre/v1/storage/accounts/acct").json["name"] as? String == "acct")
        #expect(try await h.admin(.delete, "/coffre/v1/storage/accounts/acct").status == .noContent)
        let missing = try await h.admin(.get, "/coffre/v1/storage/accounts/acct")
        #expect(missing.status == .notFound)
        #expect(missing.errorCode == "StorageAccountNotFound")
        #expect(try await h.send(.get, "/coffre/v1/storage/accounts").status == .unauthorized)
    }

    @Test func aBodyOverTheLimitIsRefusedInTheServicesShape() async throws {
        let (h, token) = try await setUp()
        _ = try await h.send(.put, "/box?restype=container&\(token)", host: blobHost)
        let large = String(repeating: "x", count: BlobService.maximumRequestBody + 1)
        let refused = try await h.send(
            .put, "/box/big?\(token)", host: blobHost, headers: [HTTPField.Name("x-ms-blob-type")!: "BlockBlob"], rawBody: large)
        #expect(refused.status == .contentTooLarge)
        #expect(refused.headers[HTTPField.Name("x-ms-error-code")!] == "RequestBodyTooLarge")
        #expect(refused.text.contains("<MaxLimit>\(BlobService.maximumRequestBody)</MaxLimit>"))
    }
}
