import CoffreBlob
import CoffreModel
import CoffreStorage

/// Mints the SAS tokens a SAS definition's secret hands out: the definition's template, valid for its validity period
/// from now, signed with the active key of the Blob account its storage account names. Nothing is stored: every read
/// gets a fresh token, and a token fails once its key is regenerated.
public struct SASTokenMint: Sendable {
    let storage: any StorageBackend
    let accounts: StorageAccountDirectory
    let clock: any WallClock

    public init(storage: any StorageBackend, clock: any WallClock) {
        self.storage = storage
        self.accounts = StorageAccountDirectory(storage: storage, clock: clock)
        self.clock = clock
    }

    public func token(in vault: VaultName, for reference: SASDefinitionReference) async throws -> String {
        guard
            let definition = try await storage.read(
                SASDefinition.self, at: ManagedStorageLayout.definition(vault, account: reference.account, reference.definition, deleted: false))
        else { throw ManagedStorageError.notFound(.sasDefinition, name: reference.definition) }
        guard
            let account = try await storage.read(
                ManagedStorageAccount.self, at: ManagedStorageLayout.account(vault, reference.account, deleted: false))
        else { throw ManagedStorageError.notFound(.account, name: reference.account) }
        guard account.attributes.enabled else { throw ManagedStorageError.disabled(.account, operation: "getsas") }
        guard definition.attributes.enabled else { throw ManagedStorageError.disabled(.sasDefinition, operation: "getsas") }
        let template = try SASTemplate(definition.templateUri, kind: definition.sasType)
        let blob = try await accounts.get(try account.blobAccount)
        guard let key = blob.key(named: account.activeKeyName) else {
            throw StorageError.corrupt("storage account \(blob.name) has no key \(account.activeKeyName)")
        }
        return template.token(
            account: blob.name.value, key: key.bytes, expiry: clock.now(in: vault) + (try ISODuration.seconds(definition.validityPeriod)))
    }
}
