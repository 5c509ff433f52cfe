import CPKCS11
import Glibc
import Synchronization

/// A PKCS#11 module (the shared library of a network HSM, a YubiHSM, a cloud HSM, SoftHSM…), loaded at run time with
/// `dlopen`: Coffre links no PKCS#11 library, so it runs on machines that have none.
///
/// A module is loaded and initialised (`C_Initialize` with `CKF_OS_LOCKING_OK`: it may use the operating system's
/// threads and locks, and every function may be called from any thread) once per process and path, and shared by every
/// custody that uses it. It is never finalised: `C_Finalize` would end every other user's sessions.
final class PKCS11Module: @unchecked Sendable {
    /// The module's function list, copied once (it never changes after `C_GetFunctionList`).
    let functions: CK_FUNCTION_LIST
    let path: String

    private static let loaded = Mutex<[String: PKCS11Module]>([:])

    private init(functions: CK_FUNCTION_LIST, path: String) {
        self.functions = functions
        self.path = path
    }

    /// The module at `path`, loaded and initialised on first use.
    static func load(path: String) throws -> PKCS11Module {
        try loaded.withLock { modules in
            if let module = modules[path] { return module }
            let module = try open(path: path)
            modules[path] = module
            return module
        }
    }

    private static func open(path: String) throws -> PKCS11Module {
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            let reason = dlerror().map { String(cString: $0) } ?? "dlopen failed"
            throw CustodyFailure.moduleUnusable(reason)
        }
        guard let symbol = dlsym(handle, "C_GetFunctionList") else {
            dlclose(handle)
            throw CustodyFailure.moduleUnusable("\(path) is not a PKCS#11 module (no C_GetFunctionList)")
        }
        let getFunctionList = unsafeBitCast(symbol, to: CK_C_GetFunctionList.self)
        var list: UnsafeMutablePointer<CK_FUNCTION_LIST>?
        let listed = getFunctionList(&list)
        guard listed == CKR_OK, let list else {
            dlclose(handle)
            throw CustodyFailure.moduleUnusable("\(path): C_GetFunctionList returned \(ReturnValue.name(listed))")
        }
        let functions = list.pointee
        guard let initialize = functions.C_Initialize else {
            throw CustodyFailure.moduleUnusable("\(path) has no C_Initialize")
        }
        var arguments = CK_C_INITIALIZE_ARGS(
            CreateMutex: nil, DestroyMutex: nil, LockMutex: nil, UnlockMutex: nil, flags: CKF_OS_LOCKING_OK, pReserved: nil)
        let initialized = initialize(&arguments)
        // Another library of this process may have initialised the module first (a p11-kit proxy, a test harness).
        guard initialized == CKR_OK || initialized == CKR_CRYPTOKI_ALREADY_INITIALIZED else {
            throw CustodyFailure.moduleUnusable("\(path): C_Initialize returned \(ReturnValue.name(initialized))")
        }
        return PKCS11Module(functions: functions, path: path)
    }

    // MARK: - Slots and tokens

    /// The slot whose token has this label (PKCS#11 labels are 32 bytes, padded with spaces); `nil` if none has.
    func slot(withTokenLabel label: String) throws -> CK_SLOT_ID? {
        var count: CK_ULONG = 0
        try ReturnValue.check(functions.C_GetSlotList!(CK_BBOOL(CK_TRUE), nil, &count), "C_GetSlotList")
        var slots = [CK_SLOT_ID](repeating: 0, count: Int(count))
        try ReturnValue.check(functions.C_GetSlotList!(CK_BBOOL(CK_TRUE), &slots, &count), "C_GetSlotList")
        for slot in slots.prefix(Int(count)) {
            var info = CK_TOKEN_INFO()
            guard functions.C_GetTokenInfo!(slot, &info) == CKR_OK else { continue }
            if Self.paddedText(info.label) == label { return slot }
        }
        return nil
    }

    /// A fixed-width PKCS#11 text field (UTF-8, padded with spaces) without its padding.
    private static func paddedText<T>(_ field: T) -> String {
        withUnsafeBytes(of: field) { bytes in
            var text = Array(bytes)
            while text.last == 0x20 || text.last == 0 { text.removeLast() }
            return String(decoding: text, as: UTF8.self)
        }
    }
}
