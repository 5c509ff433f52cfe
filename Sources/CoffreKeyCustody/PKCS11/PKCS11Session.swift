import CPKCS11

/// One open session of a module, with the calls a custody makes, each checked (a failure throws ``PKCS11Error``).
/// A session is used by one task at a time (the ``SessionPool`` sees to it); the module's own locking covers the rest.
struct PKCS11Session {
    let module: PKCS11Module
    let handle: CK_SESSION_HANDLE

    private var f: CK_FUNCTION_LIST { module.functions }

    // MARK: - Session state

    /// Whether the session runs as the logged-in user (login state is shared by all sessions of the application).
    var isUserLoggedIn: Bool {
        get throws {
            var info = CK_SESSION_INFO()
            try ReturnValue.check(f.C_GetSessionInfo!(handle, &info), "C_GetSessionInfo")
            return info.state == CKS_RW_USER_FUNCTIONS || info.state == CKS_RO_USER_FUNCTIONS
        }
    }

    /// Logs the user in with the PIN in `pin` (already logged in is fine).
    func login(pin: UnsafeMutableBufferPointer<UInt8>) throws {
        let result = f.C_Login!(handle, CKU_USER, pin.baseAddress, CK_ULONG(pin.count))
        guard result != CKR_USER_ALREADY_LOGGED_IN else { return }
        try ReturnValue.check(result, "C_Login")
    }

    func close() {
        _ = f.C_CloseSession!(handle)
    }

    // MARK: - Objects

    /// The handles of the objects that match every attribute of `template`, at most `limit`.
    func find(_ template: AttributeTemplate, limit: Int = 4) throws -> [CK_OBJECT_HANDLE] {
        try template.withAttributes { attributes, count in
            try ReturnValue.check(f.C_FindObjectsInit!(handle, attributes, count), "C_FindObjectsInit")
        }
        defer { _ = f.C_FindObjectsFinal!(handle) }
        var found = [CK_OBJECT_HANDLE](repeating: 0, count: limit)
        var count: CK_ULONG = 0
        try ReturnValue.check(f.C_FindObjects!(handle, &found, CK_ULONG(limit), &count), "C_FindObjects")
        return Array(found.prefix(Int(count)))
    }

    /// The handles of every object that matches `template`, however many (read in batches).
    func findAll(_ template: AttributeTemplate) throws -> [CK_OBJECT_HANDLE] {
        try template.withAttributes { attributes, count in
            try ReturnValue.check(f.C_FindObjectsInit!(handle, attributes, count), "C_FindObjectsInit")
        }
        defer { _ = f.C_FindObjectsFinal!(handle) }
        var all: [CK_OBJECT_HANDLE] = []
        var batch = [CK_OBJECT_HANDLE](repeating: 0, count: 256)
        while true {
            var count: CK_ULONG = 0
            try ReturnValue.check(f.C_FindObjects!(handle, &batch, CK_ULONG(batch.count), &count), "C_FindObjects")
            all += batch.prefix(Int(count))
            if Int(count) < batch.count { return all }
        }
    }

    func create(_ template: AttributeTemplate) throws -> CK_OBJECT_HANDLE {
        var object: CK_OBJECT_HANDLE = 0
        try template.withAttributes { attributes, count in
            try ReturnValue.check(f.C_CreateObject!(handle, attributes, count, &object), "C_CreateObject")
        }
        return object
    }

    func destroy(_ object: CK_OBJECT_HANDLE) throws {
        try ReturnValue.check(f.C_DestroyObject!(handle, object), "C_DestroyObject")
    }

    /// An attribute's value; `nil` when the object has no such attribute or will not reveal it.
    func attribute(_ type: CK_ATTRIBUTE_TYPE, of object: CK_OBJECT_HANDLE) throws -> [UInt8]? {
        var attribute = CK_ATTRIBUTE(type: type, pValue: nil, ulValueLen: 0)
        let sized = f.C_GetAttributeValue!(handle, object, &attribute, 1)
        if sized == CKR_ATTRIBUTE_SENSITIVE || sized == CKR_ATTRIBUTE_TYPE_INVALID { return nil }
        try ReturnValue.check(sized, "C_GetAttributeValue")
        // CK_UNAVAILABLE_INFORMATION, (CK_ULONG)-1, a macro Swift does not import.
        guard attribute.ulValueLen != CK_ULONG.max else { return nil }
        var value = [UInt8](repeating: 0, count: Int(attribute.ulValueLen))
        try value.withUnsafeMutableBytes { buffer in
            attribute.pValue = buffer.baseAddress
            try ReturnValue.check(f.C_GetAttributeValue!(handle, object, &attribute, 1), "C_GetAttributeValue")
        }
        return Array(value.prefix(Int(attribute.ulValueLen)))
    }

