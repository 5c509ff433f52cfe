/// Shamir's secret sharing over GF(2⁸) (the AES field, polynomial x⁸+x⁴+x³+x+1), byte by byte: any `threshold` of
/// the shares rebuild the secret, fewer reveal nothing about it. Each share is its x-coordinate (1…255) followed by
/// one y-byte per secret byte.
public enum Shamir {
    public static func split(_ secret: [UInt8], shares count: Int, threshold: Int) throws -> [[UInt8]] {
        guard (2...255).contains(count), (2...count).contains(threshold), !secret.isEmpty else {
            throw CryptoFailure.invalidInput("Shamir sharing needs 2 ≤ threshold ≤ shares ≤ 255 and a non-empty secret")
        }
        var shares = (1...count).map { [UInt8(truncatingIfNeeded: $0)] }
        for byte in secret {
            // A random polynomial of degree threshold-1 whose constant term is the secret byte.
            let coefficients = [byte] + SecureRandom.bytes(threshold - 1)
            for index in shares.indices {
                shares[index].append(evaluate(coefficients, at: shares[index][0]))
            }
        }
        return shares
    }

    /// Rebuilds the secret from at least `threshold` distinct shares (Lagrange interpolation at x = 0). Fewer or
    /// wrong shares give a wrong secret, which the caller detects (the root key fails to open the keyring).
    public static func combine(_ shares: [[UInt8]]) throws -> [UInt8] {
        guard shares.count >= 2, let length = shares.first?.count, length > 1, shares.allSatisfy({ $0.count == length }) else {
            throw CryptoFailure.invalidInput("Shamir shares must be at least two, of one length")
        }
        let xs = shares.map { $0[0] }
        guard Set(xs).count == xs.count, !xs.contains(0) else { throw CryptoFailure.invalidInput("Shamir shares must be distinct") }
        return (1..<length).map { position in
            var value: UInt8 = 0
            for (i, share) in shares.enumerated() {
                var basis: UInt8 = 1
                for (j, other) in xs.enumerated() where j != i {
                    basis = multiply(basis, divide(other, other ^ xs[i]))
                }
                value ^= multiply(share[position], basis)
            }
            return value
        }
    }

    static func evaluate(_ coefficients: [UInt8], at x: UInt8) -> UInt8 {
        coefficients.reversed().reduce(0) { multiply($0, x) ^ $1 }
    }

    static func multiply(_ a: UInt8, _ b: UInt8) -> UInt8 {
        var (a, b, product) = (a, b, UInt8(0))
        while b != 0 {
            if b & 1 == 1 { product ^= a }
            let carry = a & 0x80
            a <<= 1
            if carry != 0 { a ^= 0x1b }
            b >>= 1
        }
        return product
    }

    static func divide(_ a: UInt8, _ b: UInt8) -> UInt8 {
        // b⁻¹ = b²⁵⁴ in GF(2⁸).
        var inverse: UInt8 = 1
        for _ in 0..<254 { inverse = multiply(inverse, b) }
        return multiply(a, inverse)
    }
}
