import CoffreKeyCustody
import CoffreModel
import Foundation

/// How a Coffre server is set up. The non-secret part is kept in `coffre.json` in the data directory, so that
/// `coffre env` and the other commands find the running server.
public struct ServerConfiguration: Codable, Sendable, Equatable {
    /// The address to listen on; loopback unless an operator opens it up.
    public var bind: String = "127.0.0.1"
    public var port: Int = 8443
    /// The port clients use, when a proxy or port mapping sits in front (defaults to `port`).
    public var publicPort: Int?
    /// Vaults live at `https://{vault}.{zone}:{port}`; the first zone is the one printed.
    public var vaultZones: [String] = ["vault.localhost"]
    public var hsmZones: [String] = ["managedhsm.localhost"]
    /// Storage accounts of the Blob service live at `https://{account}.{zone}:{port}`; the first zone is the one printed.
    /// `blob.core.localhost` also answers by default: the Python client reads the account name from a key credential's
    /// host only when it has `.blob.core.`, and takes a `localhost` host without `.core.` for the emulator's path-style
    /// URLs in `BlobClient.from_blob_url`.
    public var blobZones: [String] = ["blob.localhost", "blob.core.localhost"]
    /// The host of the token service in URLs clients use (`https://{authorityHost}:{port}`).
    public var authorityHost: String = "localhost"
    /// The vault created on first start and reached through the bare host.
    public var defaultVault: String = "default"
    /// The tenant of this server, set on first start.
    public var tenantId: String?
    /// Where audit records go: a file path (default `audit.log` in the data directory) or `-` for standard output.
    public var auditLog: String?
    /// Further OpenID Connect issuers whose tokens are accepted (a real Entra ID tenant, Keycloak, …).
    public var trustedIssuers: [TrustedIssuerConfiguration] = []
    /// The storage: `nil` or `sqlite` for the data directory's SQLite file, or a `postgres://` URL. A URL with a
    /// password is better given in the `COFFRE_STORAGE` environment variable than kept in this file.
    public var storage: String?
    /// Connections to PostgreSQL per node.
    public var storagePoolSize: Int?
    /// Where certificate `EmailContacts` notifications are POSTed as JSON (they also go to the audit log).
    public var notificationWebhook: String?
    /// How the root key is obtained at start; `nil` means the key file.
    public var seal: SealSettings?
    /// The other Key Vault that unwraps the root key (seal type `autounseal`).
    public var autoUnseal: AutoUnsealSettings?
    /// The operator's own TLS certificate chain and key (PEM files). Needed when the server starts sealed; otherwise
    /// Coffre issues its TLS certificate from its CA at each start.
    public var tlsCertificateFile: String?
    public var tlsKeyFile: String?
    /// At most this many requests per vault (or Managed HSM pool) per 10 seconds, as Key Vault limits them; more are
    /// answered 429 `Throttled` with `Retry-After`. `nil`: no limit.
    public var requestLimit: Int?
    /// Seconds a connection may stay without a complete request (idle, or sending its headers too slowly) before it is
    /// closed (default 60).
    public var idleTimeout: Int?
    /// Connections served at once; beyond, new ones wait to be accepted (default: 10,000, or fewer when the open-file
    /// limit is lower).
    public var maxConnections: Int?
    /// The PKCS#11 module (shared library) whose token keeps the `-HSM` keys, the token's label, and the file holding
    /// the user PIN (read at each login; the PIN itself is never kept here, logged, or stored anywhere else). All three,
    /// or none: without a module, `-HSM` keys are software keys (development).
    public var pkcs11Module: String?
    public var pkcs11TokenLabel: String?
    public var pkcs11PinFile: String?
    /// Development mode (`coffre serve --dev`): time travel and fault injection. Never kept in `coffre.json`, so a
    /// server is in development mode only when started so.
    public var development = false
    /// An ephemeral server (`coffre serve --ephemeral`): in memory, nothing on disk, tokens signed with ES256 (an RSA
    /// key would take longer to make than the whole start may). Never kept either.
    public var ephemeral = false

    public init() {}

