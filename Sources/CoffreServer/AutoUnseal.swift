import AsyncHTTPClient
import CoffreCrypto
import CoffreModel
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOSSL

/// Auto-unseal: the root key is kept wrapped by a key in another Key Vault (Azure Key Vault, or another Coffre), and
/// unwrapped at start through that vault's `unwrapkey` operation. Nothing that opens the barrier is stored here.
///
/// The credential is a service principal of the other vault's tenant: its client secret comes from the environment
/// (`COFFRE_AUTO_UNSEAL_CLIENT_SECRET`), never from a file. The token service is found the way the SDKs find it: from
/// the vault's 401 challenge.
public struct AutoUnsealSettings: Codable, Sendable, Equatable {
    /// The full key identifier, with its version (`https://vault.example.com/keys/coffre-root/0123…`).
    public var keyId: String
    public var tenantId: String
    public var clientId: String
    /// A CA file to trust for the vault and its token service (besides the system's).
    public var caFile: String?
    public var algorithm: String

    public init(keyId: String, tenantId: String, clientId: String, caFile: String?, algorithm: String = "RSA-OAEP-256") {
        self.keyId = keyId
        self.tenantId = tenantId
        self.clientId = clientId
        self.caFile = caFile
        self.algorithm = algorithm
    }

    public static let secretVariable = "COFFRE_AUTO_UNSEAL_CLIENT_SECRET"
}

/// The wrapped root key, as stored in the data directory (`root.key.wrapped`).
public struct WrappedRootKey: Codable, Sendable {
    public var kid: String
    public var algorithm: String
    public var value: String
}

public struct RemoteKeyVault: Sendable {
    let settings: AutoUnsealSettings
    let secret: String

    public init(settings: AutoUnsealSettings, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        guard let secret = environment[AutoUnsealSettings.secretVariable], !secret.isEmpty else {
            throw CoffreError.badParameter("Auto-unseal needs the client secret in \(AutoUnsealSettings.secretVariable).")
        }
        self.settings = settings
        self.secret = secret
    }

    public func wrap(_ rootKey: [UInt8]) async throws -> WrappedRootKey {
        let result = try await operation("wrapkey", value: rootKey)
        return WrappedRootKey(kid: result.kid, algorithm: settings.algorithm, value: Base64.urlEncoded(result.value))
    }

    public func unwrap(_ wrapped: WrappedRootKey) async throws -> [UInt8] {
        guard let value = Base64.decode(wrapped.value) else { throw CoffreError.badParameter("The wrapped root key is not base64url.") }
        return try await operation("unwrapkey", value: value, keyId: wrapped.kid).value
    }

    struct OperationResult: Decodable {
        var kid: String
        var value: String
    }

    private func operation(_ name: String, value: [UInt8], keyId: String? = nil) async throws -> (kid: String, value: [UInt8]) {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let caFile = settings.caFile { tls.additionalTrustRoots = [.file(caFile)] }
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
        defer { _ = client.shutdown() }
        let url = (keyId ?? settings.keyId) + "/\(name)?api-version=7.4"
        let body = try JSONEncoder().encode(["alg": settings.algorithm, "value": Base64.urlEncoded(value)])

        // The first, unauthenticated request yields the challenge naming the token service and the resource.
        let challenge = try await send(client, url: url, body: body, token: nil)
        guard challenge.status == .unauthorized, let header = challenge.headers.first(name: "WWW-Authenticate") else {
            throw CoffreError.unavailable("The vault at \(url) did not answer with a challenge (\(challenge.status.code)).")
        }
        let token = try await self.token(client, challenge: Self.parameters(header))
        let response = try await send(client, url: url, body: body, token: token)
        guard response.status == .ok else {
            throw CoffreError.unavailable("The vault refused \(name) (\(response.status.code)): \(String(decoding: response.body, as: UTF8.self))")
        }
        let result = try JSONDecoder().decode(OperationResult.self, from: response.body)
        guard let bytes = Base64.decode(result.value) else { throw CoffreError.unavailable("The vault answered a malformed \(name) result.") }
        return (result.kid, bytes)
    }

    private func token(_ client: HTTPClient, challenge: [String: String]) async throws -> String {
        guard let authorization = challenge["authorization"] ?? challenge["authorization_uri"],
            let resource = challenge["resource"] ?? challenge["scope"]
        else { throw CoffreError.unavailable("The vault's challenge names no token service.") }
        // Entra ID's authorization URL carries a tenant path; Coffre's does not.
        let base = URL(string: authorization).map { "\($0.scheme ?? "https")://\($0.host ?? "")" + ($0.port.map { ":\($0)" } ?? "") } ?? authorization
        let scope = resource.hasSuffix("/.default") ? resource : resource + "/.default"
        func encoded(_ text: String) -> String { text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? text }
        let form = "grant_type=client_credentials&client_id=\(encoded(settings.clientId))&client_secret=\(encoded(secret))&scope=\(encoded(scope))"
        var request = HTTPClientRequest(url: "\(base)/\(settings.tenantId)/oauth2/v2.0/token")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.body = .bytes(ByteBuffer(string: form))
        let response = try await client.execute(request, timeout: .seconds(30))
        let data = Data(buffer: try await response.body.collect(upTo: 1 << 20))
        struct Token: Decodable { var access_token: String }
        guard response.status == .ok, let token = try? JSONDecoder().decode(Token.self, from: data) else {
            throw CoffreError.unavailable("The token service refused the auto-unseal principal (\(response.status.code)).")
        }
        return token.access_token
    }

    private func send(_ client: HTTPClient, url: String, body: Data, token: String?) async throws -> (
        status: HTTPResponseStatus, headers: HTTPHeaders, body: Data
    ) {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        if let token {
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
            request.body = .bytes(ByteBuffer(data: body))
        }
        let response = try await client.execute(request, timeout: .seconds(30))
        return (response.status, response.headers, Data(buffer: try await response.body.collect(upTo: 1 << 20)))
    }

    /// `Bearer authorization="…", resource="…"` → its parameters.
    static func parameters(_ header: String) -> [String: String] {
        var result: [String: String] = [:]
        let list = header.split(separator: " ", maxSplits: 1).dropFirst().first ?? ""
        for item in list.split(separator: ",") {
            let pair = item.split(separator: "=", maxSplits: 1).map {
                $0.trimmingCharacters(in: .whitespaces.union(CharacterSet(charactersIn: "\"")))
            }
            if pair.count == 2 { result[pair[0].lowercased()] = pair[1] }
        }
        return result
    }
}
