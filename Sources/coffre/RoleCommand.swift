import ArgumentParser
import Foundation

struct RoleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "role", abstract: "Azure RBAC: data access to vaults with --enable-rbac-authorization, and Azure Resource Manager rights.",
        subcommands: [Assignment.self, Definition.self])

    struct Assignment: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "assignment", abstract: "Role assignments.", subcommands: [Create.self, List.self, Delete.self])

        struct Create: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Assign a built-in role on the subscription, a resource group, a vault or a single object.")
            @OptionGroup var data: DataOption
            @Option(help: "The role's name (\"Key Vault Secrets User\") or id.") var role: String
            @Option(help: "The principal's object id (or client id, or name).") var assignee: String
            @Option(help: "/vaults/{vault}[/{secrets|keys|certificates}/{name}], /subscriptions/{s}[/resourceGroups/{g}] or a resource id.")
            var scope: String

            func run() async throws {
                struct Body: Encodable {
                    var role: String
                    var assignee: String
                    var scope: String
                }
                let body = Body(role: role, assignee: assignee, scope: scope)
                ManagementClient.printJSON(try await ManagementClient(data: data).call(.POST, "roleassignments", body: body))
            }
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List the role assignments of a vault.")
            @OptionGroup var data: DataOption
            @Option(help: "The vault name.") var vault: String
            func run() async throws {
                ManagementClient.printJSON(try await ManagementClient(data: data).call(.GET, "vaults/\(vault)/roleassignments"))
            }
        }

        struct Delete: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Delete a role assignment.")
            @OptionGroup var data: DataOption
            @Option(help: "The vault name.") var vault: String
            @Option(help: "The assignment id.") var id: String
            func run() async throws {
                ManagementClient.printJSON(try await ManagementClient(data: data).call(.DELETE, "vaults/\(vault)/roleassignments/\(id)"))
            }
        }
    }

    struct Definition: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "definition", abstract: "Built-in role definitions.", subcommands: [List.self])

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List the built-in roles and their data actions.")
            @OptionGroup var data: DataOption
            func run() async throws { ManagementClient.printJSON(try await ManagementClient(data: data).call(.GET, "roledefinitions")) }
        }
    }
}