    enum CodingKeys: String, CodingKey {
        case bind, port, publicPort, vaultZones, hsmZones, blobZones, authorityHost, defaultVault, tenantId, auditLog, trustedIssuers, seal
        case tlsCertificateFile, tlsKeyFile, notificationWebhook, storage, storagePoolSize, autoUnseal, requestLimit, idleTimeout
        case maxConnections
        case pkcs11Module, pkcs11TokenLabel, pkcs11PinFile
    }

    /// Settings files from older versions lack newer keys: every key is optional.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = ServerConfiguration()
        bind = try container.decodeIfPresent(String.self, forKey: .bind) ?? defaults.bind
        port = try container.decodeIfPresent(Int.self, forKey: .port) ?? defaults.port
        publicPort = try container.decodeIfPresent(Int.self, forKey: .publicPort)
        vaultZones = try container.decodeIfPresent([String].self, forKey: .vaultZones) ?? defaults.vaultZones
        hsmZones = try container.decodeIfPresent([String].self, forKey: .hsmZones) ?? defaults.hsmZones
        blobZones = try container.decodeIfPresent([String].self, forKey: .blobZones) ?? defaults.blobZones
        authorityHost = try container.decodeIfPresent(String.self, forKey: .authorityHost) ?? defaults.authorityHost
        defaultVault = try container.decodeIfPresent(String.self, forKey: .defaultVault) ?? defaults.defaultVault
        tenantId = try container.decodeIfPresent(String.self, forKey: .tenantId)
        auditLog = try container.decodeIfPresent(String.self, forKey: .auditLog)
        trustedIssuers = try container.decodeIfPresent([TrustedIssuerConfiguration].self, forKey: .trustedIssuers) ?? []
        seal = try container.decodeIfPresent(SealSettings.self, forKey: .seal)
        tlsCertificateFile = try container.decodeIfPresent(String.self, forKey: .tlsCertificateFile)
        tlsKeyFile = try container.decodeIfPresent(String.self, forKey: .tlsKeyFile)
        notificationWebhook = try container.decodeIfPresent(String.self, forKey: .notificationWebhook)
        storage = try container.decodeIfPresent(String.self, forKey: .storage)
        storagePoolSize = try container.decodeIfPresent(Int.self, forKey: .storagePoolSize)
        autoUnseal = try container.decodeIfPresent(AutoUnsealSettings.self, forKey: .autoUnseal)
        requestLimit = try container.decodeIfPresent(Int.self, forKey: .requestLimit)
        idleTimeout = try container.decodeIfPresent(Int.self, forKey: .idleTimeout)
        maxConnections = try container.decodeIfPresent(Int.self, forKey: .maxConnections)
        pkcs11Module = try container.decodeIfPresent(String.self, forKey: .pkcs11Module)
        pkcs11TokenLabel = try container.decodeIfPresent(String.self, forKey: .pkcs11TokenLabel)
        pkcs11PinFile = try container.decodeIfPresent(String.self, forKey: .pkcs11PinFile)
    }

    public var effectivePublicPort: Int { publicPort ?? port }

    /// The token that keeps `-HSM` keys, when a module is configured.
    public var pkcs11: PKCS11Custody.Configuration? {
        guard let pkcs11Module, let pkcs11TokenLabel, let pkcs11PinFile else { return nil }
        return PKCS11Custody.Configuration(modulePath: pkcs11Module, tokenLabel: pkcs11TokenLabel, pinFile: pkcs11PinFile)
    }

    /// The PostgreSQL URL when `storage` names one (`postgres://` or `postgresql://`); `nil` means SQLite.
    public var postgresURL: String? {
        guard let storage, storage.hasPrefix("postgres://") || storage.hasPrefix("postgresql://") else { return nil }
        return storage
    }

    public var authority: String {
        effectivePublicPort == 443 ? "https://\(authorityHost)" : "https://\(authorityHost):\(effectivePublicPort)"
    }

    /// The token audience of a zone: `https://{zone}[:{port}]`.
    public func resource(forZone zone: String) -> String {
        effectivePublicPort == 443 ? "https://\(zone)" : "https://\(zone):\(effectivePublicPort)"
    }

    public func vaultURL(_ name: String) -> String {
        let host = "\(name).\(vaultZones.first ?? "vault.localhost")"
        return effectivePublicPort == 443 ? "https://\(host)" : "https://\(host):\(effectivePublicPort)"
    }

    /// The Blob service endpoint of a storage account (`https://{account}.blob.localhost:8443/`).
    public func blobURL(_ account: String) -> String {
        let host = "\(account).\(blobZones.first ?? "blob.localhost")"
        return (effectivePublicPort == 443 ? "https://\(host)" : "https://\(host):\(effectivePublicPort)") + "/"
    }

    /// Validates zones, ports and names before anything is started.
    public func validated() throws -> ServerConfiguration {
        guard (1...65535).contains(port), (1...65535).contains(effectivePublicPort) else {
            throw CoffreError.badParameter("The port must be between 1 and 65535.")
        }
        for (flag, value) in [("--request-limit", requestLimit), ("--idle-timeout", idleTimeout), ("--max-connections", maxConnections)] {
            if let value, value < 1 { throw CoffreError.badParameter("\(flag) must be at least 1.") }
        }
        guard !vaultZones.isEmpty else { throw CoffreError.badParameter("At least one vault zone is needed.") }
        guard !blobZones.isEmpty else { throw CoffreError.badParameter("At least one Blob zone is needed.") }
        for zone in vaultZones + hsmZones + blobZones where zone.isEmpty || zone.hasPrefix(".") || zone.contains("/") || zone.contains(":") {
            throw CoffreError.badParameter("'\(zone)' is not a DNS zone (write it like vault.example.com).")
        }
        _ = try VaultName(defaultVault)
        let pkcs11 = [pkcs11Module, pkcs11TokenLabel, pkcs11PinFile]
        guard pkcs11.allSatisfy({ $0 == nil }) || pkcs11.allSatisfy({ !($0 ?? "").isEmpty }) else {
            throw CoffreError.badParameter(
                "A PKCS#11 token needs all three of --pkcs11-module, --pkcs11-token-label and --pkcs11-pin-file "
                    + "(or COFFRE_PKCS11_MODULE, COFFRE_PKCS11_TOKEN_LABEL, COFFRE_PKCS11_PIN_FILE).")
        }
        var copy = self
        copy.vaultZones = vaultZones.map { $0.lowercased() }
        copy.hsmZones = hsmZones.map { $0.lowercased() }
        copy.blobZones = blobZones.map { $0.lowercased() }
        return copy
    }
}

