import CPKCS11
import CoffreCrypto
import Synchronization

/// Keys that live and work only inside a PKCS#11 token: RSA (2048, 3072, 4096) and EC (P-256, P-384, P-521, and
/// P-256K where the module knows secp256k1) private keys and AES keys (`oct-HSM`, 128, 192 and 256 bits: a `CKK_AES`
/// object and its `CKK_GENERIC_SECRET` twin for HMAC, see ``TokenKey``) are token objects, sensitive, used through the
/// module; Coffre keeps their reference and public part (``TokenKey``) and never their private bytes.
///
/// Objects: every private key is a token object (`CKA_TOKEN`, `CKA_PRIVATE`, `CKA_SENSITIVE`) with a random 16-byte
/// `CKA_ID` and the caller's `CKA_LABEL`; public key objects are session objects, destroyed once read. A key leaves the
/// token only wrapped:
/// - an `exportable` key is `CKA_EXTRACTABLE`, so that it can be released (wrapped to an attested runtime) and backed
///   up;
/// - any other key is `CKA_EXTRACTABLE` with `CKA_WRAP_WITH_TRUSTED` when the token holds a trusted backup wrapping key
///   (``Configuration/backupKeyLabel``, `CKA_TRUSTED`, which only the token's security officer can set): then only that
///   key can wrap it, for backups; without one, it is never extractable, and cannot be backed up. This is decided when
///   the key is made: the token will not change it later.
///
/// Calls run on a bounded pool of sessions (``Configuration/maximumSessions``) off the cooperative threads; a lost
/// device or session fails the call with the retryable ``CustodyFailure/unavailable(_:)``, and the next call reconnects
/// and logs in again.
public final class PKCS11Custody: KeyCustody {
    public struct Configuration: Sendable {
        /// The module's shared library (`libsofthsm2.so`, a vendor's `libcs_pkcs11_R3.so`…).
        public var modulePath: String
        /// The token's label (`CKA_LABEL` of the token, at most 32 bytes).
        public var tokenLabel: String
        /// The file holding the user PIN, read at each login.
        public var pinFile: String
        /// The most sessions open at once, hence the most calls into the module at once.
        public var maximumSessions: Int
        /// The label of the AES key that wraps hardware-key backups (a secret key object in the token).
        public var backupKeyLabel: String

        public init(modulePath: String, tokenLabel: String, pinFile: String, maximumSessions: Int = 8, backupKeyLabel: String = "coffre-backup") {
            self.modulePath = modulePath
            self.tokenLabel = tokenLabel
            self.pinFile = pinFile
            self.maximumSessions = maximumSessions
            self.backupKeyLabel = backupKeyLabel
        }
    }

    public let configuration: Configuration
    /// The first bytes of the `CKA_ID` of every object this custody makes (empty: none): which objects of a shared
    /// token belong to one Coffre installation (``owned(by:)``, ``ownedObjects()``).
    public let owner: [UInt8]
    private let pool: SessionPool
    /// Object handles by ``ObjectRole/cacheKey(_:)``: a handle stays valid in this application until the object is
    /// destroyed or the connection is lost (then the cache is emptied).
    let handles = Mutex<[[UInt8]: CK_OBJECT_HANDLE]>([:])
    /// Whether the module decrypts RSA-OAEP with SHA-256 itself: unknown until the first try (nil).
    private let moduleDecryptsOAEP256 = Mutex<Bool?>(nil)

    private init(configuration: Configuration, owner: [UInt8], pool: SessionPool) {
        self.configuration = configuration
        self.owner = owner
        self.pool = pool
    }

    /// This custody's token and sessions, making objects whose `CKA_ID` starts with `owner` (an installation's tag),
    /// so that ``ownedObjects()`` tells them from other installations' objects in the same token.
    public func owned(by owner: [UInt8]) -> PKCS11Custody {
        PKCS11Custody(configuration: configuration, owner: owner, pool: pool)
    }

    /// A new object's `CKA_ID`: the owner's tag, then 16 random bytes.
    func newObjectID() -> [UInt8] { owner + SecureRandom.bytes(16) }

    /// Loads the module, finds the token and logs in: a missing module or token, an unreadable PIN file or a wrong PIN
    /// fail here, with a clear ``CustodyFailure``.
    public static func open(_ configuration: Configuration) async throws -> PKCS11Custody {
        let executor = BlockingExecutor(label: "coffre.custody.pkcs11")
        let connection = try await executor.run {
            try TokenConnection(
                module: try PKCS11Module.load(path: configuration.modulePath), tokenLabel: configuration.tokenLabel,
                pinFile: PINFile(path: configuration.pinFile))
        }
        let pool = SessionPool(connection: connection, limit: max(configuration.maximumSessions, 1), executor: executor)
        let custody = PKCS11Custody(configuration: configuration, owner: [], pool: pool)
        try await custody.withSession { _ in }
        return custody
    }

