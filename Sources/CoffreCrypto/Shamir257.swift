/// Shamir's secret sharing over GF(257), byte by byte, in the encoding of Managed HSM security domains: each share
/// word is a `UInt16` holding the holder's x-coordinate in its top 7 bits and the 9-bit y-value below,
/// `(x << 9) | y`, and a holder's share is one word per secret byte, written little-endian.
///
/// Holder `i` (from 0) gets x = i + 1. Each secret byte is the constant term of its own random polynomial of degree
/// `threshold − 1` whose other coefficients are uniform in GF(257): any `threshold` shares rebuild the byte, fewer
/// say nothing about it. (GF(257) rather than GF(2⁸) is the security domain's choice; it is why y needs 9 bits.)
public enum Shamir257 {
    static let prime = 257
    /// x is 7 bits wide.
    public static let maximumShares = 127

    /// Splits `secret` into `count` shares, any `threshold` of which rebuild it.
    ///
    /// Coefficients are drawn in order a₁ … a_{threshold−1} for each secret byte in turn, each from two bytes of
    /// `random` read as a little-endian `UInt16`, 0xFFFF refused and drawn again, reduced modulo 257 (65535 values
    /// are exactly 255 rounds of 257, so the draw is uniform).
    public static func split(_ secret: [UInt8], shares count: Int, threshold: Int, random: any RandomSource) throws -> [[UInt16]] {
        guard !secret.isEmpty, (2...maximumShares).contains(count), (2...count).contains(threshold) else {
            throw CryptoFailure.invalidInput("Shamir sharing needs a non-empty secret and 2 ≤ threshold ≤ shares ≤ \(maximumShares)")
        }
        var shares = [[UInt16]](repeating: [], count: count)
        for byte in secret {
            let coefficients = [Int(byte)] + (1..<threshold).map { _ in coefficient(random) }
            for index in 0..<count {
                let x = index + 1
                shares[index].append(UInt16(x << 9 | evaluate(coefficients, at: x)))
            }
        }
        return shares
    }

    /// Rebuilds the secret from shares of distinct holders (Lagrange interpolation at x = 0). Give at least the
    /// threshold: fewer shares, or shares of another secret, give a wrong secret, or a `CryptoFailure` when the result
    /// is not a byte or the words are not well-formed shares.
    public static func combine(_ shares: [[UInt16]]) throws -> [UInt8] {
        guard shares.count >= 2, let length = shares.first?.count, length > 0, shares.allSatisfy({ $0.count == length }) else {
            throw CryptoFailure.invalidInput("Shamir shares must be at least two, of one non-zero length")
        }
        let xs = try shares.map { share -> Int in
            let x = Int(share[0] >> 9)
            guard x != 0, share.allSatisfy({ Int($0 >> 9) == x && Int($0 & 0x1ff) < prime }) else {
                throw CryptoFailure.invalidInput("a Shamir share is malformed")
            }
            return x
        }
        guard Set(xs).count == xs.count else { throw CryptoFailure.invalidInput("Shamir shares must come from distinct holders") }
        // The Lagrange basis at 0 depends only on the xs: computed once, used for every byte.
        let basis = xs.indices.map { i in
            var numerator = 1
            var denominator = 1
            for j in xs.indices where j != i {
                numerator = numerator * xs[j] % prime
                denominator = denominator * ((xs[j] - xs[i] + prime) % prime) % prime
            }
            return numerator * inverse(denominator) % prime
        }
        return try (0..<length).map { position in
            var value = 0
            for (index, share) in shares.enumerated() {
                value = (value + Int(share[position] & 0x1ff) * basis[index]) % prime
            }
            guard value < 256 else { throw CryptoFailure.invalidInput("the Shamir shares do not rebuild a secret") }
            return UInt8(value)
        }
    }

    /// A share as the security domain carries it: each word little-endian.
    public static func encode(_ share: [UInt16]) -> [UInt8] {
        share.flatMap { [UInt8($0 & 0xff), UInt8($0 >> 8)] }
    }

    public static func decode(_ bytes: [UInt8]) throws -> [UInt16] {
        guard !bytes.isEmpty, bytes.count.isMultiple(of: 2) else {
            throw CryptoFailure.invalidInput("a Shamir share must be a non-empty sequence of 16-bit words")
        }
        return stride(from: 0, to: bytes.count, by: 2).map { UInt16(bytes[$0]) | UInt16(bytes[$0 + 1]) << 8 }
    }

    static func coefficient(_ random: any RandomSource) -> Int {
        while true {
            let bytes = random.bytes(2)
            let draw = Int(bytes[0]) | Int(bytes[1]) << 8
            if draw != 0xffff { return draw % prime }
        }
    }

    /// f(x) for coefficients a₀ … aₙ (Horner).
    static func evaluate(_ coefficients: [Int], at x: Int) -> Int {
        coefficients.reversed().reduce(0) { ($0 * x + $1) % prime }
    }

    /// a⁻¹ = a²⁵⁵ in GF(257) (Fermat); `a` is never 0 here (distinct, non-zero xs).
    static func inverse(_ a: Int) -> Int {
        var result = 1
        var base = a % prime
        var exponent = prime - 2
        while exponent > 0 {
            if exponent & 1 == 1 { result = result * base % prime }
            base = base * base % prime
            exponent >>= 1
        }
        return result
    }
}
