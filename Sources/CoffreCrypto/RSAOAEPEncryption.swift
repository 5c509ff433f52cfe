import COpenSSL

extension PublicKeyMaterial {
    /// RSA-OAEP-256 encryption (RFC 8017 §7.1.1: SHA-256 for the label hash and MGF1, empty label) whose seed comes
    /// from `random`, so that a known-answer test can fix it. The ciphertext is what any RSA-OAEP-256 decryptor opens.
    public func encryptRSAOAEP256(_ plaintext: [UInt8], random: any RandomSource) throws -> [UInt8] {
        guard case .rsa(let key) = backing else { throw CryptoFailure.unsupported("RSA-OAEP-256 needs an RSA key") }
        let k = key.byteCount
        let hashLength = 32
        guard plaintext.count <= k - 2 * hashLength - 2 else {
            throw CryptoFailure.invalidInput("RSA-OAEP-256 can encrypt at most \(k - 2 * hashLength - 2) bytes with this key")
        }
        let labelHash = Digest.sha256([UInt8]())
        let block =
            labelHash + [UInt8](repeating: 0, count: k - plaintext.count - 2 * hashLength - 2) + [0x01] + plaintext
        let seed = random.bytes(hashLength)
        let maskedBlock = zip(block, OAEPMask.mgf1SHA256(seed, length: block.count)).map { $0 ^ $1 }
        let maskedSeed = zip(seed, OAEPMask.mgf1SHA256(maskedBlock, length: hashLength)).map { $0 ^ $1 }
        return try RawRSA.publicOperation([0] + maskedSeed + maskedBlock, modulus: key.modulus, exponent: key.exponent)
    }
}

enum OAEPMask {
    /// MGF1 with SHA-256 (RFC 8017 B.2.1).
    static func mgf1SHA256(_ seed: [UInt8], length: Int) -> [UInt8] {
        var mask: [UInt8] = []
        var counter: UInt32 = 0
        while mask.count < length {
            mask += Digest.sha256(seed + withUnsafeBytes(of: counter.bigEndian, Array.init))
            counter += 1
        }
        return Array(mask.prefix(length))
    }
}

/// m^e mod n on public values, for an encoded message the caller padded.
enum RawRSA {
    static func publicOperation(_ message: [UInt8], modulus: [UInt8], exponent: [UInt8]) throws -> [UInt8] {
        guard let context = BN_CTX_new() else { throw openSSLFailure("RSA public operation") }
        defer { BN_CTX_free(context) }
        let m = BN_bin2bn(message, Int32(message.count), nil)
        let n = BN_bin2bn(modulus, Int32(modulus.count), nil)
        let e = BN_bin2bn(exponent, Int32(exponent.count), nil)
        let c = BN_new()
        defer {
            BN_clear_free(m)
            BN_free(n)
            BN_free(e)
            BN_clear_free(c)
        }
        guard let m, let n, let e, let c, BN_cmp(m, n) < 0, BN_mod_exp(c, m, e, n, context) == 1 else {
            throw openSSLFailure("RSA public operation")
        }
        var output = [UInt8](repeating: 0, count: modulus.count)
        guard Int(BN_bn2binpad(c, &output, Int32(output.count))) == output.count else { throw openSSLFailure("RSA public operation") }
        return output
    }
}
