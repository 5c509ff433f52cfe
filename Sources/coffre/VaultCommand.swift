import ArgumentParser
import Foundation

struct VaultCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vault", abstract: "Manage vaults and their access policies on a running server.",
        subcommands: [Create.self, List.self, Show.self, Delete.self, SetPolicy.self, DeletePolicy.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a vault; you receive every permission on it.")
        @OptionGroup var data: DataOption
        @Option(help: "The vault name (3-24 letters, digits and hyphens).") var name: String
        @Option(help: "Days a deleted object stays recoverable (7-90).") var retentionDays: Int = 90
        @Flag(help: "Forbid purging deleted objects before their retention ends.") var enablePurgeProtection = false
        @Flag(help: "Authorise with role assignments instead of access policies.") var enableRbacAuthorization = false

        func run() async throws {
            struct Body: Encodable {
                var name: String
                var retentionDays: Int
                var purgeProtection: Bool
                var rbacAuthorization: Bool
            }
            let body = Body(
                name: name, retentionDays: retentionDays, purgeProtection: enablePurgeProtection,
                rbacAuthorization: enableRbacAuthorization)
            ManagementClient.printJSON(try await ManagementClient(data: data).call(.POST, "vaults", body: body))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the vaults.")
        @OptionGroup var data: DataOption
        func run() async throws { ManagementClient.printJSON(try await ManagementClient(data: data).call(.GET, "vaults")) }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a vault and its access policies.")
        @OptionGroup var data: DataOption
        @Option(help: "The vault name.") var name: String
        func run() async throws { ManagementClient.printJSON(try await ManagementClient(data: data).call(.GET, "vaults/\(name)")) }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a vault and everything in it.")
        @OptionGroup var data: DataOption
        @Option(help: "The vault name.") var name: String
        func run() async throws { _ = try await ManagementClient(data: data).call(.DELETE, "vaults/\(name)") }
    }

    struct SetPolicy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Grant a principal permissions on a vault (replaces its previous policy), as `az keyvault set-policy`.")
        @OptionGroup var data: DataOption
        @Option(help: "The vault name.") var name: String
        @Option(help: "The principal's object id (or client id, or name).") var objectId: String
        @Option(help: "The principal's tenant (default: this server's tenant; set it for principals of trusted issuers).")
        var tenantId: String?
        @Option(parsing: .upToNextOption, help: "Key permissions (get list create … or all).") var keyPermissions: [String] = []
        @Option(parsing: .upToNextOption, help: "Secret permissions (get list set delete recover backup restore purge, or all).")
        var secretPermissions: [String] = []
        @Option(parsing: .upToNextOption, help: "Certificate permissions (or all).") var certificatePermissions: [String] = []
        @Option(parsing: .upToNextOption, help: "Storage permissions (or all).") var storagePermissions: [String] = []

        func run() async throws {
            struct Body: Encodable {
                var tenantId: String?
                var permissions: [String: [String]]
            }
            let body = Body(
                tenantId: tenantId,
                permissions: [
                    "keys": keyPermissions, "secrets": secretPermissions, "certificates": certificatePermissions,
                    "storage": storagePermissions,
                ])
            let path = "vaults/\(name)/policies/\(objectId)"
            ManagementClient.printJSON(try await ManagementClient(data: data).call(.PUT, path, body: body))
        }
    }

    struct DeletePolicy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a principal's access policy from a vault.")
        @OptionGroup var data: DataOption
        @Option(help: "The vault name.") var name: String
        @Option(help: "The principal's object id (or client id, or name).") var objectId: String

        func run() async throws {
            ManagementClient.printJSON(try await ManagementClient(data: data).call(.DELETE, "vaults/\(name)/policies/\(objectId)"))
        }
    }
}
