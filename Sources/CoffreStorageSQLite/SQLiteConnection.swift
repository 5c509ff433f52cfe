import CSQLite
import CoffreStorage

/// One SQLite connection with a cache of prepared statements. Not thread-safe: its owner uses it from one
/// task at a time.
final class SQLiteConnection: @unchecked Sendable {
    private let handle: OpaquePointer
    private var statements: [String: OpaquePointer] = [:]

    init(path: String, readOnly: Bool = false) throws {
        var handle: OpaquePointer?
        let flags = (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX
        let status = sqlite3_open_v2(path, &handle, flags, nil)
        guard status == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(handle)
            throw SQLiteConnection.error(status, message, at: path)
        }
        self.handle = handle
        sqlite3_extended_result_codes(handle, 1)
        try execute("PRAGMA busy_timeout = 5000")
    }

    deinit {
        for statement in statements.values { sqlite3_finalize(statement) }
        sqlite3_close_v2(handle)
    }

    func execute(_ sql: String) throws {
        let status = sqlite3_exec(handle, sql, nil, nil, nil)
        guard status == SQLITE_OK else { throw failure(status) }
    }

    /// Runs a statement, binding text/blob/integer parameters, and returns the rows of (text, blob) columns.
    @discardableResult
    func query(_ sql: String, _ parameters: [Parameter] = [], columns: Int = 0) throws -> [[Column]] {
        let statement = try prepared(sql)
        defer {
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
        }
        for (index, parameter) in parameters.enumerated() {
            let position = Int32(index + 1)
            let status: Int32
            switch parameter {
            case .text(let text): status = sqlite3_bind_text(statement, position, text, -1, SQLITE_TRANSIENT)
            case .blob(let bytes):
                status = bytes.withUnsafeBytes {
                    sqlite3_bind_blob(statement, position, $0.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32($0.count), SQLITE_TRANSIENT)
                }
            case .integer(let value): status = sqlite3_bind_int64(statement, position, value)
            }
            guard status == SQLITE_OK else { throw failure(status) }
        }
        var rows: [[Column]] = []
        while true {
            let status = sqlite3_step(statement)
            if status == SQLITE_DONE { return rows }
            guard status == SQLITE_ROW else { throw failure(status) }
            rows.append(
                (0..<Int32(columns)).map { column in
                    switch sqlite3_column_type(statement, column) {
                    case SQLITE_INTEGER: return .integer(sqlite3_column_int64(statement, column))
                    case SQLITE_TEXT: return .text(String(cString: sqlite3_column_text(statement, column)))
                    case SQLITE_NULL: return .null
                    default:
                        let count = Int(sqlite3_column_bytes(statement, column))
                        guard count > 0, let pointer = sqlite3_column_blob(statement, column) else { return .blob([]) }
                        return .blob(Array(UnsafeRawBufferPointer(start: pointer, count: count)))
                    }
                })
        }
    }

    private func prepared(_ sql: String) throws -> OpaquePointer {
        if let statement = statements[sql] { return statement }
        var statement: OpaquePointer?
        let status = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard status == SQLITE_OK, let statement else { throw failure(status) }
        statements[sql] = statement
        return statement
    }

    private func failure(_ status: Int32) -> StorageError {
        Self.error(status, String(cString: sqlite3_errmsg(handle)), at: nil)
    }

    static func error(_ status: Int32, _ message: String, at path: String?) -> StorageError {
        let detail = "SQLite: \(message)" + (path.map { ", \($0)" } ?? "")
        switch status & 0xff {
        case SQLITE_FULL: return .notWritable("the disk is full (\(detail))")
        case SQLITE_READONLY, SQLITE_PERM: return .notWritable("the database is read-only (\(detail))")
        case SQLITE_CANTOPEN:
            return .notWritable("the database cannot be opened for writing: is the data directory read-only or not permitted? (\(detail))")
        case SQLITE_CORRUPT, SQLITE_NOTADB: return .corrupt(detail)
        default: return .unavailable(detail)
        }
    }

    enum Parameter {
        case text(String)
        case blob([UInt8])
        case integer(Int64)
    }

    enum Column: Equatable {
        case text(String)
        case blob([UInt8])
        case integer(Int64)
        case null

        var text: String? { if case .text(let value) = self { value } else { nil } }
        var blob: [UInt8]? {
            switch self {
            case .blob(let value): value
            case .text(let value): Array(value.utf8)
            default: nil
            }
        }
    }
}

// SQLITE_TRANSIENT is a macro casting -1 to a destructor pointer, which Swift cannot import.
private let SQLITE_TRANSIENT = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
