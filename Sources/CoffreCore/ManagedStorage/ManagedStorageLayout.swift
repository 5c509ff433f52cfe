import CoffreModel
import CoffreStorage

/// Where a vault keeps its managed storage accounts and SAS definitions, live and soft-deleted under separate prefixes
/// (so listing either never skips the other): `v/{vault}/storage/{account}`, `v/{vault}/deleted-storage/{account}`,
/// `v/{vault}/storage-sas/{account}/{definition}`, `v/{vault}/deleted-storage-sas/{account}/{definition}` (names
/// case-folded). Their purge schedule entries use the segments `storage` (`{account}`) and `storage-sas`
/// (`{account}-{definition}`: names have no hyphen).
enum ManagedStorageLayout {
    static let accountSegment = "storage"
    static let definitionSegment = "storage-sas"

    static func accounts(_ vault: VaultName, deleted: Bool) -> String { "v/\(vault)/\(deleted ? "deleted-" : "")\(accountSegment)/" }

    static func account(_ vault: VaultName, _ name: String, deleted: Bool) -> String { accounts(vault, deleted: deleted) + name }

    static func definitions(_ vault: VaultName, account: String, deleted: Bool) -> String {
        "v/\(vault)/\(deleted ? "deleted-" : "")\(definitionSegment)/\(account)/"
    }

    static func definition(_ vault: VaultName, account: String, _ name: String, deleted: Bool) -> String {
        definitions(vault, account: account, deleted: deleted) + name
    }

    static func purgeEntry(_ vault: VaultName, account: String, deletion: Deletion) -> String {
        PurgeSchedule.key(date: deletion.scheduledPurgeDate, vault: vault, segment: accountSegment, name: account)
    }

    static func purgeEntry(_ vault: VaultName, account: String, definition: String, deletion: Deletion) -> String {
        PurgeSchedule.key(date: deletion.scheduledPurgeDate, vault: vault, segment: definitionSegment, name: "\(account)-\(definition)")
    }
}
