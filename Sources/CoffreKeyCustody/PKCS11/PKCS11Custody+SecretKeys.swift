import CPKCS11
import CoffreCrypto
import Synchronization

/// `oct-HSM` keys in the token: AES-GCM, AES-CBC (with and without PKCS#7 padding), AES key wrap (RFC 3394, and RFC
/// 5649 on the module's AES-ECB: ``KeyWrapWithPadding``) and HMAC run in the module, after the same checks as a software key's (``CipherScheme``), so a request gets the
/// same answer wherever its key lives.
///
/// A key is two objects of one value under one `CKA_ID` (``ObjectRole``): PKCS#11's HMAC mechanisms take a
/// `CKK_GENERIC_SECRET`, its AES mechanisms a `CKK_AES`. A generated value reaches both without leaving the module: it
/// is generated as a session object, wrapped by a transient session key, and unwrapped twice into the token; then both
/// session objects are destroyed. Only the AES object may be extractable (for release and backup, as decided for any
/// key); the HMAC object never is.
///
/// What a module refuses is said as such: SoftHSM2 computes HMAC only with keys at least as long as the hash (HS256
/// with 256-bit keys; HS384 and HS512 with no `oct` key size), and answers others with `CKR_KEY_SIZE_RANGE`.
extension PKCS11Custody {
    // MARK: - Making keys

    func generateSecret(_ type: KeyType, bits: Int, policy: KeyPolicy, label: String) async throws -> CustodyKey {
        let objectID = newObjectID()
        return try await withSession { session in
            let trusted = try self.backupKey(in: session)?.trusted ?? false
            let transport = try session.generateKey(
                .plain(CKM_AES_KEY_GEN),
                template: Self.transientAES + [(CKA_WRAP, .bool(true)), (CKA_UNWRAP, .bool(true)), (CKA_VALUE_LEN, .ulong(32))])
            defer { try? session.destroy(transport) }
            let value = try session.generateKey(
                .plain(CKM_AES_KEY_GEN), template: Self.transientAES + [(CKA_EXTRACTABLE, .bool(true)), (CKA_VALUE_LEN, .ulong(CK_ULONG(bits / 8)))])
            defer { try? session.destroy(value) }
            let wrapped = try session.wrap(.plain(CKM_AES_KEY_WRAP), wrappingKey: transport, key: value)
            return try self.makeSecret(type, bits: bits, objectID, label, policy, trustedBackup: trusted, in: session) { template in
                try session.unwrap(.plain(CKM_AES_KEY_WRAP), unwrappingKey: transport, wrapped: wrapped, template: template)
            }
        }
    }

    /// Creates the key's objects from the caller's key (its bytes came from the client; they stay in no Coffre store).
    func importSecret(_ material: KeyMaterial, policy: KeyPolicy, label: String) async throws -> CustodyKey {
        guard let value = material.privateJWK().k, let bits = material.sizeInBits else {
            throw CryptoFailure.invalidKey("the key has no private components to import")
        }
        let objectID = newObjectID()
        return try await withSession { session in
            let trusted = try self.backupKey(in: session)?.trusted ?? false
            return try self.makeSecret(material.keyType, bits: bits, objectID, label, policy, trustedBackup: trusted, in: session) { template in
                try session.create(template + [(CKA_VALUE, .bytes(value))])
            }
        }
    }

    /// Unwraps a secret key's backup twice with the token's backup wrapping key: its AES and HMAC objects.
    func restoreSecret(_ backup: TokenBackup, label: String) async throws -> CustodyKey {
        guard case .secret(let type, let bits) = backup.shape else { throw CustodyFailure.backupNotRestorable("it is not a secret key backup") }
        let backupKeyLabel = configuration.backupKeyLabel
        let objectID = newObjectID()
        return try await withSession { session in
            guard let wrappingKey = try self.backupKey(in: session) else { throw CustodyFailure.backupKeyMissing(label: backupKeyLabel) }
            return try self.makeSecret(type, bits: bits, objectID, label, backup.policy, trustedBackup: wrappingKey.trusted, in: session) {
                template in
                do {
                    return try session.unwrap(
                        .plain(CKM_AES_KEY_WRAP_PAD), unwrappingKey: wrappingKey.handle, wrapped: backup.wrappedKey, template: template)
                } catch let error as PKCS11Error where error.isRejectedInput {
                    throw CustodyFailure.backupNotRestorable("it was made under another backup wrapping key, or altered")
                }
            }
        }
    }

