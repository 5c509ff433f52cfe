import CoffreCertificates
import Crypto
import Foundation
import SwiftASN1
import Testing
import X509

/// The files under `Fixtures/` (see `make-fixtures.sh` for how they were made).
enum Fixture {
    static func data(_ name: String) throws -> [UInt8] {
        let url = try #require(Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures"))
        return Array(try Data(contentsOf: url))
    }

    static func text(_ name: String) throws -> String { String(decoding: try data(name), as: UTF8.self) }

    /// The DER of the first PEM block of a fixture.
    static func der(_ name: String) throws -> [UInt8] { try PEMDocument(pemString: text(name)).derBytes }

    /// The RSA-2048 key of `leaf.pem`: tests sign with it rather than generate RSA keys.
    static func rsaKey() throws -> SoftwareSigningKey { try SoftwareSigningKey(pkcs8DER: der("leaf-key.pem")) }

    static let legacyPassword = "legacy-pass"
    static let tripleDESPassword = "triple-des"
    static let modernPassword = "modern-pass"
}

/// Whether `leaf` chains to `root` (through `intermediates`) under RFC 5280 at the current time.
func chainVerifies(_ leaf: [UInt8], root: [UInt8], intermediates: [[UInt8]] = []) async throws -> Bool {
    var verifier = Verifier(rootCertificates: CertificateStore([try Certificate(derEncoded: root)])) { RFC5280Policy() }
    return try await verifies(leaf, intermediates: intermediates, with: &verifier)
}

/// Whether a self-signed end-entity certificate verifies as its own trust anchor (signature and validity).
///
/// swift-certificates' RFC5280Policy insists that a trust anchor presented as the leaf be a CA; Key Vault's
/// self-signed certificates are end entities (CA:false) that clients trust directly, so the check is relaxed here.
func selfSignedVerifies(_ der: [UInt8]) async throws -> Bool {
    var verifier = Verifier(rootCertificates: CertificateStore([try Certificate(derEncoded: der)])) { TrustedLeafPolicy() }
    return try await verifies(der, intermediates: [], with: &verifier)
}

private func verifies(_ leaf: [UInt8], intermediates: [[UInt8]], with verifier: inout Verifier<some VerifierPolicy>) async throws -> Bool {
    let result = await verifier.validate(
        leaf: try Certificate(derEncoded: leaf), intermediates: CertificateStore(try intermediates.map { try Certificate(derEncoded: $0) }))
    if case .validCertificate = result { return true }
    Issue.record("validation failed: \(result)")
    return false
}

private struct TrustedLeafPolicy: VerifierPolicy {
    let verifyingCriticalExtensions: [ASN1ObjectIdentifier] = [
        .X509ExtensionID.basicConstraints, .X509ExtensionID.keyUsage, .X509ExtensionID.subjectAlternativeName,
    ]

    func chainMeetsPolicyRequirements(chain: UnverifiedCertificateChain) async -> PolicyEvaluationResult {
        let now = Date()
        for certificate in chain where !(certificate.notValidBefore <= now && now < certificate.notValidAfter) {
            return .failsToMeetPolicy(reason: "\(certificate.subject) is not valid now")
        }
        return .meetsPolicy
    }
}

/// Runs the `openssl` CLI with `arguments` and `input` on stdin; `nil` when the CLI is not installed.
func runOpenSSL(_ arguments: [String], input: [UInt8]) throws -> (status: Int32, output: String)? {
    let candidates = ["/usr/bin/openssl", "/usr/local/bin/openssl", "/opt/homebrew/bin/openssl"]
    guard let path = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else { return nil }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    let stdin = Pipe()
    let stdout = Pipe()
    process.standardInput = stdin
    process.standardOutput = stdout
    process.standardError = stdout
    try process.run()
    stdin.fileHandleForWriting.write(Data(input))
    try stdin.fileHandleForWriting.close()
    let output = stdout.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: output, as: UTF8.self))
}

func derEncoded(_ element: some DERSerializable) throws -> [UInt8] {
    var serializer = DER.Serializer()
    try serializer.serialize(element)
    return serializer.serializedBytes
}