    // MARK: - Generation and import

    public func generate(_ spec: KeySpec, policy: KeyPolicy, label: String) async throws -> CustodyKey {
        let objectID = newObjectID()
        switch spec.type.family {
        case .rsa:
            let (bits, exponent) = try RSALimits.generation(size: spec.size, publicExponent: spec.publicExponent)
            let exponentBytes = Array(withUnsafeBytes(of: UInt32(exponent).bigEndian, Array.init).drop { $0 == 0 })
            return try await withSession { session in
                let trusted = try self.backupKey(in: session)?.trusted ?? false
                let (publicObject, privateObject) = try session.generateKeyPair(
                    .plain(CKM_RSA_PKCS_KEY_PAIR_GEN),
                    publicTemplate: [
                        (CKA_TOKEN, .bool(false)), (CKA_MODULUS_BITS, .ulong(CK_ULONG(bits))), (CKA_PUBLIC_EXPONENT, .bytes(exponentBytes)),
                        (CKA_VERIFY, .bool(true)), (CKA_ENCRYPT, .bool(true)),
                    ],
                    privateTemplate: Self.privateKeyTemplate(objectID, label, policy, family: .rsa, trustedBackup: trusted))
                try? session.destroy(publicObject)
                return try self.finish(objectID, label, policy, privateObject, in: session) {
                    try self.rsaPublicKey(of: privateObject, type: spec.type, in: session)
                }
            }
        case .ec:
            guard !policy.keyExchange else { throw CryptoFailure.unsupported("a key-exchange key must be an RSA key") }
            let curve = try CurveName.chosen(curve: spec.curve, size: spec.size)
            return try await withSession { session in
                let trusted = try self.backupKey(in: session)?.trusted ?? false
                let (publicObject, privateObject) = try session.generateKeyPair(
                    .plain(CKM_EC_KEY_PAIR_GEN),
                    publicTemplate: [(CKA_TOKEN, .bool(false)), (CKA_EC_PARAMS, .bytes(curve.ecParameters)), (CKA_VERIFY, .bool(true))],
                    privateTemplate: Self.privateKeyTemplate(objectID, label, policy, family: .ec, trustedBackup: trusted))
                defer { try? session.destroy(publicObject) }
                return try self.finish(objectID, label, policy, privateObject, in: session) {
                    guard let point = try session.attribute(CKA_EC_POINT, of: publicObject) else {
                        throw CustodyFailure.moduleFailure("the module gave no public point for the generated key")
                    }
                    return try PublicKeyMaterial(spec.type, curve: curve, sec1Point: ECPointAttribute.sec1Point(point, curve: curve))
                }
            }
        case .oct:
            guard !policy.keyExchange else { throw CryptoFailure.unsupported("a key-exchange key must be an RSA key") }
            return try await generateSecret(spec.type, bits: try KeyMaterial.octGenerationBits(spec.size), policy: policy, label: label)
        }
    }

    /// Creates the private key object from the caller's key (its bytes came from the client; they stay in no Coffre
    /// store).
    public func importKey(_ material: KeyMaterial, policy: KeyPolicy, label: String) async throws -> CustodyKey {
        guard let publicKey = material.publicKey else { return try await importSecret(material, policy: policy, label: label) }
        let family = material.keyType.family
        let jwk = material.privateJWK()
        let components: AttributeTemplate
        if family == .rsa, let n = jwk.n, let e = jwk.e, let d = jwk.d, let p = jwk.p, let q = jwk.q, let dp = jwk.dp, let dq = jwk.dq,
            let qi = jwk.qi
        {
            components = [
                (CKA_KEY_TYPE, .ulong(CKK_RSA)), (CKA_MODULUS, .bytes(n)), (CKA_PUBLIC_EXPONENT, .bytes(e)), (CKA_PRIVATE_EXPONENT, .bytes(d)),
                (CKA_PRIME_1, .bytes(p)), (CKA_PRIME_2, .bytes(q)), (CKA_EXPONENT_1, .bytes(dp)), (CKA_EXPONENT_2, .bytes(dq)),
                (CKA_COEFFICIENT, .bytes(qi)),
            ]
        } else if family == .ec, let curve = material.curve, let d = jwk.d {
            components = [(CKA_KEY_TYPE, .ulong(CKK_EC)), (CKA_EC_PARAMS, .bytes(curve.ecParameters)), (CKA_VALUE, .bytes(d))]
        } else {
            throw CryptoFailure.invalidKey("the key has no private components to import")
        }
        let objectID = newObjectID()
        return try await withSession { session in
            let trusted = try self.backupKey(in: session)?.trusted ?? false
            let object = try session.create(
                components + Self.privateKeyTemplate(objectID, label, policy, family: family, trustedBackup: trusted))
            return try self.finish(objectID, label, policy, object, in: session) { publicKey }
        }
    }

