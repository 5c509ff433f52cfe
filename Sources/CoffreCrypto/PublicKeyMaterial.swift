import COpenSSL

/// The public half of an RSA or EC key: what a client holds after reading the key's JWK. The server's own verify runs
/// here, so a signature verifies on the server exactly as it does in a client that verifies locally.
public struct PublicKeyMaterial: Sendable {
    enum Backing: Sendable {
        case rsa(RSAPublicKey)
        case ec(ECPublicKey)
    }

    public let keyType: KeyType
    let backing: Backing

    init(_ keyType: KeyType, _ backing: Backing) {
        self.keyType = keyType
        self.backing = backing
    }

    /// A public key from a JWK (`n`, `e` or `crv`, `x`, `y`; private members are ignored). oct keys have no public half.
    public init(jwk: JsonWebKey) throws {
        let type = try jwk.requireKeyType()
        switch type.family {
        case .rsa:
            guard let n = jwk.n, let e = jwk.e else { throw CryptoFailure.invalidKey("JSON Web Key: an RSA key needs n and e") }
            self.init(type, .rsa(try RSAPublicKey(modulus: n, exponent: e)))
        case .ec:
            guard let crv = jwk.crv, let curve = CurveName(rawValue: crv) else {
                throw CryptoFailure.invalidKey("JSON Web Key: the curve is missing or not supported")
            }
            guard let x = jwk.x, let y = jwk.y else { throw CryptoFailure.invalidKey("JSON Web Key: an EC key needs x and y") }
            self.init(type, .ec(try ECPublicKey(curve: curve, x: x, y: y)))
        case .oct:
            throw CryptoFailure.unsupported("oct keys have no public key")
        }
    }

    /// An EC public key from its SEC 1 point, as PKCS#11 modules give it: uncompressed (`04‖x‖y`) or compressed
    /// (`02‖x`, `03‖x`). A point that is not on the curve is refused.
    public init(_ type: KeyType, curve: CurveName, sec1Point: [UInt8]) throws {
        guard type.family == .ec else { throw CryptoFailure.unsupported("an \(type.rawValue) key has no EC point") }
        let offCurve = CryptoFailure.invalidKey("the EC point is not a point of \(curve.rawValue)")
        guard let key = try? OpenSSLKey.ecKey(group: curve.openSSLGroup, encodedPoint: sec1Point),
            key.isConsistent(includingPrivateKey: false)
        else { throw offCurve }
        let width = curve.coordinateByteCount
        self.init(
            type,
            .ec(
                try ECPublicKey(
                    curve: curve, x: try key.bigEndian(OSSL_PKEY_PARAM_EC_PUB_X, width: width),
                    y: try key.bigEndian(OSSL_PKEY_PARAM_EC_PUB_Y, width: width))))
    }

    public var curve: CurveName? {
        if case .ec(let key) = backing { return key.curve }
        return nil
    }

    /// The RSA modulus size in bits; `nil` for EC keys.
    public var sizeInBits: Int? {
        if case .rsa(let key) = backing { return key.bitCount }
        return nil
    }

    /// `n` and `e` (big-endian, no leading zero byte), or `crv`, `x` and `y` (each as wide as the curve).
    public var jwk: JsonWebKey {
        switch backing {
        case .rsa(let key): JsonWebKey(kty: keyType, n: key.modulus, e: key.exponent)
        case .ec(let key): JsonWebKey(kty: keyType, crv: key.curve, x: key.x, y: key.y)
        }
    }

    public var subjectPublicKeyInfoDER: [UInt8] {
        get throws {
            switch backing {
            case .rsa(let key): key.subjectPublicKeyInfoDER
            case .ec(let key): try key.subjectPublicKeyInfoDER
            }
        }
    }

    /// `false` for a signature that does not verify, whatever is wrong with it; throws only when the algorithm does
    /// not suit the key or the digest does not suit the algorithm.
    public func verify(_ algorithm: String, digest: [UInt8], signature: [UInt8]) throws -> Bool {
        let scheme = try SignatureScheme(algorithm)
        switch backing {
        case .rsa(let key):
            try scheme.check(algorithm, keyType: keyType, curve: nil, rsaByteCount: key.byteCount, digest: digest)
            return key.verify(scheme, digest: digest, signature: signature)
        case .ec(let key):
            try scheme.check(algorithm, keyType: keyType, curve: key.curve, rsaByteCount: nil, digest: digest)
            return key.verify(digest: digest, signature: signature)
        }
    }

    /// RSA1_5, RSA-OAEP or RSA-OAEP-256 with an RSA key (wrapping a key is the same operation).
    public func encrypt(_ algorithm: String, plaintext: [UInt8]) throws -> [UInt8] {
        let scheme = try CipherScheme(algorithm)
        try scheme.check(algorithm, keyType: keyType, wrapping: false)
        guard case .rsa(let key) = backing, case .rsa(let padding) = scheme else {
            throw CryptoFailure.unsupported("\(algorithm) cannot be used with an \(keyType.rawValue) key")
        }
        return try key.encrypt(padding, algorithm: algorithm, plaintext: plaintext)
    }
}
