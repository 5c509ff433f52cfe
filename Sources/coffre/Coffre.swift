import ArgumentParser
import Foundation

struct Coffre: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coffre",
        abstract: "A key vault server that speaks the Azure Key Vault API.",
        subcommands: [
            Serve.self, Env.self, VaultCommand.self, HSMCommand.self, PrincipalCommand.self, UserCommand.self, GroupCommand.self,
            RoleCommand.self, StorageCommand.self, OperatorCommand.self, BackupCommand.self, PKCS11Command.self, ClockCommand.self,
            FaultsCommand.self,
        ])
}

/// `--data DIR`, shared by every command.
struct DataOption: ParsableArguments {
    @Option(name: .long, help: "The data directory (created on first start).")
    var data: String = "coffre-data"
}