    /// Unwraps the blob inside the module: the AES key with the key-exchange key (RSA-OAEP with SHA-1) as a session
    /// object, then the private key with it (RFC 5649) as a new token object. SoftHSM has no `CKM_RSA_AES_KEY_WRAP`;
    /// these two steps are that mechanism. The public part is read (RSA) or derived (EC: ECDH with the base point gives
    /// its x-coordinate), and one test signature checks it.
    public func importBYOK(
        _ ciphertext: [UInt8], keyExchangeKey: CustodyKey, type: KeyType, policy: KeyPolicy, label: String
    ) async throws -> CustodyKey {
        let kek = try tokenKey(keyExchangeKey)
        guard kek.policy.keyExchange, kek.keyType.family == .rsa else { throw CustodyFailure.notAKeyExchangeKey }
        guard type.family != .oct, !policy.keyExchange else {
            throw CryptoFailure.unsupported("a BYOK import brings an RSA or EC key that is not a key-exchange key")
        }
        let parts = try BYOKTransferBlob.split(ciphertext, modulusByteCount: kek.modulusByteCount)
        let objectID = newObjectID()
        return try await withSession(about: kek.label) { session in
            let aesKey = try self.usingKey(kek, .privateKey, in: session) { unwrappingKey in
                try Self.unwrapping {
                    try session.unwrap(
                        .rsaOAEP(hash: CKM_SHA_1, mgf: CKG_MGF1_SHA1), unwrappingKey: unwrappingKey, wrapped: parts.wrappedAESKey,
                        template: [
                            (CKA_CLASS, .ulong(CKO_SECRET_KEY)), (CKA_KEY_TYPE, .ulong(CKK_AES)), (CKA_TOKEN, .bool(false)),
                            (CKA_UNWRAP, .bool(true)), (CKA_SENSITIVE, .bool(true)), (CKA_EXTRACTABLE, .bool(false)),
                        ])
                }
            }
            defer { try? session.destroy(aesKey) }
            let trusted = try self.backupKey(in: session)?.trusted ?? false
            var template = Self.privateKeyTemplate(objectID, label, policy, family: type.family, trustedBackup: trusted)
            template.append(CKA_KEY_TYPE, .ulong(type.family == .rsa ? CKK_RSA : CKK_EC))
            // An EC key may derive until its public point is known (ECDH with the base point), then no more.
            if type.family == .ec { template.append(CKA_DERIVE, .bool(true)) }
            let object = try Self.unwrapping {
                try session.unwrap(.plain(CKM_AES_KEY_WRAP_PAD), unwrappingKey: aesKey, wrapped: parts.wrappedKey, template: template)
            }
            return try self.finish(objectID, label, policy, object, in: session) {
                let publicKey: PublicKeyMaterial
                if type.family == .rsa {
                    publicKey = try self.rsaPublicKey(of: object, type: type, in: session)
                    guard try self.signs(object, as: publicKey, in: session) else {
                        throw CustodyFailure.invalidBYOK("the unwrapped RSA key does not sign for its own public key")
                    }
                } else {
                    publicKey = try self.derivedECPublicKey(of: object, type: type, in: session)
                    try session.set([(CKA_DERIVE, .bool(false))], on: object)
                }
                return publicKey
            }
        }
    }

    // MARK: - Operations

    public func sign(_ key: CustodyKey, algorithm: String, digest: [UInt8]) async throws -> [UInt8] {
        let key = try tokenKey(key)
        guard key.publicKey != nil else { return try await hmac(key, algorithm: algorithm, data: digest) }
        let scheme = try SignatureScheme(algorithm)
        try scheme.check(algorithm, keyType: key.keyType, curve: key.curve, rsaByteCount: key.rsaByteCount, digest: digest)
        let (mechanism, input, capacity): (Mechanism, [UInt8], Int) =
            switch scheme {
            case .rsaPKCS1(let hash): (.plain(CKM_RSA_PKCS), hash.digestInfoPrefix + digest, key.modulusByteCount)
            case .rsaPSS(let hash):
                (.rsaPSS(hash: hash.mechanisms.hash, mgf: hash.mechanisms.mgf, saltLength: hash.byteCount), digest, key.modulusByteCount)
            case .rsaNull: (.plain(CKM_RSA_PKCS), digest, key.modulusByteCount)
            case .ecdsa(let curve): (.plain(CKM_ECDSA), digest, 2 * curve.coordinateByteCount)
            case .hmac: throw CryptoFailure.unsupported("\(algorithm) cannot be used with an \(key.keyType.rawValue) key")
            }
        return try await withSession(about: key.label) { session in
            try self.usingKey(key, .privateKey, in: session) { try session.sign(mechanism, key: $0, input: input, capacity: capacity) }
        }
    }