    func bool(_ type: CK_ATTRIBUTE_TYPE, of object: CK_OBJECT_HANDLE) throws -> Bool? {
        try attribute(type, of: object).map { $0.first.map { $0 != 0 } ?? false }
    }

    func set(_ template: AttributeTemplate, on object: CK_OBJECT_HANDLE) throws {
        try template.withAttributes { attributes, count in
            try ReturnValue.check(f.C_SetAttributeValue!(handle, object, attributes, count), "C_SetAttributeValue")
        }
    }

    // MARK: - Keys

    func generateKeyPair(
        _ mechanism: Mechanism, publicTemplate: AttributeTemplate, privateTemplate: AttributeTemplate
    ) throws -> (publicKey: CK_OBJECT_HANDLE, privateKey: CK_OBJECT_HANDLE) {
        var publicKey: CK_OBJECT_HANDLE = 0
        var privateKey: CK_OBJECT_HANDLE = 0
        try mechanism.withMechanism { mechanism in
            try publicTemplate.withAttributes { publicAttributes, publicCount in
                try privateTemplate.withAttributes { privateAttributes, privateCount in
                    try ReturnValue.check(
                        f.C_GenerateKeyPair!(
                            handle, mechanism, publicAttributes, publicCount, privateAttributes, privateCount, &publicKey, &privateKey),
                        "C_GenerateKeyPair")
                }
            }
        }
        return (publicKey, privateKey)
    }

    func generateKey(_ mechanism: Mechanism, template: AttributeTemplate) throws -> CK_OBJECT_HANDLE {
        try newObject("C_GenerateKey", mechanism, template) { f.C_GenerateKey!(handle, $0, $1, $2, $3) }
    }

    func wrap(_ mechanism: Mechanism, wrappingKey: CK_OBJECT_HANDLE, key: CK_OBJECT_HANDLE) throws -> [UInt8] {
        try mechanism.withMechanism { mechanism in
            try output("C_WrapKey", capacity: 4096) { buffer, length in
                f.C_WrapKey!(handle, mechanism, wrappingKey, key, buffer, length)
            }
        }
    }

    func unwrap(
        _ mechanism: Mechanism, unwrappingKey: CK_OBJECT_HANDLE, wrapped: [UInt8], template: AttributeTemplate
    ) throws -> CK_OBJECT_HANDLE {
        var wrapped = wrapped
        return try newObject("C_UnwrapKey", mechanism, template) {
            f.C_UnwrapKey!(handle, $0, unwrappingKey, &wrapped, CK_ULONG(wrapped.count), $1, $2, $3)
        }
    }

    func derive(_ mechanism: Mechanism, baseKey: CK_OBJECT_HANDLE, template: AttributeTemplate) throws -> CK_OBJECT_HANDLE {
        try newObject("C_DeriveKey", mechanism, template) { f.C_DeriveKey!(handle, $0, baseKey, $1, $2, $3) }
    }

    /// Runs a call that makes one object from a mechanism and a template, and returns the object's handle.
    private func newObject(
        _ function: String, _ mechanism: Mechanism, _ template: AttributeTemplate,
        _ call: (UnsafeMutablePointer<CK_MECHANISM>, UnsafeMutablePointer<CK_ATTRIBUTE>?, CK_ULONG, UnsafeMutablePointer<CK_OBJECT_HANDLE>)
            -> CK_RV
    ) throws -> CK_OBJECT_HANDLE {
        var object: CK_OBJECT_HANDLE = 0
        try mechanism.withMechanism { mechanism in
            try template.withAttributes { attributes, count in try ReturnValue.check(call(mechanism, attributes, count, &object), function) }
        }
        return object
    }

    // MARK: - Single-part operations

    /// Signs `input` (a digest, or a DigestInfo for `CKM_RSA_PKCS`); `capacity` is the signature's size.
    func sign(_ mechanism: Mechanism, key: CK_OBJECT_HANDLE, input: [UInt8], capacity: Int) throws -> [UInt8] {
        try singlePart(("C_SignInit", f.C_SignInit!), ("C_Sign", f.C_Sign!), mechanism, key: key, input: input, capacity: capacity)
    }

