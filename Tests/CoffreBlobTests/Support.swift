import CoffreCrypto
import CoffreModel
import CoffreStorage
import Foundation
import Synchronization
import Testing

@testable import CoffreBlob

/// `Vectors/vectors.json`, computed by the official Azure Storage clients (`Vectors/generate_vectors.py`).
struct Vectors: Decodable {
    struct SAS: Decodable {
        var name: String
        var client: String
        var kind: String
        var key: String
        var inputs: [String: String]
        var token: String
        var stringToSign: String
    }

    /// A Key Vault SAS definition's template and the token the official client makes from its fields with an account key.
    struct Template: Decodable {
        var name: String
        var client: String
        var sasType: String
        var templateUri: String
        var key: String
        var expiry: String
        var token: String
        var stringToSign: String
    }

    struct SharedKeyRequest: Decodable {
        var name: String
        var method: String
        var url: String
        var headers: [String: String]
        var body: String
        var stringToSign: String
        var authorization: String
    }

    var account: String
    var key1: String
    var key2: String
    var start: String
    var expiry: String
    var sas: [SAS]
    var sharedKey: [SharedKeyRequest]
    var templates: [Template]

    static let shared: Vectors = {
        let url = Bundle.module.url(forResource: "vectors", withExtension: "json", subdirectory: "Vectors")!
        return try! JSONDecoder().decode(Vectors.self, from: Data(contentsOf: url))
    }()

    func sas(_ name: String) -> SAS { sas.first { $0.name == name }! }

    func key(_ name: String) -> [UInt8] { Base64.decode(name == "key2" ? key2 : key1)! }
}

/// Keys handed out in order: the vectors' two keys first (so the official clients' tokens verify), then random ones.
final class KeySource: Sendable {
    private let queue: Mutex<[[UInt8]]>

    init(_ keys: [[UInt8]]) { queue = Mutex(keys) }

    func next() -> [UInt8] { queue.withLock { $0.isEmpty ? SecureRandom.bytes(64) : $0.removeFirst() } }
}

/// A Blob service on sealed in-memory storage with a manual clock, and the vectors' account with the vectors' keys.
struct BlobFixture {
    let clock: ManualClock
    let raw = MemoryStorage()
    let storage: SealedStorage
    let service: BlobService
    let account: StorageAccountRecord
    let vectors = Vectors.shared

    /// The clock stands one hour into the vectors' SAS validity.
    init() async throws {
        let vectors = Vectors.shared
        clock = ManualClock(StorageDate.parseISO8601(vectors.start)! + 3600)
        storage = try await SealedStorage.unseal(raw, rootKey: try AEADKey(bytes: AEADKey.generate()), now: clock.now)
        let keys = KeySource([vectors.key("key1"), vectors.key("key2")])
        let accounts = StorageAccountDirectory(storage: storage, clock: clock, makeKey: { keys.next() })
        service = BlobService(storage: storage, clock: clock, accounts: accounts)
        account = try await accounts.create(try StorageAccountName(vectors.account))
    }

    var accounts: StorageAccountDirectory { service.accounts }

    /// A request authorised by the query's SAS token (or nothing), over TLS from 127.0.0.1.
    func send(
        _ method: String, _ path: String, query: String = "", token: String? = nil, headers: BlobHeaders = [:], body: [UInt8] = [],
        secure: Bool = true, from address: String = "127.0.0.1", account: String? = nil
    ) async -> BlobResponse {
        let query = [query, token ?? ""].filter { !$0.isEmpty }.joined(separator: "&")
        return await service.handle(
            BlobRequest(
                method: method, account: account ?? vectors.account, path: path, query: query, headers: headers, body: body, secure: secure,
                clientAddress: address))
    }

    /// A request signed with Shared Key by `key` (the request's date is the clock's).
    func signed(
        _ method: String, _ path: String, query: String = "", headers: [(String, String)] = [], body: [UInt8] = [], key: [UInt8]? = nil
    ) async -> BlobResponse {
        var all = BlobHeaders(headers.map { (name: $0.0, value: $0.1) })
        all.add("x-ms-date", StorageDate.rfc1123(clock.now))
        all.add("x-ms-version", SharedAccessSignature.currentVersion)
        if !body.isEmpty { all.add("Content-Length", String(body.count)) }
        let stringToSign = SharedKey.stringToSign(
            method: method, headers: all, account: vectors.account, path: path, query: try! QueryParameters(query),
            version: SharedAccessSignature.currentVersion)
        let signature = Base64.standardEncoded(Digest.hmacSHA256(key: key ?? vectors.key("key1"), Array(stringToSign.utf8)))
        all.add("Authorization", "SharedKey \(vectors.account):\(signature)")
        return await service.handle(BlobRequest(method: method, account: vectors.account, path: path, query: query, headers: all, body: body))
    }

    /// An account SAS with every blob permission, signed now by our generator with `key`.
    func fullAccountToken(key: String = "key1") -> String {
        SharedAccessSignature.account(
            account: vectors.account, key: vectors.key(key), services: "b", resourceTypes: "sco", permissions: "rwdlacup",
            expiry: SharedAccessSignature.time(clock.now + 3600))
    }
}

extension BlobResponse {
    var errorCode: String? { header("x-ms-error-code") }

    var text: String {
        get async throws { String(decoding: try await body.collect(), as: UTF8.self) }
    }

    /// The `AuthenticationErrorDetail` of an error body.
    var authenticationDetail: String? {
        get async throws { XMLElement.parse(try await body.collect())?.child("AuthenticationErrorDetail")?.text }
    }
}
