import CoffreCertificates
import CoffreCrypto
import CoffreJSON
import CoffreKeyCustody
import CoffreModel
import CoffreStorage
import Foundation

/// Coffre's key attestation (`GET /keys/{name}/{version}/attestation` on a pool, `attributes.attestation`): statements,
/// signed by the pool's attestation key, that a key version was generated (or imported) inside Coffre and that its
/// private half stays there unless the key is exportable.
///
/// - `certificatePemFile`: PEM text, the pool's attestation certificate (RSA 2048, `CN=Coffre Managed HSM key
///   attestation, OU={pool}, O=Coffre`) then the certificate of the Coffre CA that issued it.
/// - `privateKeyAttestation`: the bytes of a compact JWS (RS256) whose payload states the private half:
///   `{"typ":"coffre-private-key-attestation","version","pool","kid","kty","origin":"generated"|"imported",
///   "exportable","created","publicKeySha256"}` (`publicKeySha256`: base64url SHA-256 of the key's DER
///   SubjectPublicKeyInfo; absent for oct keys, which the statement names by `kid` alone).
/// - `publicKeyAttestation` (RSA and EC keys): a JWS whose payload binds the public key itself:
///   `{"typ":"coffre-public-key-attestation","version","pool","kid","kty","origin","jwk","publicKeySha256"}`.
/// - `version`: `1.0`, the version of this format.
///
/// Each JWS header is `{"alg":"RS256","typ":"JWT","x5t#S256": base64url SHA-256 of the attestation certificate}`.
/// The statements hold only what a key version keeps from its creation, and RS256 signatures are deterministic, so a
/// key version's attestation is the same bytes every time it is asked for (the SDK's live test checks this across an
/// update of the key's properties).
///
/// Verifying offline, trusting only Coffre's CA certificate (`ca.pem` in Coffre's data directory, never the copy in
/// the PEM file), with `JWS` the attestation's text (the SDKs hand out its bytes):
///
///     awk '/BEGIN CERTIFICATE/{n++} n==1' certificate.pem > attestation.pem   # the first certificate
///     openssl verify -CAfile ca.pem attestation.pem
///     openssl x509 -in attestation.pem -pubkey -noout > attestation-key.pem
///     b64url() { s=$(tr '_-' '/+'); while [ $(( ${#s} % 4 )) -ne 0 ]; do s="$s="; done; printf %s "$s" | base64 -d; }
///     printf %s "$JWS" | cut -d. -f1,2 | tr -d '\n' > signed.txt
///     printf %s "$JWS" | cut -d. -f3 | b64url > signature.bin
///     openssl dgst -sha256 -verify attestation-key.pem -signature signature.bin signed.txt   # "Verified OK"
///     printf %s "$JWS" | cut -d. -f2 | b64url   # the statement: compare kid, origin and publicKeySha256 with
///     openssl pkey -pubin -in key.pem -outform DER | openssl dgst -sha256 -binary | base64 | tr '+/' '-_' | tr -d =
///
/// or in Python with `cryptography`: `attestation = x509.load_pem_x509_certificates(pem)[0]`,
/// `attestation.verify_directly_issued_by(ca)`, then `attestation.public_key().verify(signature,
/// f"{header}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256())` and `json.loads` of the payload.
public struct KeyAttestation: Sendable, Equatable {
    public static let formatVersion = "1.0"

    public var certificatePemFile: String
    public var privateKeyAttestation: [UInt8]
    public var publicKeyAttestation: [UInt8]?
    public var version: String

    public enum Origin: String, Sendable, Codable {
        case generated
        case imported
    }

    /// What the statements say about a key version.
    public struct Subject: Sendable {
        /// The key version's identifier (`https://{pool host}/keys/{name}/{version}`).
        public var keyIdentifier: String
        public var keyType: KeyType
        public var origin: Origin
        /// The public JWK of an RSA or EC key; `nil` for oct keys.
        public var publicKey: JsonWebKey?
        public var exportable: Bool
        public var created: Int64

        public init(keyIdentifier: String, keyType: KeyType, origin: Origin, publicKey: JsonWebKey?, exportable: Bool, created: Int64) {
            self.keyIdentifier = keyIdentifier
            self.keyType = keyType
            self.origin = origin
            self.publicKey = publicKey
            self.exportable = exportable
            self.created = created
        }
    }

    struct Header: Encodable {
        var alg = "RS256"
        var typ = "JWT"
        var x5tS256: String

        enum CodingKeys: String, CodingKey {
            case alg, typ
            case x5tS256 = "x5t#S256"
        }
    }

