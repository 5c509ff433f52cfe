// coffre-hello: the "limit" route of the benchmark (bench/run).
//
// A minimal Hummingbird 2 server with TLS that answers `GET /hello` with a prebuilt JSON body shaped like a
// Key Vault SecretBundle and padded to a given size (the size of Coffre's GET-secret response, measured by the
// benchmark). It does no authentication, no storage and no per-request work: what it reaches is the ceiling of
// HTTP + TLS + JSON-sized responses on this machine, and Coffre's routes are compared with it.
//
//   coffre-hello --cert CERT.pem --key KEY.pem [--port 18443] [--bind 127.0.0.1] [--body-bytes 300]

import Foundation
import Hummingbird
import HummingbirdTLS
import NIOSSL

/// Command-line options; kept dependency-free on purpose (the target depends only on Hummingbird and NIOSSL).
struct Options {
    var certificate = ""
    var key = ""
    var bind = "127.0.0.1"
    var port = 18443
    var bodyBytes = 300

    init(_ arguments: [String]) throws {
        var rest = arguments[...]
        while let flag = rest.popFirst() {
            guard let value = rest.popFirst() else { throw UsageError("\(flag) needs a value") }
            switch flag {
            case "--cert": certificate = value
            case "--key": key = value
            case "--bind": bind = value
            case "--port": port = try Self.number(value, flag)
            case "--body-bytes": bodyBytes = try Self.number(value, flag)
            default: throw UsageError("unknown option \(flag)")
            }
        }
        if certificate.isEmpty || key.isEmpty { throw UsageError("--cert and --key are required") }
    }

    static func number(_ value: String, _ flag: String) throws -> Int {
        guard let number = Int(value), number >= 0 else { throw UsageError("\(flag) needs a non-negative number") }
        return number
    }
}

struct UsageError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A SecretBundle-shaped JSON document of exactly `size` bytes (or the shortest such document, if `size` is
/// smaller): the `value` field is padded to reach the size.
func secretBundleBody(size: Int) -> String {
    let head = #"{"value":""#
    let tail =
        #"","id":"https://default.vault.localhost:8443/secrets/hello/00112233445566778899aabbccddeeff","#
        + #""attributes":{"enabled":true,"created":1700000000,"updated":1700000000,"#
        + #""recoveryLevel":"Recoverable+Purgeable","recoverableDays":90}}"#
    let padding = max(0, size - head.utf8.count - tail.utf8.count)
    return head + String(repeating: "v", count: padding) + tail
}

let options: Options
do {
    options = try Options(Array(CommandLine.arguments.dropFirst()))
} catch {
    print("coffre-hello: \(error)")
    print("usage: coffre-hello --cert CERT.pem --key KEY.pem [--port 18443] [--bind 127.0.0.1] [--body-bytes 300]")
    exit(2)
}

// The body is built once; every response shares the same buffer (a ByteBuffer copy is a reference count).
let body = ByteBuffer(string: secretBundleBody(size: options.bodyBytes))
let router = Router()
router.get("/hello") { _, _ -> Response in
    Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: body))
}

// The same TLS settings as Coffre's server (ServerRuntime.tlsConfiguration): HTTP/1.1 by ALPN, TLS 1.2 or later.
var tls = TLSConfiguration.makeServerConfiguration(
    certificateChain: try NIOSSLCertificate.fromPEMFile(options.certificate).map { .certificate($0) },
    privateKey: .privateKey(try NIOSSLPrivateKey(file: options.key, format: .pem)))
tls.applicationProtocols = ["http/1.1"]
tls.minimumTLSVersion = .tlsv12

let app = Application(
    router: router,
    server: try .tls(.http1(), tlsConfiguration: tls),
    configuration: .init(address: .hostname(options.bind, port: options.port), serverName: "coffre-hello"),
    onServerRunning: { channel in
        print("coffre-hello is serving on \(options.bind):\(channel.localAddress?.port ?? options.port) (TLS), body \(body.readableBytes) bytes")
    })
try await app.runService()
