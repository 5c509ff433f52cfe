import ArgumentParser
import CoffreCore
import Foundation

struct VaultCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vault", abstract: "Manage vaults and their access policies on a running server.",
        subcommands: [Create.self, List.self, Show.self, Delete.self, SetPolicy.self, DeletePolicy.self, Import.self, Export.self])

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

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Load a seed file (YAML or JSON: docs/seed-format.md) into a vault, created if missing; all or nothing, idempotent.")
        @OptionGroup var data: DataOption
        @Option(help: "The vault name.") var name: String
        @Argument(help: "The seed file: its only vault, or the one named --name.") var file: String

        func run() async throws {
            let seed = try SeedFile.vault(named: name, in: try SeedFile.load(file))
            ManagementClient.printJSON(try await ManagementClient(data: data).call(.POST, "vaults/\(name)/import", body: seed))
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a vault as a seed file (secret values and private keys only with --include-values).")
        @OptionGroup var data: DataOption
        @Option(help: "The vault name.") var name: String
        @Flag(help: "Include secret values, private keys and certificates' private keys.") var includeValues = false
        @Option(help: "yaml (default) or json.") var format: String = "yaml"
        @Option(help: "Write to this file (mode 0600) instead of standard output.") var output: String?

        func validate() throws {
            guard ["yaml", "json"].contains(format) else { throw ValidationError("--format is yaml or json.") }
        }

        func run() async throws {
            let path = "vaults/\(name)/export" + (includeValues ? "?includeValues=true" : "")
            let vault = try JSONDecoder().decode(VaultSeed.self, from: try await ManagementClient(data: data).call(.GET, path))
            let document = SeedDocument(vaults: [vault])
            let text: String
            if format == "json" {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                text = String(decoding: try encoder.encode(document), as: UTF8.self) + "\n"
            } else {
                text = try SeedFile.yaml(document)
            }
            guard let output else {
                print(text, terminator: "")
                return
            }
            // Values are secrets: the file is created readable by its owner only.
            guard FileManager.default.createFile(atPath: output, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
                throw ManagementFailure("Cannot write \(output).")
            }
        }
    }
}