    /// The AES object then the HMAC object, each made by `make` from its template; if anything fails, what was made is
    /// destroyed.
    private func makeSecret(
        _ type: KeyType, bits: Int, _ objectID: [UInt8], _ label: String, _ policy: KeyPolicy, trustedBackup: Bool, in session: PKCS11Session,
        make: (AttributeTemplate) throws -> CK_OBJECT_HANDLE
    ) throws -> CustodyKey {
        let aes = try make(Self.secretKeyTemplate(objectID, label, policy, role: .aes, trustedBackup: trustedBackup))
        var hmac: CK_OBJECT_HANDLE?
        do {
            hmac = try make(Self.secretKeyTemplate(objectID, label, policy, role: .hmac, trustedBackup: trustedBackup))
        } catch {
            try? session.destroy(aes)
            if let hmac { try? session.destroy(hmac) }
            throw error
        }
        handles.withLock {
            $0[ObjectRole.aes.cacheKey(objectID)] = aes
            $0[ObjectRole.hmac.cacheKey(objectID)] = hmac
        }
        return .token(TokenKey(objectID: objectID, label: label, shape: .secret(type, bits: bits), policy: policy))
    }

    /// A secret key object of the token: the AES object is extractable as any key is (``privateKeyTemplate``'s rule),
    /// the HMAC object never.
    private static func secretKeyTemplate(
        _ objectID: [UInt8], _ label: String, _ policy: KeyPolicy, role: ObjectRole, trustedBackup: Bool
    ) -> AttributeTemplate {
        var template: AttributeTemplate = [
            (CKA_TOKEN, .bool(true)), (CKA_PRIVATE, .bool(true)), (CKA_SENSITIVE, .bool(true)), (CKA_ID, .bytes(objectID)),
            (CKA_LABEL, .bytes(Array(label.utf8))),
        ]
        if role == .aes {
            template =
                template + role.template + [
                    (CKA_ENCRYPT, .bool(true)), (CKA_DECRYPT, .bool(true)), (CKA_WRAP, .bool(true)), (CKA_UNWRAP, .bool(true)),
                    (CKA_EXTRACTABLE, .bool(policy.exportable || trustedBackup)), (CKA_WRAP_WITH_TRUSTED, .bool(!policy.exportable && trustedBackup)),
                ]
        } else {
            template = template + role.template + [(CKA_SIGN, .bool(true)), (CKA_VERIFY, .bool(true)), (CKA_EXTRACTABLE, .bool(false))]
        }
        return template
    }

    /// A session AES key, sensitive: the transient keys of a generation.
    private static let transientAES: AttributeTemplate = [
        (CKA_CLASS, .ulong(CKO_SECRET_KEY)), (CKA_KEY_TYPE, .ulong(CKK_AES)), (CKA_TOKEN, .bool(false)), (CKA_SENSITIVE, .bool(true)),
    ]

    /// A session object holding the bytes a client wraps or unwraps (they are the request's and the answer's).
    private static let transientValue: AttributeTemplate = [
        (CKA_CLASS, .ulong(CKO_SECRET_KEY)), (CKA_KEY_TYPE, .ulong(CKK_GENERIC_SECRET)), (CKA_TOKEN, .bool(false)),
        (CKA_SENSITIVE, .bool(false)), (CKA_EXTRACTABLE, .bool(true)),
    ]

    // MARK: - HMAC

    func hmac(_ key: TokenKey, algorithm: String, data: [UInt8]) async throws -> [UInt8] {
        let (mechanism, hash) = try Self.hmacMechanism(key, algorithm: algorithm, data: data)
        return try await withSession(about: key.label) { session in
            try Self.refusingHMAC(key, algorithm) {
                try self.usingKey(key, .hmac, in: session) { try session.sign(.plain(mechanism), key: $0, input: data, capacity: hash.byteCount) }
            }
        }
    }