    /// The payload of both statements; the private one leaves out `jwk`, the public one `exportable` and `created`.
    struct Statement: Encodable {
        var typ: String
        var version = KeyAttestation.formatVersion
        var pool: String
        var kid: String
        var kty: String
        var origin: Origin
        var exportable: Bool?
        var created: Int64?
        var jwk: JsonWebKey?
        var publicKeySha256: String?
    }
}

/// Issues key attestations for a pool with its attestation key (made, and certified by Coffre's CA, on first use): an
/// RSA-HSM key of the custody, so with a PKCS#11 module it is a token object and signs there.
public struct ManagedHSMKeyAttestation: Sendable {
    let storage: any StorageBackend
    let clock: any WallClock
    let issuer: CertificateIssuer
    let custody: RoutingCustody

    /// `issuer` certifies the pools' attestation keys (Coffre's CA); `custody` makes and uses them (the pools' keys').
    public init(
        storage: any StorageBackend, clock: any WallClock, issuer: CertificateIssuer, custody: RoutingCustody = RoutingCustody(hardware: nil)
    ) {
        self.storage = storage
        self.clock = clock
        self.issuer = issuer
        self.custody = custody
    }

    public func attest(_ subject: KeyAttestation.Subject, in pool: ManagedHSMName) async throws -> KeyAttestation {
        let signer = try await PoolCertifiedKey.load(
            .attestation, of: pool, storage: storage, issuer: issuer, now: Date(timeIntervalSince1970: TimeInterval(clock.now)), custody: custody)
        let publicKey = try subject.publicKey.map { jwk -> (jwk: JsonWebKey, sha256: String) in
            let material = try PublicKeyMaterial(jwk: jwk)
            return (material.jwk, Base64.urlEncoded(Digest.sha256(try material.subjectPublicKeyInfoDER)))
        }
        let header = KeyAttestation.Header(x5tS256: Base64.urlEncoded(signer.thumbprint))
        let privateStatement = KeyAttestation.Statement(
            typ: "coffre-private-key-attestation", pool: pool.value, kid: subject.keyIdentifier, kty: subject.keyType.rawValue,
            origin: subject.origin, exportable: subject.exportable, created: subject.created,
            publicKeySha256: publicKey?.sha256)
        let publicStatement = publicKey.map {
            KeyAttestation.Statement(
                typ: "coffre-public-key-attestation", pool: pool.value, kid: subject.keyIdentifier, kty: subject.keyType.rawValue,
                origin: subject.origin, jwk: $0.jwk, publicKeySha256: $0.sha256)
        }
        var publicKeyAttestation: [UInt8]?
        if let publicStatement { publicKeyAttestation = try await sign(publicStatement, header: header, with: signer.key) }
        let chain = CertificateBundle(privateKeyPKCS8DER: nil, certificates: [signer.certificateDER, issuer.certificateDER]).pem()
        return KeyAttestation(
            certificatePemFile: chain, privateKeyAttestation: try await sign(privateStatement, header: header, with: signer.key),
            publicKeyAttestation: publicKeyAttestation,
            version: KeyAttestation.formatVersion)
    }

    /// A key version of the pool (its latest version when `version` is nil or empty) with the statements about it;
    /// `url` is the pool's URL as the client wrote it, which names the version (`{url}/keys/{name}/{version}`).
    public func attest(_ keys: KeyService, name: String, version: String?, in pool: ManagedHSMName, url: String) async throws
        -> (key: Versioned<KeyVersion>, attestation: KeyAttestation)
    {
        let key = try await keys.get(in: try VaultName(pool.value), name: name, version: version)
        let record = key.record
        let subject = KeyAttestation.Subject(
            keyIdentifier: "\(url)/keys/\(key.name)/\(record.version)", keyType: record.keyType,
            origin: record.imported == true ? .imported : .generated, publicKey: record.keyType.family == .oct ? nil : record.publicKey,
            exportable: record.exportable ?? false, created: record.attributes.created)
        return (key, try await attest(subject, in: pool))
    }

    /// The compact JWS of `payload`, as bytes of its text, signed by the custody.
    func sign(_ payload: some Encodable, header: KeyAttestation.Header, with key: CustodyKey) async throws -> [UInt8] {
        let signingInput = [try StreamingJSONEncoder.encode(header), try StreamingJSONEncoder.encode(payload)]
            .map { Base64.urlEncoded($0) }.joined(separator: ".")
        let signature = try await custody.sign(key, algorithm: "RS256", digest: Digest.sha256(Array(signingInput.utf8)))
        return Array((signingInput + "." + Base64.urlEncoded(signature)).utf8)
    }
}
