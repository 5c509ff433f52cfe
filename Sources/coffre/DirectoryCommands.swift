import ArgumentParser
import Foundation

struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user", abstract: "Manage people (users who sign in with a name and a password) on a running server.",
        subcommands: [Create.self, List.self, Show.self, Delete.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a user; prints {objectId, userPrincipalName, tenantId} (and the password, once, when none was given).")
        @OptionGroup var data: DataOption
        @Option(help: "The user principal name (alice@example.test).") var upn: String
        @Option(help: "A file whose first line is the password (8-256 characters); without it, one is generated.")
        var passwordFile: String?
        @Option(help: "A display name (default: the part of the name before @).") var displayName: String?

        func run() async throws {
            struct Body: Encodable {
                var userPrincipalName: String
                var password: String?
                var displayName: String?
            }
            let password = try passwordFile.map { path in
                guard let data = FileManager.default.contents(atPath: path) else { throw ManagementFailure("Cannot read \(path).") }
                return String(String(decoding: data, as: UTF8.self).prefix { $0 != "\n" && $0 != "\r\n" && $0 != "\r" })
            }
            let body = Body(userPrincipalName: upn, password: password, displayName: displayName)
            ManagementClient.printJSON(try await ManagementClient(data: data).call(.POST, "users", body: body))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List users (passwords are never shown).")
        @OptionGroup var data: DataOption
        func run() async throws { ManagementClient.printJSON(try await ManagementClient(data: data).call(.GET, "users")) }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a user.")
        @OptionGroup var data: DataOption
        @Option(name: [.customLong("upn"), .customLong("id")], help: "User principal name or object id.") var upn: String
        func run() async throws {
            ManagementClient.printJSON(try await ManagementClient(data: data).call(.GET, "users/" + pathSegment(upn)))
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a user: its group memberships and sign-ins (refresh tokens) end; access tokens expire within the hour.")
        @OptionGroup var data: DataOption
        @Option(name: [.customLong("upn"), .customLong("id")], help: "User principal name or object id.") var upn: String
        func run() async throws {
            ManagementClient.printJSON(try await ManagementClient(data: data).call(.DELETE, "users/" + pathSegment(upn)))
        }
    }
}

struct GroupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "group", abstract: "Manage groups: a grant to a group applies to its members, through nested groups.",
        subcommands: [Create.self, List.self, Show.self, Delete.self, AddMember.self, RemoveMember.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a group; prints {objectId, displayName}.")
        @OptionGroup var data: DataOption
        @Option(help: "The group's name (unique).") var name: String
        func run() async throws {
            struct Body: Encodable { var name: String }
            ManagementClient.printJSON(try await ManagementClient(data: data).call(.POST, "groups", body: Body(name: name)))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List groups and their direct members.")
        @OptionGroup var data: DataOption
        func run() async throws { ManagementClient.printJSON(try await ManagementClient(data: data).call(.GET, "groups")) }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a group and its direct members.")
        @OptionGroup var data: DataOption
        @Option(name: [.customLong("group"), .customLong("name"), .customLong("id")], help: "The group's name or object id.") var group: String
        func run() async throws {
            ManagementClient.printJSON(try await ManagementClient(data: data).call(.GET, "groups/" + pathSegment(group)))
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a group; grants naming it grant nothing any more.")
        @OptionGroup var data: DataOption
        @Option(name: [.customLong("group"), .customLong("name"), .customLong("id")], help: "The group's name or object id.") var group: String
        func run() async throws {
            ManagementClient.printJSON(try await ManagementClient(data: data).call(.DELETE, "groups/" + pathSegment(group)))
        }
    }

    struct AddMember: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add-member", abstract: "Add a user, an application or a group to a group (applies to the next request).")
        @OptionGroup var data: DataOption
        @Option(help: "The group's name or object id.") var group: String
        @Option(help: "The member's object id (or a user principal name, an application's client id, a group's name).") var member: String
        func run() async throws {
            let path = "groups/\(pathSegment(group))/members/\(pathSegment(member))"
            ManagementClient.printJSON(try await ManagementClient(data: data).call(.PUT, path))
        }
    }

    struct RemoveMember: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "remove-member", abstract: "Remove a member from a group (applies to the next request).")
        @OptionGroup var data: DataOption
        @Option(help: "The group's name or object id.") var group: String
        @Option(help: "The member's object id (or a user principal name, an application's client id, a group's name).") var member: String
        func run() async throws {
            let path = "groups/\(pathSegment(group))/members/\(pathSegment(member))"
            ManagementClient.printJSON(try await ManagementClient(data: data).call(.DELETE, path))
        }
    }
}

/// `text` percent-encoded as one path segment.
func pathSegment(_ text: String) -> String {
    text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~@"))) ?? text
}
