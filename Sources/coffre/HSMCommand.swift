import ArgumentParser
import Foundation

struct HSMCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hsm", abstract: "Manage Managed HSM pools on a running server.",
        subcommands: [Create.self, List.self, Show.self, Delete.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a Managed HSM pool; its administrators hold Managed HSM Administrator at /.",
            discussion: """
                A new pool is not activated: download its security domain (azure-keyvault-securitydomain, `az keyvault \
                security-domain download`) or upload one taken from another pool before using keys. --activated skips \
                that (tests, development).
                """)
        @OptionGroup var data: DataOption
        @Option(help: "The pool name (3-24 letters, digits and hyphens).") var name: String
        @Option(help: "An administrator's object id, client id or principal name (repeatable; default: you).")
        var administrator: [String] = []
        @Option(help: "Days a deleted key stays recoverable (7-90).") var retentionDays: Int = 90
        @Flag(help: "Forbid purging deleted keys before their retention ends.") var purgeProtection = false
        @Flag(help: "Activate the pool at once, without a security domain download.") var activated = false

        func run() async throws {
            struct Body: Encodable {
                var name: String
                var administrators: [String]
                var retentionDays: Int
                var purgeProtection: Bool
                var activated: Bool
            }
            let body = Body(
                name: name, administrators: administrator, retentionDays: retentionDays, purgeProtection: purgeProtection, activated: activated)
            ManagementClient.printJSON(try await ManagementClient(data: data).call(.POST, "hsms", body: body))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the Managed HSM pools.")
        @OptionGroup var data: DataOption
        func run() async throws { ManagementClient.printJSON(try await ManagementClient(data: data).call(.GET, "hsms")) }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a Managed HSM pool.")
        @OptionGroup var data: DataOption
        @Option(help: "The pool name.") var name: String
        func run() async throws { ManagementClient.printJSON(try await ManagementClient(data: data).call(.GET, "hsms/\(name)")) }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a Managed HSM pool with its keys, roles and settings.")
        @OptionGroup var data: DataOption
        @Option(help: "The pool name.") var name: String
        func run() async throws { _ = try await ManagementClient(data: data).call(.DELETE, "hsms/\(name)") }
    }
}
