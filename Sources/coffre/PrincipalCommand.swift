import ArgumentParser
import Foundation

struct PrincipalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "principal", abstract: "Manage service principals (application identities) on a running server.",
        subcommands: [Create.self, List.self, Show.self, Delete.self, AddSecret.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a principal with a client secret; prints {tenantId, clientId, clientSecret, objectId, authority}.")
        @OptionGroup var data: DataOption
        @Option(help: "A display name.") var name: String

        func run() async throws {
            struct Body: Encodable { var name: String }
            ManagementClient.printJSON(try await ManagementClient(data: data).call(.POST, "principals", body: Body(name: name)))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List principals (secrets are never shown).")
        @OptionGroup var data: DataOption
        func run() async throws { ManagementClient.printJSON(try await ManagementClient(data: data).call(.GET, "principals")) }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a principal.")
        @OptionGroup var data: DataOption
        @Option(help: "Client id, object id or name.") var id: String
        func run() async throws { ManagementClient.printJSON(try await ManagementClient(data: data).call(.GET, "principals/\(id)")) }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a principal; its tokens stay valid until they expire.")
        @OptionGroup var data: DataOption
        @Option(help: "Client id, object id or name.") var id: String
        func run() async throws { ManagementClient.printJSON(try await ManagementClient(data: data).call(.DELETE, "principals/\(id)")) }
    }

    struct AddSecret: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add-secret", abstract: "Add a client secret to a principal (rotation); prints it once.")
        @OptionGroup var data: DataOption
        @Option(help: "Client id, object id or name.") var id: String
        func run() async throws {
            ManagementClient.printJSON(try await ManagementClient(data: data).call(.POST, "principals/\(id)/secrets"))
        }
    }
}