    public func verify(_ key: CustodyKey, algorithm: String, digest: [UInt8], signature: [UInt8]) async throws -> Bool {
        let key = try tokenKey(key)
        guard let publicKey = key.publicKey else { return try await verifyHMAC(key, algorithm: algorithm, data: digest, signature: signature) }
        return try publicKey.verify(algorithm, digest: digest, signature: signature)
    }

    public func encrypt(
        _ key: CustodyKey, algorithm: String, plaintext: [UInt8], iv: [UInt8]?, additionalData: [UInt8]?
    ) async throws -> EncryptionResult {
        let key = try tokenKey(key)
        guard let publicKey = key.publicKey else {
            return try await encryptAES(key, algorithm: algorithm, plaintext: plaintext, iv: iv, additionalData: additionalData)
        }
        return EncryptionResult(ciphertext: try publicKey.encrypt(algorithm, plaintext: plaintext))
    }

    public func decrypt(
        _ key: CustodyKey, algorithm: String, ciphertext: [UInt8], iv: [UInt8]?, additionalData: [UInt8]?,
        authenticationTag: [UInt8]?
    ) async throws -> [UInt8] {
        let key = try tokenKey(key)
        guard key.publicKey != nil else {
            return try await decryptAES(
                key, algorithm: algorithm, ciphertext: ciphertext, iv: iv, additionalData: additionalData, authenticationTag: authenticationTag)
        }
        return try await rsaDecrypt(key, algorithm: algorithm, ciphertext: ciphertext, wrapping: false)
    }

    public func wrapKey(_ key: CustodyKey, algorithm: String, keyToWrap: [UInt8]) async throws -> [UInt8] {
        let key = try tokenKey(key)
        guard let publicKey = key.publicKey else { return try await wrapAES(key, algorithm: algorithm, keyToWrap: keyToWrap) }
        return try publicKey.encrypt(algorithm, plaintext: keyToWrap)
    }

    public func unwrapKey(_ key: CustodyKey, algorithm: String, wrappedKey: [UInt8]) async throws -> [UInt8] {
        let key = try tokenKey(key)
        guard key.publicKey != nil else { return try await unwrapAES(key, algorithm: algorithm, wrappedKey: wrappedKey) }
        return try await rsaDecrypt(key, algorithm: algorithm, ciphertext: wrappedKey, wrapping: true)
    }

    /// RSA1_5 (`CKM_RSA_PKCS`), RSA-OAEP (`CKM_RSA_PKCS_OAEP`, SHA-1) and RSA-OAEP-256: OAEP with SHA-256 in the module
    /// when it takes those parameters, else a raw RSA decryption (`CKM_RSA_X_509`) in the module and the OAEP decoding
    /// here (SoftHSM refuses SHA-256 OAEP parameters). Every failure to decrypt is `authenticationFailed`.
    private func rsaDecrypt(_ key: TokenKey, algorithm: String, ciphertext: [UInt8], wrapping: Bool) async throws -> [UInt8] {
        let scheme = try CipherScheme(algorithm)
        try scheme.check(algorithm, keyType: key.keyType, wrapping: wrapping)
        guard case .rsa(let padding) = scheme else {
            throw CryptoFailure.unsupported("\(algorithm) cannot be used with an \(key.keyType.rawValue) key")
        }
        let k = key.modulusByteCount
        guard ciphertext.count == k else {
            throw CryptoFailure.invalidInput("\(algorithm) needs a \(k)-byte ciphertext with this key, got \(ciphertext.count)")
        }
        let native = moduleDecryptsOAEP256.withLock { $0 }
        return try await withSession(about: key.label) { session in
            try self.usingKey(key, .privateKey, in: session) { object in
                try Self.decrypting {
                    switch padding {
                    case .pkcs1v15:
                        return try session.decrypt(.plain(CKM_RSA_PKCS), key: object, ciphertext: ciphertext, capacity: k)
                    case .oaepSHA1:
                        return try session.decrypt(.rsaOAEP(hash: CKM_SHA_1, mgf: CKG_MGF1_SHA1), key: object, ciphertext: ciphertext, capacity: k)
                    case .oaepSHA256:
                        if native != false {
                            do {
                                let plaintext = try session.decrypt(
                                    .rsaOAEP(hash: CKM_SHA256, mgf: CKG_MGF1_SHA256), key: object, ciphertext: ciphertext, capacity: k)
                                if native == nil { self.moduleDecryptsOAEP256.withLock { $0 = true } }
                                return plaintext
                            } catch let error as PKCS11Error where error.isMechanismRefused && native == nil {
                                self.moduleDecryptsOAEP256.withLock { $0 = false }
                            }
                        }
                        let raw = try session.decrypt(.plain(CKM_RSA_X_509), key: object, ciphertext: ciphertext, capacity: k)
                        guard raw.count <= k, let message = OAEPDecoding.decodeSHA256([UInt8](repeating: 0, count: k - raw.count) + raw)
                        else { throw CryptoFailure.authenticationFailed }
                        return message
                    }
                }
            }
        }
    }