    /// Verifies `signature` over `input`: `false` when the module says it does not verify (or is of the wrong length).
    func verify(_ mechanism: Mechanism, key: CK_OBJECT_HANDLE, input: [UInt8], signature: [UInt8]) throws -> Bool {
        var input = input
        var signature = signature
        return try mechanism.withMechanism { mechanism in
            try ReturnValue.check(f.C_VerifyInit!(handle, mechanism, key), "C_VerifyInit")
            let result = f.C_Verify!(handle, &input, CK_ULONG(input.count), &signature, CK_ULONG(signature.count))
            if result == CKR_SIGNATURE_INVALID || result == CKR_SIGNATURE_LEN_RANGE { return false }
            try ReturnValue.check(result, "C_Verify")
            return true
        }
    }

    /// Encrypts `plaintext`; `capacity` bounds the ciphertext.
    func encrypt(_ mechanism: Mechanism, key: CK_OBJECT_HANDLE, plaintext: [UInt8], capacity: Int) throws -> [UInt8] {
        try singlePart(
            ("C_EncryptInit", f.C_EncryptInit!), ("C_Encrypt", f.C_Encrypt!), mechanism, key: key, input: plaintext, capacity: capacity)
    }

    /// Runs `body` inside one multi-part `CKM_AES_ECB` operation of `key`: the function it gets transforms a 16-byte
    /// block in place (`C_EncryptUpdate` or `C_DecryptUpdate`). The operation is finished afterwards, however `body`
    /// ends.
    func withAESBlocks<T>(encrypting: Bool, key: CK_OBJECT_HANDLE, _ body: (KeyWrapWithPadding.Block) throws -> T) throws -> T {
        let (initialize, update, finish) =
            encrypting
            ? (("C_EncryptInit", f.C_EncryptInit!), ("C_EncryptUpdate", f.C_EncryptUpdate!), f.C_EncryptFinal!)
            : (("C_DecryptInit", f.C_DecryptInit!), ("C_DecryptUpdate", f.C_DecryptUpdate!), f.C_DecryptFinal!)
        try Mechanism.plain(CKM_AES_ECB).withMechanism { try ReturnValue.check(initialize.1(handle, $0, key), initialize.0) }
        defer {
            var last = [UInt8](repeating: 0, count: 16)
            var length = CK_ULONG(last.count)
            _ = finish(handle, &last, &length)
        }
        return try body { block in
            var input = block
            var length = CK_ULONG(block.count)
            try block.withUnsafeMutableBufferPointer { output in
                try ReturnValue.check(update.1(handle, &input, CK_ULONG(input.count), output.baseAddress, &length), update.0)
            }
            guard Int(length) == block.count else { throw PKCS11Error(value: CKR_FUNCTION_FAILED, function: update.0) }
        }
    }

    /// Decrypts `ciphertext`; `capacity` bounds the plaintext (the modulus length for RSA).
    func decrypt(_ mechanism: Mechanism, key: CK_OBJECT_HANDLE, ciphertext: [UInt8], capacity: Int) throws -> [UInt8] {
        try singlePart(
            ("C_DecryptInit", f.C_DecryptInit!), ("C_Decrypt", f.C_Decrypt!), mechanism, key: key, input: ciphertext, capacity: capacity)
    }

    /// An operation's `…Init` with a key, then its single-part call over `input`.
    private func singlePart(
        _ initialize: (String, CK_C_SignInit), _ run: (String, CK_C_Sign), _ mechanism: Mechanism, key: CK_OBJECT_HANDLE,
        input: [UInt8], capacity: Int
    ) throws -> [UInt8] {
        var input = input
        return try mechanism.withMechanism { mechanism in
            try ReturnValue.check(initialize.1(handle, mechanism, key), initialize.0)
            return try output(run.0, capacity: capacity) { buffer, length in run.1(handle, &input, CK_ULONG(input.count), buffer, length) }
        }
    }

    /// Runs a call that writes its output to a caller's buffer, first with `capacity` bytes and, if the module says it
    /// needs more (`CKR_BUFFER_TOO_SMALL`, which leaves the operation active), again with what it asked for.
    private func output(
        _ function: String, capacity: Int, _ call: (UnsafeMutablePointer<UInt8>?, UnsafeMutablePointer<CK_ULONG>) -> CK_RV
    ) throws -> [UInt8] {
        var size = capacity
        for _ in 0..<2 {
            var output = [UInt8](repeating: 0, count: size)
            var length = CK_ULONG(size)
            let result = output.withUnsafeMutableBufferPointer { call($0.baseAddress, &length) }
            if result == CKR_BUFFER_TOO_SMALL, Int(length) > size {
                size = Int(length)
                continue
            }
            try ReturnValue.check(result, function)
            output.removeSubrange(Int(length)...)
            return output
        }
        throw PKCS11Error(value: CKR_BUFFER_TOO_SMALL, function: function)
    }
}
