import CPKCS11

/// A PKCS#11 function returned something else than `CKR_OK`.
struct PKCS11Error: Error, Equatable {
    let value: CK_RV
    let function: String

    /// The session or the module is gone (device removed or failed, session closed, token logged out behind our back):
    /// the session is dropped and a new one is opened, with a new login, on the next call.
    var isConnectionLost: Bool { ReturnValue.connectionLost.contains(value) }

    /// The object handle is not (or no longer) valid in this application.
    var isHandleInvalid: Bool { value == CKR_OBJECT_HANDLE_INVALID || value == CKR_KEY_HANDLE_INVALID }

    /// The module does not take this mechanism or these mechanism parameters (SoftHSM and OAEP with SHA-256).
    var isMechanismRefused: Bool {
        [CKR_MECHANISM_INVALID, CKR_MECHANISM_PARAM_INVALID, CKR_ARGUMENTS_BAD].contains(value)
    }

    /// A decryption or an unwrap refused its input (padding, integrity, length, or what the unwrapped bytes hold):
    /// any failure of `C_Decrypt` or `C_UnwrapKey` but a lost connection, a stale handle, a key not allowed to do it,
    /// or a mechanism the module does not take. Modules differ in what they say (SoftHSM: `CKR_GENERAL_ERROR` for a
    /// bad padding or integrity check, `CKR_FUNCTION_FAILED` for a wrapped key of another type), so the value is not
    /// trusted to tell.
    var isRejectedInput: Bool {
        (function == "C_Decrypt" || function == "C_UnwrapKey") && !isConnectionLost && !isHandleInvalid
            && ![CKR_KEY_FUNCTION_NOT_PERMITTED, CKR_MECHANISM_INVALID, CKR_MECHANISM_PARAM_INVALID].contains(value)
    }

    /// The failure as the custody reports it; `label` names the key the call was about.
    func custodyFailure(label: String? = nil) -> CustodyFailure {
        let name = ReturnValue.name(value)
        if isConnectionLost { return .unavailable("\(function) returned \(name)") }
        switch value {
        case CKR_PIN_INCORRECT, CKR_PIN_INVALID, CKR_PIN_LEN_RANGE: return .pinIncorrect
        case CKR_PIN_LOCKED: return .pinLocked
        case CKR_OBJECT_HANDLE_INVALID, CKR_KEY_HANDLE_INVALID: return .keyNotFound(label: label ?? "")
        case CKR_KEY_UNEXTRACTABLE, CKR_KEY_NOT_WRAPPABLE: return .notExtractable
        case CKR_KEY_FUNCTION_NOT_PERMITTED, CKR_KEY_TYPE_INCONSISTENT, CKR_TEMPLATE_INCONSISTENT:
            return .operationNotPermitted("\(function) returned \(name)")
        default: return .moduleFailure("\(function) returned \(name)")
        }
    }
}

/// PKCS#11 return values: the check of every call, and names for messages.
enum ReturnValue {
    static func check(_ value: CK_RV, _ function: String) throws {
        guard value == CKR_OK else { throw PKCS11Error(value: value, function: function) }
    }

    static let connectionLost: Set<CK_RV> = [
        CKR_SESSION_HANDLE_INVALID, CKR_SESSION_CLOSED, CKR_DEVICE_REMOVED, CKR_DEVICE_ERROR, CKR_TOKEN_NOT_PRESENT,
        CKR_TOKEN_NOT_RECOGNIZED, CKR_USER_NOT_LOGGED_IN, CKR_CRYPTOKI_NOT_INITIALIZED, CKR_SLOT_ID_INVALID,
    ]