    // MARK: - Release, backup, restore, destroy

    /// Wraps the key inside the module: an AES-256 session key generated there, wrapped to the runtime key (a session
    /// object) with RSA-OAEP, and the private key wrapped with it. For `RSA_AES_KEY_WRAP_256` on a module that does not
    /// wrap with SHA-256 OAEP (SoftHSM), the AES key is drawn here, imported as a session object, and wrapped to the
    /// runtime key in software; it is never stored.
    public func release(_ key: CustodyKey, to runtimeKey: PublicKeyMaterial, encryption: ReleaseEncryption) async throws -> [UInt8] {
        let key = try tokenKey(key)
        guard key.policy.exportable else { throw CustodyFailure.notExtractable }
        let runtime = runtimeKey.jwk
        guard runtimeKey.keyType.family == .rsa, let n = runtime.n, let e = runtime.e else {
            throw CryptoFailure.unsupported("a key is released to an RSA key")
        }
        let oaep = encryption == .rsaAESKeyWrap ? HashKind.sha1.mechanisms : HashKind.sha256.mechanisms
        let aesTemplate: AttributeTemplate = [
            (CKA_CLASS, .ulong(CKO_SECRET_KEY)), (CKA_KEY_TYPE, .ulong(CKK_AES)), (CKA_TOKEN, .bool(false)), (CKA_WRAP, .bool(true)),
            (CKA_EXTRACTABLE, .bool(true)), (CKA_SENSITIVE, .bool(true)),
        ]
        return try await withSession(about: key.label) { session in
            let runtimeObject = try session.create([
                (CKA_CLASS, .ulong(CKO_PUBLIC_KEY)), (CKA_KEY_TYPE, .ulong(CKK_RSA)), (CKA_TOKEN, .bool(false)), (CKA_WRAP, .bool(true)),
                (CKA_ENCRYPT, .bool(true)), (CKA_MODULUS, .bytes(n)), (CKA_PUBLIC_EXPONENT, .bytes(e)),
            ])
            defer { try? session.destroy(runtimeObject) }
            var aesKey = try session.generateKey(.plain(CKM_AES_KEY_GEN), template: aesTemplate + [(CKA_VALUE_LEN, .ulong(32))])
            defer { try? session.destroy(aesKey) }
            var wrappedAESKey: [UInt8]
            do {
                wrappedAESKey = try session.wrap(.rsaOAEP(hash: oaep.hash, mgf: oaep.mgf), wrappingKey: runtimeObject, key: aesKey)
            } catch let error as PKCS11Error where error.isMechanismRefused && encryption == .rsaAESKeyWrap256 {
                try? session.destroy(aesKey)
                let value = SecureRandom.bytes(32)
                aesKey = try session.create(aesTemplate + [(CKA_VALUE, .bytes(value))])
                wrappedAESKey = try runtimeKey.encrypt(encryption.oaepAlgorithm, plaintext: value)
            }
            let wrappedKey = try self.usingKey(key, key.wrappedRole, in: session) { object in
                try session.wrap(.plain(CKM_AES_KEY_WRAP_PAD), wrappingKey: aesKey, key: object)
            }
            return wrappedAESKey + wrappedKey
        }
    }

    /// The private key wrapped (RFC 5649) by the token's backup wrapping key, with the public part and policy to restore
    /// it: only a token holding the same wrapping key can restore it.
    public func backup(_ key: CustodyKey) async throws -> [UInt8] {
        let key = try tokenKey(key)
        let backupKeyLabel = configuration.backupKeyLabel
        return try await withSession(about: key.label) { session in
            guard let wrappingKey = try self.backupKey(in: session) else { throw CustodyFailure.backupKeyMissing(label: backupKeyLabel) }
            let wrapped = try self.usingKey(key, key.wrappedRole, in: session) { object in
                try session.wrap(.plain(CKM_AES_KEY_WRAP_PAD), wrappingKey: wrappingKey.handle, key: object)
            }
            return TokenBackup(shape: key.shape, policy: key.policy, wrappedKey: wrapped).encoded
        }
    }

