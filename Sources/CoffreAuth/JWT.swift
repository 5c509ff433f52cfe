import CoffreCrypto
import Foundation

/// The claims Coffre puts in (and reads from) an access token, named as Entra ID names them.
public struct TokenClaims: Codable, Sendable, Equatable {
    public var aud: String
    public var iss: String
    public var iat: Int64
    public var nbf: Int64
    public var exp: Int64
    public var sub: String
    public var oid: String
    public var tid: String
    public var appid: String?
    public var azp: String?
    /// How the app authenticated: "1" client secret, "2" certificate, "0" managed identity / none.
    public var appidacr: String?
    public var idtyp: String?
    public var ver: String?
    /// A unique token id.
    public var uti: String?
    /// A person's tokens: their user principal name, display name and the delegated scope.
    public var upn: String?
    public var unique_name: String?
    public var name: String?
    public var scp: String?
    /// The object ids of the groups the principal is in (through nested groups), as Entra ID's `groups` claim: at most
    /// `groupsLimit`; with more, `hasgroups` says so instead. Coffre itself reads memberships from its directory.
    public var groups: [String]?
    public var hasgroups: Bool?

    /// Entra ID's limit of group ids in a JWT.
    public static let groupsLimit = 200

    public mutating func setGroups(_ ids: [String]) {
        guard !ids.isEmpty else { return }
        if ids.count <= Self.groupsLimit { groups = ids } else { hasgroups = true }
    }

    public init(
        aud: String, iss: String, iat: Int64, nbf: Int64, exp: Int64, sub: String, oid: String, tid: String,
        appid: String?, appidacr: String?, uti: String?
    ) {
        self.aud = aud
        self.iss = iss
        self.iat = iat
        self.nbf = nbf
        self.exp = exp
        self.sub = sub
        self.oid = oid
        self.tid = tid
        self.appid = appid
        self.azp = appid
        self.appidacr = appidacr
        self.idtyp = "app"
        self.ver = "1.0"
        self.uti = uti
    }
}

/// The claims of an OpenID Connect id token, as MSAL reads them (the account's name, object id and tenant).
public struct IDTokenClaims: Codable, Sendable, Equatable {
    public var aud: String
    public var iss: String
    public var iat: Int64
    public var nbf: Int64
    public var exp: Int64
    public var sub: String
    public var oid: String
    public var tid: String
    public var preferred_username: String
    public var upn: String
    public var name: String
    public var nonce: String?
    public var ver = "2.0"
}

/// Compact JWS (RFC 7515), signed with RS256 (or ES256 on ephemeral servers).
public enum JWT {
    public struct Header: Codable, Sendable {
        public var alg: String
        public var typ: String?
        public var kid: String?
        public var x5t: String?
        public var x5tS256: String?
        /// Where the signer's JWKS is published (attestation tokens name it).
        public var jku: String?

        enum CodingKeys: String, CodingKey {
            case alg, typ, kid, x5t, jku
            case x5tS256 = "x5t#S256"
        }
    }

    /// A JWT signed by `key`; `jku` names the URL of the signer's JWKS, when given.
    public static func sign(_ claims: some Encodable, key: TokenSigningKey, kid: String, jku: String? = nil) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let header = Header(alg: key.algorithm, typ: "JWT", kid: kid, x5t: jku == nil ? kid : nil, x5tS256: nil, jku: jku)
        let signingInput =
            Base64.urlEncoded(Array(try encoder.encode(header))) + "." + Base64.urlEncoded(Array(try encoder.encode(claims)))
        let signature = try key.sign(Array(signingInput.utf8))
        return signingInput + "." + Base64.urlEncoded(signature)
    }

    /// A token split into its parts; nothing is verified yet.
    public struct Parsed: Sendable {
        public var header: Header
        public var payload: [UInt8]
        public var signingInput: [UInt8]
        public var signature: [UInt8]

        public func claims<T: Decodable>(as type: T.Type) throws -> T {
            try JSONDecoder().decode(type, from: Data(payload))
        }
    }

    public static func parse(_ token: String) -> Parsed? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3,
            let headerBytes = Base64.decode(parts[0]),
            let header = try? JSONDecoder().decode(Header.self, from: Data(headerBytes)),
            let payload = Base64.decode(parts[1]),
            let signature = Base64.decode(parts[2])
        else { return nil }
        return Parsed(
            header: header, payload: payload, signingInput: Array(token.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count)),
            signature: signature)
    }
}
