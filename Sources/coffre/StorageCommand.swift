import ArgumentParser
import Foundation

struct StorageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "storage", abstract: "Storage accounts of Coffre's Blob service.", subcommands: [Account.self])

    struct Account: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "account", abstract: "Manage storage accounts and their keys on a running server.",
            subcommands: [Create.self, List.self, Show.self, Keys.self, RegenerateKey.self, ShowConnectionString.self, Delete.self])
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a storage account with two new keys.")
        @OptionGroup var data: DataOption
        @Option(help: "The account name (3-24 lower-case letters and digits).") var name: String

        func run() async throws {
            struct Body: Encodable { var name: String }
            ManagementClient.printJSON(try await ManagementClient(data: data).call(.POST, "storage/accounts", body: Body(name: name)))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the storage accounts.")
        @OptionGroup var data: DataOption
        func run() async throws { ManagementClient.printJSON(try await ManagementClient(data: data).call(.GET, "storage/accounts")) }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a storage account and its Blob endpoint.")
        @OptionGroup var data: DataOption
        @Option(help: "The account name.") var name: String
        func run() async throws { ManagementClient.printJSON(try await ManagementClient(data: data).call(.GET, "storage/accounts/\(name)")) }
    }

    struct Keys: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the account's two keys (key1, key2), as `az storage account keys list`.")
        @OptionGroup var data: DataOption
        @Option(help: "The account name.") var name: String
        func run() async throws {
            ManagementClient.printJSON(try await ManagementClient(data: data).call(.GET, "storage/accounts/\(name)/keys"))
        }
    }

    struct RegenerateKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replace one key with a new one: what the old key signed (requests, SAS tokens) is refused from now on.")
        @OptionGroup var data: DataOption
        @Option(help: "The account name.") var name: String
        @Option(help: "key1 or key2.") var key: String

        func run() async throws {
            struct Body: Encodable { var keyName: String }
            let path = "storage/accounts/\(name)/keys/regenerate"
            ManagementClient.printJSON(try await ManagementClient(data: data).call(.POST, path, body: Body(keyName: key)))
        }
    }

    struct ShowConnectionString: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show-connection-string", abstract: "The connection string of the account (its key1 and Blob endpoint).")
        @OptionGroup var data: DataOption
        @Option(help: "The account name.") var name: String
        @Option(help: "The key to put in it (key1 or key2).") var key = "key1"

        func run() async throws {
            struct Account: Decodable { var blobEndpoint: String }
            struct Key: Decodable {
                var keyName: String
                var value: String
            }
            let client = try ManagementClient(data: data)
            let account = try JSONDecoder().decode(Account.self, from: try await client.call(.GET, "storage/accounts/\(name)"))
            let keys = try JSONDecoder().decode([Key].self, from: try await client.call(.GET, "storage/accounts/\(name)/keys"))
            guard let value = keys.first(where: { $0.keyName == key })?.value else {
                throw ManagementFailure("No key named \(key): use key1 or key2.")
            }
            let connectionString = "DefaultEndpointsProtocol=https;AccountName=\(name);AccountKey=\(value);BlobEndpoint=\(account.blobEndpoint)"
            ManagementClient.printJSON(try JSONEncoder().encode(["connectionString": connectionString]))
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a storage account with every container and blob in it.")
        @OptionGroup var data: DataOption
        @Option(help: "The account name.") var name: String
        func run() async throws { _ = try await ManagementClient(data: data).call(.DELETE, "storage/accounts/\(name)") }
    }
}