    /// Unwraps a backup into a new token object named `label`, and checks it is the key the backup describes.
    public func restore(_ backup: [UInt8], label: String) async throws -> CustodyKey {
        let backup = try TokenBackup(encoded: backup)
        guard case .keyPair(let publicKey) = backup.shape else { return try await restoreSecret(backup, label: label) }
        let family = publicKey.keyType.family
        let backupKeyLabel = configuration.backupKeyLabel
        let objectID = newObjectID()
        return try await withSession { session in
            guard let wrappingKey = try self.backupKey(in: session) else { throw CustodyFailure.backupKeyMissing(label: backupKeyLabel) }
            var template = Self.privateKeyTemplate(objectID, label, backup.policy, family: family, trustedBackup: wrappingKey.trusted)
            template.append(CKA_KEY_TYPE, .ulong(family == .rsa ? CKK_RSA : CKK_EC))
            let object: CK_OBJECT_HANDLE
            do {
                object = try session.unwrap(
                    .plain(CKM_AES_KEY_WRAP_PAD), unwrappingKey: wrappingKey.handle, wrapped: backup.wrappedKey, template: template)
            } catch let error as PKCS11Error where error.isRejectedInput {
                throw CustodyFailure.backupNotRestorable("it was made under another backup wrapping key, or altered")
            }
            return try self.finish(objectID, label, backup.policy, object, in: session) {
                let matches =
                    family == .rsa
                    ? try self.rsaPublicKey(of: object, type: publicKey.keyType, in: session).jwk == publicKey.jwk
                    : try self.signs(object, as: publicKey, in: session)
                guard matches else { throw CustodyFailure.backupNotRestorable("the key in it is not the key it describes") }
                return publicKey
            }
        }
    }

    /// Destroys every object with the key's `CKA_ID`.
    /// An object of another installation (a copy made by whole-server restore onto the same token still refers to the
    /// original's objects) is left alone: only its own installation destroys it.
    public func destroy(_ key: CustodyKey) async throws {
        let key = try tokenKey(key)
        guard key.objectID.starts(with: owner) else { return }
        try await destroyObjects(id: key.objectID, about: key.label)
    }

    /// A private key object this custody made (its `CKA_ID` starts with ``owner``), as the token lists it.
    public struct OwnedObject: Sendable, Hashable {
        public let objectID: [UInt8]
        public let label: String
    }

    /// Every key in the token whose objects' `CKA_ID` starts with ``owner``: what a sweep compares with the
    /// references Coffre keeps, to find objects nothing refers to any more.
    public func ownedObjects() async throws -> [OwnedObject] {
        let owner = owner
        let backupKeyLabel = Array(configuration.backupKeyLabel.utf8)
        return try await withSession { session in
            var objects: [OwnedObject] = []
            let handles = try session.findAll([(CKA_CLASS, .ulong(CKO_PRIVATE_KEY))]) + session.findAll([(CKA_CLASS, .ulong(CKO_SECRET_KEY))])
            for handle in handles {
                do {
                    guard let id = try session.attribute(CKA_ID, of: handle), id.count > owner.count, id.starts(with: owner) else { continue }
                    let label = try session.attribute(CKA_LABEL, of: handle) ?? []
                    // The backup wrapping key is the token's, not a key's; an AES key's two objects are one key.
                    guard label != backupKeyLabel, !objects.contains(where: { $0.objectID == id }) else { continue }
                    objects.append(OwnedObject(objectID: id, label: String(decoding: label, as: UTF8.self)))
                } catch let error as PKCS11Error where error.isHandleInvalid {
                    // Destroyed since it was found (a purge meanwhile): nothing to sweep.
                    continue
                }
            }
            return objects
        }
    }

    /// Destroys every object with this `CKA_ID` (an object another call destroyed meanwhile is not an error).
    public func destroyObjects(id objectID: [UInt8], about label: String? = nil) async throws {
        try await withSession(about: label) { session in
            for object in try session.find([(CKA_ID, .bytes(objectID))], limit: 8) {
                do {
                    try session.destroy(object)
                } catch let error as PKCS11Error where error.isHandleInvalid {
                    continue
                }
            }
            self.handles.withLock { handles in
                for role in ObjectRole.allCases { handles.removeValue(forKey: role.cacheKey(objectID)) }
            }
        }
    }

    /// Sessions open now (at most ``Configuration/maximumSessions``).
    func openSessionCount() -> Int { pool.openSessions }

    // MARK: - Templates