    /// The names of the values a custody meets; others print in hexadecimal.
    private static let names: [CK_RV: String] = [
        CKR_OK: "CKR_OK", CKR_CANCEL: "CKR_CANCEL", CKR_HOST_MEMORY: "CKR_HOST_MEMORY", CKR_SLOT_ID_INVALID: "CKR_SLOT_ID_INVALID",
        CKR_GENERAL_ERROR: "CKR_GENERAL_ERROR", CKR_FUNCTION_FAILED: "CKR_FUNCTION_FAILED", CKR_ARGUMENTS_BAD: "CKR_ARGUMENTS_BAD",
        CKR_CANT_LOCK: "CKR_CANT_LOCK", CKR_ATTRIBUTE_READ_ONLY: "CKR_ATTRIBUTE_READ_ONLY",
        CKR_ATTRIBUTE_SENSITIVE: "CKR_ATTRIBUTE_SENSITIVE", CKR_ATTRIBUTE_TYPE_INVALID: "CKR_ATTRIBUTE_TYPE_INVALID",
        CKR_ATTRIBUTE_VALUE_INVALID: "CKR_ATTRIBUTE_VALUE_INVALID", CKR_DATA_INVALID: "CKR_DATA_INVALID",
        CKR_DATA_LEN_RANGE: "CKR_DATA_LEN_RANGE", CKR_DEVICE_ERROR: "CKR_DEVICE_ERROR", CKR_DEVICE_MEMORY: "CKR_DEVICE_MEMORY",
        CKR_DEVICE_REMOVED: "CKR_DEVICE_REMOVED", CKR_ENCRYPTED_DATA_INVALID: "CKR_ENCRYPTED_DATA_INVALID",
        CKR_ENCRYPTED_DATA_LEN_RANGE: "CKR_ENCRYPTED_DATA_LEN_RANGE", CKR_FUNCTION_NOT_SUPPORTED: "CKR_FUNCTION_NOT_SUPPORTED",
        CKR_KEY_HANDLE_INVALID: "CKR_KEY_HANDLE_INVALID", CKR_KEY_SIZE_RANGE: "CKR_KEY_SIZE_RANGE",
        CKR_KEY_TYPE_INCONSISTENT: "CKR_KEY_TYPE_INCONSISTENT", CKR_KEY_FUNCTION_NOT_PERMITTED: "CKR_KEY_FUNCTION_NOT_PERMITTED",
        CKR_KEY_NOT_WRAPPABLE: "CKR_KEY_NOT_WRAPPABLE", CKR_KEY_UNEXTRACTABLE: "CKR_KEY_UNEXTRACTABLE",
        CKR_MECHANISM_INVALID: "CKR_MECHANISM_INVALID", CKR_MECHANISM_PARAM_INVALID: "CKR_MECHANISM_PARAM_INVALID",
        CKR_OBJECT_HANDLE_INVALID: "CKR_OBJECT_HANDLE_INVALID", CKR_OPERATION_ACTIVE: "CKR_OPERATION_ACTIVE",
        CKR_OPERATION_NOT_INITIALIZED: "CKR_OPERATION_NOT_INITIALIZED", CKR_PIN_INCORRECT: "CKR_PIN_INCORRECT",
        CKR_PIN_INVALID: "CKR_PIN_INVALID", CKR_PIN_LEN_RANGE: "CKR_PIN_LEN_RANGE", CKR_PIN_LOCKED: "CKR_PIN_LOCKED",
        CKR_SESSION_CLOSED: "CKR_SESSION_CLOSED", CKR_SESSION_COUNT: "CKR_SESSION_COUNT",
        CKR_SESSION_HANDLE_INVALID: "CKR_SESSION_HANDLE_INVALID", CKR_SIGNATURE_INVALID: "CKR_SIGNATURE_INVALID",
        CKR_TEMPLATE_INCOMPLETE: "CKR_TEMPLATE_INCOMPLETE", CKR_TEMPLATE_INCONSISTENT: "CKR_TEMPLATE_INCONSISTENT",
        CKR_TOKEN_NOT_PRESENT: "CKR_TOKEN_NOT_PRESENT", CKR_TOKEN_NOT_RECOGNIZED: "CKR_TOKEN_NOT_RECOGNIZED",
        CKR_UNWRAPPING_KEY_HANDLE_INVALID: "CKR_UNWRAPPING_KEY_HANDLE_INVALID",
        CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT: "CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT",
        CKR_USER_ALREADY_LOGGED_IN: "CKR_USER_ALREADY_LOGGED_IN", CKR_USER_NOT_LOGGED_IN: "CKR_USER_NOT_LOGGED_IN",
        CKR_USER_PIN_NOT_INITIALIZED: "CKR_USER_PIN_NOT_INITIALIZED", CKR_WRAPPED_KEY_INVALID: "CKR_WRAPPED_KEY_INVALID",
        CKR_WRAPPED_KEY_LEN_RANGE: "CKR_WRAPPED_KEY_LEN_RANGE", CKR_WRAPPING_KEY_HANDLE_INVALID: "CKR_WRAPPING_KEY_HANDLE_INVALID",
        CKR_BUFFER_TOO_SMALL: "CKR_BUFFER_TOO_SMALL", CKR_CRYPTOKI_NOT_INITIALIZED: "CKR_CRYPTOKI_NOT_INITIALIZED",
        CKR_CRYPTOKI_ALREADY_INITIALIZED: "CKR_CRYPTOKI_ALREADY_INITIALIZED",
    ]

    static func name(_ value: CK_RV) -> String {
        names[value] ?? "0x" + String(value, radix: 16)
    }
}
