import Glibc

/// The file that holds the token's user PIN. The PIN is read when a login needs it (at start, and after a lost
/// connection), into memory of its own that is zeroed as soon as the login returns: it is never kept, copied into a
/// Swift string, logged or shown in an error.
struct PINFile: Sendable {
    let path: String

    /// PKCS#11 PINs are short; a file much longer than any PIN is not a PIN file.
    private static let largestPIN = 255

    /// Calls `body` with the PIN: the file's content up to its first line break.
    func withPIN<T>(_ body: (UnsafeMutableBufferPointer<UInt8>) throws -> T) throws -> T {
        let capacity = Self.largestPIN + 2
        let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: capacity)
        defer {
            explicit_bzero(buffer.baseAddress!, capacity)
            buffer.deallocate()
        }
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw unusable(errno) }
        defer { close(descriptor) }
        var length = 0
        while length < capacity {
            let count = read(descriptor, buffer.baseAddress! + length, capacity - length)
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { throw unusable(errno) }
            if count == 0 { break }
            length += count
        }
        if let lineBreak = buffer.prefix(length).firstIndex(where: { $0 == 0x0A || $0 == 0x0D }) { length = lineBreak }
        guard length <= Self.largestPIN else { throw CustodyFailure.pinFileUnusable("\(path) is longer than a PIN") }
        guard length > 0 else { throw CustodyFailure.pinFileUnusable("\(path) is empty") }
        return try body(UnsafeMutableBufferPointer(rebasing: buffer[..<length]))
    }

    private func unusable(_ code: Int32) -> CustodyFailure {
        .pinFileUnusable("\(path): \(String(cString: strerror(code)))")
    }
}