    /// The attributes of every private key object Coffre makes; see the type's documentation for extractability.
    private static func privateKeyTemplate(
        _ objectID: [UInt8], _ label: String, _ policy: KeyPolicy, family: KeyType.Family, trustedBackup: Bool
    ) -> AttributeTemplate {
        var template: AttributeTemplate = [
            (CKA_CLASS, .ulong(CKO_PRIVATE_KEY)), (CKA_TOKEN, .bool(true)), (CKA_PRIVATE, .bool(true)), (CKA_SENSITIVE, .bool(true)),
            (CKA_EXTRACTABLE, .bool(policy.exportable || trustedBackup)),
            (CKA_WRAP_WITH_TRUSTED, .bool(!policy.exportable && trustedBackup)), (CKA_ID, .bytes(objectID)),
            (CKA_LABEL, .bytes(Array(label.utf8))), (CKA_SIGN, .bool(!policy.keyExchange)),
        ]
        if family == .rsa {
            template.append(CKA_DECRYPT, .bool(!policy.keyExchange))
            template.append(CKA_UNWRAP, .bool(policy.keyExchange))
        }
        return template
    }

    // MARK: - Helpers

    private func tokenKey(_ key: CustodyKey) throws -> TokenKey {
        guard case .token(let key) = key else {
            throw CustodyFailure.operationNotPermitted("the key is a software key, not an object of this token")
        }
        return key
    }

    /// Runs `body` with a pooled session, turning module failures into custody failures (a lost connection also
    /// empties the handle cache). `label` names the key the call is about.
    func withSession<T: Sendable>(about label: String? = nil, _ body: @escaping @Sendable (PKCS11Session) throws -> T) async throws -> T {
        do {
            return try await pool.withSession(body)
        } catch let error as PKCS11Error {
            if error.isConnectionLost { handles.withLock { $0.removeAll() } }
            throw error.custodyFailure(label: label)
        }
    }

    /// Runs `body` with the handle of the key's object in `role`: the cached one, or found by `CKA_ID`. A cached handle
    /// that the module no longer knows is forgotten and the object looked up once more.
    func usingKey<T>(_ key: TokenKey, _ role: ObjectRole, in session: PKCS11Session, _ body: (CK_OBJECT_HANDLE) throws -> T) throws -> T {
        let cacheKey = role.cacheKey(key.objectID)
        if let cached = handles.withLock({ $0[cacheKey] }) {
            do {
                return try body(cached)
            } catch let error as PKCS11Error where error.isHandleInvalid {
                handles.withLock { _ = $0.removeValue(forKey: cacheKey) }
            }
        }
        guard let found = try session.find(role.template + [(CKA_ID, .bytes(key.objectID))], limit: 1).first else {
            throw CustodyFailure.keyNotFound(label: key.label)
        }
        handles.withLock { $0[cacheKey] = found }
        return try body(found)
    }

    /// The token's backup wrapping key, and whether it is trusted (`CKA_TRUSTED`); `nil` when there is none.
    func backupKey(in session: PKCS11Session) throws -> (handle: CK_OBJECT_HANDLE, trusted: Bool)? {
        let found = try session.find(
            [(CKA_CLASS, .ulong(CKO_SECRET_KEY)), (CKA_LABEL, .bytes(Array(configuration.backupKeyLabel.utf8)))], limit: 1)
        guard let handle = found.first else { return nil }
        return (handle, try session.bool(CKA_TRUSTED, of: handle) ?? false)
    }

    /// The ``TokenKey`` of a new private object once `publicKey` gives its public part; if that fails, the object is
    /// destroyed, so nothing is left half-made.
    private func finish(
        _ objectID: [UInt8], _ label: String, _ policy: KeyPolicy, _ object: CK_OBJECT_HANDLE, in session: PKCS11Session,
        publicKey: () throws -> PublicKeyMaterial
    ) throws -> CustodyKey {
        do {
            let key = TokenKey(objectID: objectID, label: label, publicKey: try publicKey(), policy: policy)
            handles.withLock { $0[ObjectRole.privateKey.cacheKey(objectID)] = object }
            return .token(key)
        } catch {
            try? session.destroy(object)
            throw error
        }
    }

    /// `CKA_MODULUS` and `CKA_PUBLIC_EXPONENT` of an RSA private key object.
    private func rsaPublicKey(of object: CK_OBJECT_HANDLE, type: KeyType, in session: PKCS11Session) throws -> PublicKeyMaterial {
        guard let n = try session.attribute(CKA_MODULUS, of: object), let e = try session.attribute(CKA_PUBLIC_EXPONENT, of: object) else {
            throw CustodyFailure.moduleFailure("the module does not give the RSA key's modulus and exponent")
        }
        return try PublicKeyMaterial(jwk: JsonWebKey(kty: type, n: n, e: e))
    }