    func verifyHMAC(_ key: TokenKey, algorithm: String, data: [UInt8], signature: [UInt8]) async throws -> Bool {
        let (mechanism, _) = try Self.hmacMechanism(key, algorithm: algorithm, data: data)
        return try await withSession(about: key.label) { session in
            try Self.refusingHMAC(key, algorithm) {
                try self.usingKey(key, .hmac, in: session) { try session.verify(.plain(mechanism), key: $0, input: data, signature: signature) }
            }
        }
    }

    private static func hmacMechanism(_ key: TokenKey, algorithm: String, data: [UInt8]) throws -> (CK_MECHANISM_TYPE, HashKind) {
        let scheme = try SignatureScheme(algorithm)
        try scheme.check(algorithm, keyType: key.keyType, curve: nil, rsaByteCount: nil, digest: data)
        guard case .hmac(let hash) = scheme else { throw CryptoFailure.unsupported("\(algorithm) needs an HMAC key") }
        let mechanism =
            switch hash {
            case .sha1: CKM_SHA_1_HMAC
            case .sha256: CKM_SHA256_HMAC
            case .sha384: CKM_SHA384_HMAC
            case .sha512: CKM_SHA512_HMAC
            }
        return (mechanism, hash)
    }

    /// An HMAC the module will not compute with this key (SoftHSM: a key shorter than the hash) is the client's 400,
    /// saying so, not a module failure.
    private static func refusingHMAC<T>(_ key: TokenKey, _ algorithm: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as PKCS11Error
            where ["C_SignInit", "C_VerifyInit"].contains(error.function)
            && [CKR_KEY_SIZE_RANGE, CKR_KEY_TYPE_INCONSISTENT, CKR_MECHANISM_INVALID].contains(error.value)
        {
            throw CryptoFailure.unsupported("the PKCS#11 module does not compute \(algorithm) with a \(key.sizeInBits ?? 0)-bit key")
        }
    }

    // MARK: - AES

    func encryptAES(_ key: TokenKey, algorithm: String, plaintext: [UInt8], iv: [UInt8]?, additionalData: [UInt8]?) async throws
        -> EncryptionResult
    {
        let scheme = try Self.cipherScheme(key, algorithm, wrapping: false)
        let iv = try scheme.checkedEncryption(
            algorithm, keyByteCount: key.byteCount, plaintext: plaintext, iv: iv, additionalData: additionalData)
        let mechanism = try Self.mechanism(scheme, iv: iv, additionalData: additionalData)
        let output = try await withSession(about: key.label) { session in
            try self.usingKey(key, .aes, in: session) {
                try session.encrypt(mechanism, key: $0, plaintext: plaintext, capacity: plaintext.count + CipherScheme.blockByteCount)
            }
        }
        guard case .aesGCM = scheme else { return EncryptionResult(ciphertext: output, iv: iv) }
        let tagLength = CipherScheme.gcmTagByteCount
        guard output.count >= tagLength else { throw CustodyFailure.moduleFailure("the module gave an AES-GCM ciphertext without its tag") }
        return EncryptionResult(ciphertext: Array(output.dropLast(tagLength)), iv: iv, authenticationTag: Array(output.suffix(tagLength)))
    }

    /// Every failure to decrypt a well-formed input is `authenticationFailed`.
    func decryptAES(
        _ key: TokenKey, algorithm: String, ciphertext: [UInt8], iv: [UInt8]?, additionalData: [UInt8]?, authenticationTag: [UInt8]?
    ) async throws -> [UInt8] {
        let scheme = try Self.cipherScheme(key, algorithm, wrapping: false)
        let (iv, tag) = try scheme.checkedDecryption(
            algorithm, keyByteCount: key.byteCount, ciphertext: ciphertext, iv: iv, additionalData: additionalData,
            authenticationTag: authenticationTag)
        let mechanism = try Self.mechanism(scheme, iv: iv, additionalData: additionalData)
        // PKCS#11 AES-GCM takes the tag at the end of the ciphertext.
        let input = ciphertext + (tag ?? [])
        return try await withSession(about: key.label) { session in
            try self.usingKey(key, .aes, in: session) { object in
                try Self.decrypting { try session.decrypt(mechanism, key: object, ciphertext: input, capacity: max(input.count, 1)) }
            }
        }
    }

