extension FuzzTarget {
    /// Every target, by name: `scripts/fuzz` runs each, the Swift tests replay each corpus.
    public static let all: [FuzzTarget] = [
        .jwk, .pkcs12, .certificateImport, .certificateMerge, .csr, .accessToken, .clientAssertion, .jwks, .attestation, .backupBlob,
        .serverBackup, .securityDomainUpload, .sasTemplate,
    ]
}
