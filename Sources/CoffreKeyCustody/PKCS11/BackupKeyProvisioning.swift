import CPKCS11

extension PKCS11Custody {
    /// Creates the token's backup wrapping key as its security officer: an AES-256 key labelled
    /// ``Configuration/backupKeyLabel``, `CKA_TRUSTED` (which only the security officer can set), sensitive and never
    /// extractable. Keys Coffre makes afterwards in this token can be backed up under it (`CKA_WRAP_WITH_TRUSTED`) even
    /// when they are not exportable; such backups restore only into a token holding the same key.
    ///
    /// - Parameters:
    ///   - soPINFile: the file holding the security officer's PIN (read like the user PIN file, never kept).
    ///   - value: the key's 32 bytes, for tokens that must share it (two tokens given the same value restore each
    ///     other's backups); `nil` generates it inside the token, where it stays.
    public static func createBackupKey(_ configuration: Configuration, soPINFile: String, value: [UInt8]? = nil) throws {
        try makeBackupKey(configuration, pinFile: PINFile(path: soPINFile), asSecurityOfficer: true, value: value)
    }

    /// ``createBackupKey(_:soPINFile:value:)``, or as the user (then the key is not trusted, and only exportable keys can
    /// be backed up under it).
    static func makeBackupKey(_ configuration: Configuration, pinFile: PINFile, asSecurityOfficer: Bool, value: [UInt8]?) throws {
        if let value, value.count != 32 {
            throw CustodyFailure.moduleFailure("a backup wrapping key is 32 bytes (AES-256), not \(value.count)")
        }
        do {
            let module = try PKCS11Module.load(path: configuration.modulePath)
            guard let slot = try module.slot(withTokenLabel: configuration.tokenLabel) else {
                throw CustodyFailure.tokenNotFound(label: configuration.tokenLabel)
            }
            let f = module.functions
            var handle: CK_SESSION_HANDLE = 0
            try ReturnValue.check(f.C_OpenSession!(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nil, nil, &handle), "C_OpenSession")
            let session = PKCS11Session(module: module, handle: handle)
            defer { session.close() }
            try pinFile.withPIN { pin in
                try ReturnValue.check(
                    f.C_Login!(handle, asSecurityOfficer ? CKU_SO : CKU_USER, pin.baseAddress, CK_ULONG(pin.count)), "C_Login")
            }
            defer { _ = f.C_Logout!(handle) }
            let label = Array(configuration.backupKeyLabel.utf8)
            guard try session.find([(CKA_CLASS, .ulong(CKO_SECRET_KEY)), (CKA_LABEL, .bytes(label))], limit: 1).isEmpty else {
                throw CustodyFailure.operationNotPermitted("the token already holds a key labelled '\(configuration.backupKeyLabel)'")
            }
            var template: AttributeTemplate = [
                (CKA_CLASS, .ulong(CKO_SECRET_KEY)), (CKA_KEY_TYPE, .ulong(CKK_AES)), (CKA_TOKEN, .bool(true)), (CKA_LABEL, .bytes(label)),
                (CKA_WRAP, .bool(true)), (CKA_UNWRAP, .bool(true)), (CKA_SENSITIVE, .bool(true)), (CKA_EXTRACTABLE, .bool(false)),
                (CKA_PRIVATE, .bool(!asSecurityOfficer)),
            ]
            if asSecurityOfficer { template.append(CKA_TRUSTED, .bool(true)) }
            if let value {
                _ = try session.create(template + [(CKA_VALUE, .bytes(value))])
            } else {
                _ = try session.generateKey(.plain(CKM_AES_KEY_GEN), template: template + [(CKA_VALUE_LEN, .ulong(32))])
            }
        } catch let error as PKCS11Error {
            throw error.custodyFailure()
        }
    }
}
