import ArgumentParser
import CoffreCore
import CoffreServer
import Foundation

struct Env: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the environment for Azure SDKs and tools (use: eval \"$(coffre env)\").")

    @OptionGroup var data: DataOption
    @Option(help: "The vault to point AZURE_KEYVAULT_URL at (default: the default vault).") var vault: String?
    @Option(
        help: """
            A Managed HSM pool: adds AZURE_MANAGEDHSM_URL, AZURE_KEYVAULT_ATTESTATION_URL (Coffre's test attestation \
            service) and a backup container of Coffre's Blob service (BLOB_STORAGE_URL, BLOB_CONTAINER_NAME, \
            BLOB_STORAGE_SAS_TOKEN); asks the running server.
            """)
    var hsm: String?

    /// What `--hsm` adds, in this order (the server's `GET /coffre/v1/hsms/{pool}/environment`).
    static let managedHSMVariables = [
        "AZURE_MANAGEDHSM_URL", "AZURE_KEYVAULT_ATTESTATION_URL", "BLOB_STORAGE_URL", "BLOB_CONTAINER_NAME", "BLOB_STORAGE_SAS_TOKEN",
    ]

    func run() async throws {
        let directory = DataDirectory(path: data.data)
        guard let configuration = try directory.loadConfiguration() else {
            throw ValidationError("\(directory.path) is not a Coffre data directory: start the server with `coffre serve` first.")
        }
        let rootKey = FileManager.default.fileExists(atPath: directory.rootKeyFile) ? try directory.rootKey(createIfMissing: false) : nil
        if rootKey == nil { print("# The root key is split into shares: no managed identity here; use a principal's credentials.") }
        var managedHSM: [(name: String, value: String)] = []
        if let hsm {
            let answer = try await ManagementClient(data: data).call(.GET, "hsms/\(hsm)/environment")
            let environment = try JSONDecoder().decode([String: String].self, from: answer)
            managedHSM = Self.managedHSMVariables.map { ($0, environment[$0] ?? "") }
        }
        let variables = ClientEnvironment.variables(
            configuration: configuration, caFile: directory.caFile, identityHeader: rootKey.map(DataDirectory.managedIdentityHeader), vault: vault,
            adding: managedHSM)
        print(ClientEnvironment.exports(variables), terminator: "")
    }
}
