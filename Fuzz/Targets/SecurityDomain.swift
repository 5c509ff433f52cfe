import CoffreCrypto

/// A Managed HSM pool's transfer key, made once: what uploaded security domains are opened with.
private struct TransferKey: Sendable {
    let key: KeyMaterial
    let thumbprint: [UInt8] = Array(repeating: 3, count: 32)

    static let shared: TransferKey = {
        do { return TransferKey(key: try KeyMaterial.generate(.rsa, size: 2048)) } catch { fatalError("no transfer key: \(error)") }
    }()
}

extension FuzzTarget {
    /// Security domain upload (`POST /securitydomain/upload`): the JSON restore blob, then its items opened with the
    /// pool's transfer key.
    static let securityDomainUpload = FuzzTarget(
        "security-domain-upload",
        seeds: {
            let transfer = TransferKey.shared
            let blob = try SecurityDomainFormat.restoreBlob(
                [SecurityDomainItem(tag: "fuzz", plaintext: Array(repeating: 1, count: 32))], transferKey: transfer.key.publicKey!,
                transferKeyThumbprint: transfer.thumbprint, random: SystemRandomSource())
            return [Array(try SecurityDomainFormat.json(blob).utf8)]
        },
        run: { bytes in
            let transfer = TransferKey.shared
            let blob = try SecurityDomainFormat.parseRestoreBlob(String(fuzzed: bytes))
            _ = try SecurityDomainFormat.open(blob, transferKey: transfer.key, transferKeyThumbprint: transfer.thumbprint)
        })
}