    /// The public point of an EC private key object that came without one: ECDH with the curve's base point gives the
    /// x-coordinate of d·G; of the two points with that x, the one a test signature verifies with is the key's.
    private func derivedECPublicKey(of object: CK_OBJECT_HANDLE, type: KeyType, in session: PKCS11Session) throws -> PublicKeyMaterial {
        guard let parameters = try session.attribute(CKA_EC_PARAMS, of: object), let curve = CurveName(ecParameters: parameters) else {
            throw CustodyFailure.invalidBYOK("the wrapped key's curve is not one Coffre supports")
        }
        let width = curve.coordinateByteCount
        let secret = try session.derive(
            .ecdh(publicPoint: curve.generatorPoint), baseKey: object,
            template: [
                (CKA_CLASS, .ulong(CKO_SECRET_KEY)), (CKA_KEY_TYPE, .ulong(CKK_GENERIC_SECRET)), (CKA_TOKEN, .bool(false)),
                (CKA_SENSITIVE, .bool(false)), (CKA_EXTRACTABLE, .bool(true)), (CKA_VALUE_LEN, .ulong(CK_ULONG(width))),
            ])
        defer { try? session.destroy(secret) }
        guard let x = try session.attribute(CKA_VALUE, of: secret), x.count == width else {
            throw CustodyFailure.moduleFailure("the module did not derive the EC key's public point")
        }
        for prefix: UInt8 in [0x02, 0x03] {
            if let candidate = try? PublicKeyMaterial(type, curve: curve, sec1Point: [prefix] + x), try signs(object, as: candidate, in: session) {
                return candidate
            }
        }
        throw CustodyFailure.invalidBYOK("the unwrapped EC key does not sign for its own public point")
    }

    /// Whether the object signs a random digest so that `publicKey` verifies it (RS256, or the curve's ECDSA).
    private func signs(_ object: CK_OBJECT_HANDLE, as publicKey: PublicKeyMaterial, in session: PKCS11Session) throws -> Bool {
        if let curve = publicKey.curve {
            let digest = SecureRandom.bytes(try SignatureScheme(curve.signatureAlgorithm).digestByteCount ?? 32)
            let signature = try session.sign(.plain(CKM_ECDSA), key: object, input: digest, capacity: 2 * curve.coordinateByteCount)
            return try publicKey.verify(curve.signatureAlgorithm, digest: digest, signature: signature)
        }
        let digest = SecureRandom.bytes(32)
        let capacity = ((publicKey.sizeInBits ?? 4096) + 7) / 8
        let signature = try session.sign(.plain(CKM_RSA_PKCS), key: object, input: HashKind.sha256.digestInfoPrefix + digest, capacity: capacity)
        return try publicKey.verify("RS256", digest: digest, signature: signature)
    }

    /// An unwrap whose wrapped input does not unwrap (altered, or for another key) is an invalid BYOK blob.
    private static func unwrapping<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as PKCS11Error where error.isRejectedInput {
            throw BYOKTransferBlob.notUnwrappable
        } catch let error as PKCS11Error where error.value == CKR_KEY_FUNCTION_NOT_PERMITTED {
            throw CustodyFailure.notAKeyExchangeKey
        }
    }

    /// A decryption whose ciphertext does not decrypt is `authenticationFailed`, whatever the module says of it.
    static func decrypting<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as PKCS11Error where error.isRejectedInput {
            throw CryptoFailure.authenticationFailed
        }
    }
}

extension TokenKey {
    var modulusByteCount: Int { ((publicKey?.sizeInBits ?? 0) + 7) / 8 }
    var rsaByteCount: Int? { publicKey?.sizeInBits.map { ($0 + 7) / 8 } }
    /// The object a release or a backup wraps: the private key, or the AES object of a secret key.
    var wrappedRole: ObjectRole { publicKey == nil ? .aes : .privateKey }
}

/// Which of a key's objects a call uses: a key pair's private key, or one of a secret key's two objects.
enum ObjectRole: UInt8, CaseIterable {
    case privateKey
    /// `CKK_AES`: encryption and key wrapping.
    case aes
    /// `CKK_GENERIC_SECRET` of the same value: HMAC.
    case hmac

    /// What finds the object besides its `CKA_ID`.
    var template: AttributeTemplate {
        switch self {
        case .privateKey: [(CKA_CLASS, .ulong(CKO_PRIVATE_KEY))]
        case .aes: [(CKA_CLASS, .ulong(CKO_SECRET_KEY)), (CKA_KEY_TYPE, .ulong(CKK_AES))]
        case .hmac: [(CKA_CLASS, .ulong(CKO_SECRET_KEY)), (CKA_KEY_TYPE, .ulong(CKK_GENERIC_SECRET))]
        }
    }

    /// The handle cache's key of the object: the `CKA_ID` and the role.
    func cacheKey(_ objectID: [UInt8]) -> [UInt8] { objectID + [rawValue] }
}
