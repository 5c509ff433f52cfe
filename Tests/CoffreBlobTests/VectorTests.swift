import CoffreCrypto
import CoffreModel
import Foundation
import Testing

@testable import CoffreBlob

/// Coffre computes the same strings-to-sign, signatures and tokens as the official clients (azure-storage-blob 12.31.1,
/// 12.8.1, 1.5.0 and azure-storage 0.20.3), for every SAS kind and every signed-version format they write.
@Suite struct SASVectorTests {
    static let names = Vectors.shared.sas.map(\.name)

    @Test(arguments: names) func stringToSignAndSignatureAreTheOfficialClients(name: String) throws {
        let vector = Vectors.shared.sas(name)
        let fields = SASFields(query: try QueryParameters(vector.token))
        let stringToSign =
            vector.kind == "account"
            ? fields.accountStringToSign(account: vector.inputs["account"]!)
            : fields.serviceStringToSign(canonicalPath: Self.path(vector), account: vector.inputs["account"]!)
        #expect(stringToSign == vector.stringToSign)
        #expect(fields["sig"] == Base64.standardEncoded(Digest.hmacSHA256(key: Vectors.shared.key(vector.key), Array(stringToSign.utf8))))
    }

    @Test(arguments: names) func generatedTokensAreTheOfficialClients(name: String) throws {
        let vector = Vectors.shared.sas(name)
        let inputs = vector.inputs
        let version = try QueryParameters(vector.token)["sv"]!
        let key = Vectors.shared.key(vector.key)
        let headers = SharedAccessSignature.ResponseHeaders(
            cacheControl: inputs["cache_control"], contentDisposition: inputs["content_disposition"], contentEncoding: inputs["content_encoding"],
            contentLanguage: inputs["content_language"], contentType: inputs["content_type"])
        let token: String
        switch vector.kind {
        case "account":
            token = SharedAccessSignature.account(
                account: inputs["account"]!, key: key, services: inputs["services"]!, resourceTypes: inputs["resource_types"]!,
                permissions: inputs["permission"]!, expiry: inputs["expiry"]!, start: inputs["start"], ip: inputs["ip"], protocol: inputs["protocol"],
                encryptionScope: inputs["encryption_scope"], version: version)
        case "container":
            token = SharedAccessSignature.container(
                account: inputs["account"]!, key: key, container: inputs["container"]!, permissions: inputs["permission"]!, expiry: inputs["expiry"]!,
                start: inputs["start"], ip: inputs["ip"], protocol: inputs["protocol"], responseHeaders: headers,
                encryptionScope: inputs["encryption_scope"], version: version)
        default:
            token = SharedAccessSignature.blob(
                account: inputs["account"]!, key: key, container: inputs["container"]!, blob: inputs["blob"]!, permissions: inputs["permission"]!,
                expiry: inputs["expiry"]!, start: inputs["start"], ip: inputs["ip"], protocol: inputs["protocol"], responseHeaders: headers,
                encryptionScope: inputs["encryption_scope"], version: version)
        }
        #expect(token == vector.token)
    }

    @Test func theCurrentClientSignsTheCurrentVersion() throws {
        #expect(try QueryParameters(Vectors.shared.sas("account-all").token)["sv"] == SharedAccessSignature.currentVersion)
    }

    static func path(_ vector: Vectors.SAS) -> String {
        vector.inputs["blob"].map { vector.inputs["container"]! + "/" + $0 } ?? vector.inputs["container"]!
    }
}

/// The official client's requests, captured at its transport: Coffre computes the string-to-sign it signed, verifies
/// its signature, and serves the whole sequence (create, list, upload whole and in blocks, download, ranges, delete).
@Suite struct SharedKeyVectorTests {
    static let names = Vectors.shared.sharedKey.map(\.name)

    static func request(_ vector: Vectors.SharedKeyRequest) -> BlobRequest {
        let url = BlobURL(vector.url)!
        return BlobRequest(
            method: vector.method, account: String(url.host.split(separator: ".")[0]), path: url.path, query: url.query,
            headers: BlobHeaders(vector.headers.map { (name: $0.key, value: $0.value) } + [("Host", url.authority)]),
            body: Base64.decode(vector.body) ?? [])
    }

    @Test(arguments: names) func stringToSignIsTheOfficialClients(name: String) throws {
        let vector = Vectors.shared.sharedKey.first { $0.name == name }!
        let request = Self.request(vector)
        let stringToSign = SharedKey.stringToSign(
            method: request.method, headers: request.headers, account: request.account, path: request.path, query: try QueryParameters(request.query),
            version: request.headers["x-ms-version"]!)
        #expect(stringToSign == vector.stringToSign)
        let signature = Base64.standardEncoded(Digest.hmacSHA256(key: Vectors.shared.key("key1"), Array(stringToSign.utf8)))
        #expect(vector.authorization == "SharedKey \(request.account):\(signature)")
    }

    @Test func theOfficialClientsRequestsAreServed() async throws {
        let f = try await BlobFixture()
        let expected: [String: Int] = [
            "create_container": 201, "list_containers": 200, "get_container_properties": 200, "set_container_metadata": 200, "upload_blob": 201,
            "stage_block": 201, "commit_block_list": 201, "download_blob": 206, "download_blob_range": 206, "get_blob_properties": 200,
            "list_blobs": 200, "walk_blobs": 200, "set_blob_metadata": 200, "delete_blob": 202, "delete_container": 202,
        ]
        for vector in Vectors.shared.sharedKey {
            let request = Self.request(vector)
            f.clock.advance(seconds: StorageDate.parseRFC1123(request.headers["x-ms-date"]!)! - f.clock.now)
            let response = await f.service.handle(request)
            let text = try await response.text
            #expect(response.status == expected[vector.name] ?? 201, "\(vector.name): \(text)")
            switch vector.name {
            case "download_blob":
                #expect(text == "hello")
                #expect(response.header("Content-Range") == "bytes 0-4/5")
                #expect(response.header("Content-Type") == "text/plain")
                #expect(response.header("x-ms-meta-k") == "v")
            case "download_blob_range": #expect(text == "llo")
            case "list_blobs":
                let root = XMLElement.parse(Array(text.utf8))
                #expect(root?.child("Blobs")?.children("Blob").map { $0.child("Name")?.text } == ["dir/a b+c.txt"])
            case "walk_blobs":
                let root = XMLElement.parse(Array(text.utf8))
                #expect(root?.child("Blobs")?.children.map { $0.child("Name")?.text } == ["big.bin", "dir/"])
                #expect(root?.child("NextMarker")?.text != "")
            default: break
            }
        }
    }
}