    /// RFC 3394 (`A*KW`, `CKM_AES_KEY_WRAP`): the client's key to wrap becomes a session object, which the key's AES
    /// object wraps (`C_WrapKey`), then is destroyed. RFC 5649 (`CKM_AES_KEY_WRAP_PAD`): on the AES object's
    /// `CKM_AES_ECB` (``KeyWrapWithPadding``).
    func wrapAES(_ key: TokenKey, algorithm: String, keyToWrap: [UInt8]) async throws -> [UInt8] {
        let scheme = try Self.cipherScheme(key, algorithm, wrapping: true)
        try scheme.checkWrap(algorithm, keyByteCount: key.byteCount, keyToWrap: keyToWrap)
        return try await withSession(about: key.label) { session in
            try self.usingKey(key, .aes, in: session) { object in
                if scheme == .aesKeyWrapPad {
                    return try session.withAESBlocks(encrypting: true, key: object) { try KeyWrapWithPadding.wrap(keyToWrap, encrypt: $0) }
                }
                let transient = try session.create(Self.transientValue + [(CKA_VALUE, .bytes(keyToWrap))])
                defer { try? session.destroy(transient) }
                return try session.wrap(.plain(CKM_AES_KEY_WRAP), wrappingKey: object, key: transient)
            }
        }
    }

    /// RFC 3394: unwrapped (`C_UnwrapKey`) into a session object, whose value is the answer; the object is destroyed.
    /// RFC 5649: on `CKM_AES_ECB`, as ``wrapAES(_:algorithm:keyToWrap:)``. Every failure of the integrity check is
    /// `authenticationFailed`.
    func unwrapAES(_ key: TokenKey, algorithm: String, wrappedKey: [UInt8]) async throws -> [UInt8] {
        let scheme = try Self.cipherScheme(key, algorithm, wrapping: true)
        try scheme.checkUnwrap(algorithm, keyByteCount: key.byteCount, wrappedKey: wrappedKey)
        return try await withSession(about: key.label) { session in
            try self.usingKey(key, .aes, in: session) { object in
                if scheme == .aesKeyWrapPad {
                    let unwrapped = try session.withAESBlocks(encrypting: false, key: object) {
                        try KeyWrapWithPadding.unwrap(wrappedKey, decrypt: $0)
                    }
                    guard let unwrapped else { throw CryptoFailure.authenticationFailed }
                    return unwrapped
                }
                let transient = try Self.decrypting {
                    try session.unwrap(.plain(CKM_AES_KEY_WRAP), unwrappingKey: object, wrapped: wrappedKey, template: Self.transientValue)
                }
                defer { try? session.destroy(transient) }
                guard let value = try session.attribute(CKA_VALUE, of: transient) else {
                    throw CustodyFailure.moduleFailure("the module does not give the value it unwrapped")
                }
                return value
            }
        }
    }

    private static func cipherScheme(_ key: TokenKey, _ algorithm: String, wrapping: Bool) throws -> CipherScheme {
        let scheme = try CipherScheme(algorithm)
        try scheme.check(algorithm, keyType: key.keyType, wrapping: wrapping)
        return scheme
    }

    private static func mechanism(_ scheme: CipherScheme, iv: [UInt8], additionalData: [UInt8]?) throws -> Mechanism {
        switch scheme {
        case .aesGCM: return .aesGCM(iv: iv, additionalData: additionalData ?? [])
        case .aesCBC(_, let padded): return .withIV(padded ? CKM_AES_CBC_PAD : CKM_AES_CBC, iv: iv)
        case .rsa, .aesKeyWrap, .aesKeyWrapPad: throw CryptoFailure.unsupported("this algorithm does not encrypt with an oct key")
        }
    }
}

extension TokenKey {
    /// A secret key's length in bytes.
    var byteCount: Int { (sizeInBits ?? 0) / 8 }
}