/// A trusted external token issuer.
public struct TrustedIssuerConfiguration: Codable, Sendable, Equatable {
    /// The exact `iss` claim of its tokens.
    public var issuer: String
    /// Its keys: an `https://` JWKS URL (fetched at start and when a token names an unknown key) or a JWKS file path.
    public var jwks: String
    /// The audiences accepted from it (`https://vault.azure.net`, `api://coffre`, …).
    public var audiences: [String]
    /// The tenant given to callers whose tokens carry no `tid` claim (default: the issuer URL).
    public var tenantId: String?

    public init(issuer: String, jwks: String, audiences: [String], tenantId: String? = nil) {
        self.issuer = issuer
        self.jwks = jwks
        self.audiences = audiences
        self.tenantId = tenantId
    }

    /// Reads `issuer=URL,jwks=URL-or-file,audience=A[,audience=B][,tenant=T]` (the `--trusted-issuer` flag).
    public init(parsing text: String) throws {
        var fields: [String: [String]] = [:]
        for part in text.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2 else {
                throw CoffreError.badParameter("--trusted-issuer expects issuer=…,jwks=…,audience=…; '\(part)' is not key=value.")
            }
            fields[pair[0].lowercased(), default: []].append(pair[1])
        }
        guard let issuer = fields["issuer"]?.first, let jwks = fields["jwks"]?.first, let audiences = fields["audience"] else {
            throw CoffreError.badParameter("--trusted-issuer needs issuer=…, jwks=… and at least one audience=….")
        }
        self.init(issuer: issuer, jwks: jwks, audiences: audiences, tenantId: fields["tenant"]?.first)
    }
}

/// The root key's protection. `shamir`: split into shares, `threshold` of which unseal a starting server.
public struct SealSettings: Codable, Sendable, Equatable {
    public var type: String
    public var shares: Int?
    public var threshold: Int?

    public init(type: String, shares: Int? = nil, threshold: Int? = nil) {
        self.type = type
        self.shares = shares
        self.threshold = threshold
    }

    public static let keyFile = "keyfile"
    public static let shamir = "shamir"
    public static let autoUnseal = "autounseal"
}
