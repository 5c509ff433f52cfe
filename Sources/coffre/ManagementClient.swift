import AsyncHTTPClient
import CoffreServer
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOSSL

/// Talks to a running server's management API (`/coffre/v1`) as an administrator, trusting the data directory's CA.
/// With a root key file it uses the managed-identity header derived from it; otherwise (a server sealed by key shares)
/// the administrator's client credentials from `COFFRE_CLIENT_ID` and `COFFRE_CLIENT_SECRET`.
struct ManagementClient {
    /// The server as this machine reaches it, on the port it listens on (clients elsewhere may use a public port that
    /// only a proxy or a port mapping serves): its token service and management API.
    let server: String
    /// The token audience: the first vault zone's resource.
    let resource: String
    let caFile: String
    /// The managed-identity header secret (from the root key file, or an ephemeral server's env file).
    let identityHeader: String?
    /// What to start, in an error message.
    let startHint: String

    /// The server of the data directory; or, when that directory holds no server and `COFFRE_ENV_FILE` names an
    /// ephemeral server's env file (sourcing that file sets it), that server.
    init(data: DataOption) throws {
        let directory = DataDirectory(path: data.data)
        if let configuration = try directory.loadConfiguration() {
            server = "https://localhost:\(configuration.port)"
            resource = configuration.vaultZones.first.map(configuration.resource(forZone:)) ?? ""
            caFile = directory.caFile
            identityHeader =
                FileManager.default.fileExists(atPath: directory.rootKeyFile)
                ? DataDirectory.managedIdentityHeader(rootKey: try directory.rootKey(createIfMissing: false)) : nil
            startHint = "coffre serve --data \(directory.path)"
        } else if let envFile = ProcessInfo.processInfo.environment["COFFRE_ENV_FILE"] {
            let variables = try Self.exports(in: envFile)
            guard let authority = variables["AZURE_AUTHORITY_HOST"], let vaultURL = variables["AZURE_KEYVAULT_URL"].flatMap(URL.init(string:)),
                let host = vaultURL.host, let dot = host.firstIndex(of: ".")
            else { throw ManagementFailure("\(envFile) is not an ephemeral server's env file.") }
            server = variables["COFFRE_PORT"].map { "https://localhost:\($0)" } ?? authority
            resource = "https://" + host[host.index(after: dot)...] + (vaultURL.port.map { ":\($0)" } ?? "")
            caFile = envFile
            identityHeader = variables["IDENTITY_HEADER"]
            startHint = "coffre serve --ephemeral --env-file \(envFile)"
        } else {
            throw ManagementFailure("\(directory.path) is not a Coffre data directory: start the server with `coffre serve` first.")
        }
    }

    /// The `export NAME='value'` lines of an env file.
    static func exports(in file: String) throws -> [String: String] {
        guard let data = FileManager.default.contents(atPath: file) else { throw ManagementFailure("Cannot read \(file).") }
        var variables: [String: String] = [:]
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") where line.hasPrefix("export ") {
            let assignment = line.dropFirst("export ".count)
            guard let equals = assignment.firstIndex(of: "=") else { continue }
            var value = String(assignment[assignment.index(after: equals)...])
            if value.hasPrefix("'"), value.hasSuffix("'"), value.count >= 2 {
                value = String(value.dropFirst().dropLast()).replacingOccurrences(of: "'\\''", with: "'")
            }
            variables[String(assignment[..<equals])] = value
        }
        return variables
    }

    /// Sends one request and returns the response body; a non-2xx answer becomes an error with the server's message.
    func call(_ method: Verb, _ path: String, authenticated: Bool = true) async throws -> Data {
        try await call(method, path, body: String?.none, authenticated: authenticated)
    }

    func call<Body: Encodable>(_ method: Verb, _ path: String, body: Body?, authenticated: Bool = true) async throws -> Data {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(caFile)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
        do {
            var request = HTTPClientRequest(url: server + "/coffre/v1/" + path)
            request.method = HTTPMethod(rawValue: method.rawValue)
            if authenticated { request.headers.add(name: "Authorization", value: "Bearer \(try await token(client))") }
            if let body {
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(ByteBuffer(data: try JSONEncoder().encode(body)))
            }
            let data = try await send(client, request)
            try await client.shutdown()
            return data
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    private func token(_ client: HTTPClient) async throws -> String {
        let encodedResource = resource.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        var request: HTTPClientRequest
        if let identityHeader {
            request = HTTPClientRequest(url: server + "/msi/token?api-version=2019-08-01&resource=" + encodedResource)
            request.headers.add(name: "X-IDENTITY-HEADER", value: identityHeader)
        } else {
            let environment = ProcessInfo.processInfo.environment
            guard let clientId = environment["COFFRE_CLIENT_ID"], let secret = environment["COFFRE_CLIENT_SECRET"] else {
                throw ManagementFailure("No root key file here: set COFFRE_CLIENT_ID and COFFRE_CLIENT_SECRET to an administrator's credentials.")
            }
            request = HTTPClientRequest(url: server + "/adfs/oauth2/v2.0/token")
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            let form =
                "grant_type=client_credentials&client_id=\(clientId)&scope=\(encodedResource)"
                + "&client_secret=\(secret.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")"
            request.body = .bytes(ByteBuffer(string: form))
        }
        let data = try await send(client, request)
        struct Token: Decodable { var access_token: String }
        return try JSONDecoder().decode(Token.self, from: data).access_token
    }

    private func send(_ client: HTTPClient, _ request: HTTPClientRequest) async throws -> Data {
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: .seconds(30))
        } catch {
            throw ManagementFailure("Cannot reach Coffre at \(server) (\(error)). Is `\(startHint)` running?")
        }
        let body = Data(buffer: try await response.body.collect(upTo: 16 * 1024 * 1024))
        guard (200..<300).contains(response.status.code) else {
            struct Envelope: Decodable {
                struct Inner: Decodable { var code: String }
                struct Body: Decodable {
                    var code: String
                    var message: String
                    var innererror: Inner?
                }
                var error: Body
            }
            if let envelope = try? JSONDecoder().decode(Envelope.self, from: body) {
                let inner = envelope.error.innererror.map { " (\($0.code))" } ?? ""
                throw ManagementFailure("\(envelope.error.code)\(inner): \(envelope.error.message)")
            }
            throw ManagementFailure("Coffre answered \(response.status.code): \(String(decoding: body, as: UTF8.self))")
        }
        return body
    }

    /// Prints a JSON response body, pretty.
    static func printJSON(_ data: Data) {
        if let object = try? JSONSerialization.jsonObject(with: data),
            let pretty = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        {
            print(String(decoding: pretty, as: UTF8.self))
        } else if !data.isEmpty {
            print(String(decoding: data, as: UTF8.self))
        }
    }
}

enum Verb: String {
    case GET, POST, PUT, DELETE
}

struct ManagementFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
