import ArgumentParser
import Foundation

struct PrincipalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "principal", abstract: "Manage service principals (application identities) on a running server.",
        subcommands: [
            Create.self, List.self, Show.self, Delete.self, AddSecret.self, RemoveSecret.self, AddCertificate.self, RemoveCertificate.self,
        ])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a principal; prints {tenantId, clientId, clientSecret, objectId, authority}.")
        @OptionGroup var data: DataOption
        @Option(help: "A display name.") var name: String
        @Flag(help: "Make it a managed identity: local workloads get its tokens from the managed-identity endpoints.")
        var managedIdentity = false
        @Option(help: "A certificate (PEM or DER file) whose private key will sign client assertions.") var certificate: String?
        @Flag(help: "Do not give it a client secret.") var noSecret = false

        func run() async throws {
            struct Body: Encodable {
                var name: String
                var managedIdentity: Bool
                var certificate: String?
                var secret: Bool
            }
            let body = Body(
                name: name, managedIdentity: managedIdentity, certificate: try certificate.map(readCertificate), secret: !noSecret)
            ManagementClient.printJSON(try await ManagementClient(data: data).call(.POST, "principals", body: body))
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
            commandName: "add-secret", abstract: "Add a client secret (rotation: the old one stays valid until removed); prints it once.")
        @OptionGroup var data: DataOption
        @Option(help: "Client id, object id or name.") var id: String
        func run() async throws {
            ManagementClient.printJSON(try await ManagementClient(data: data).call(.POST, "principals/\(id)/secrets"))
        }
    }

    struct RemoveSecret: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "remove-secret", abstract: "Remove a client secret by its id.")
        @OptionGroup var data: DataOption
        @Option(help: "Client id, object id or name.") var id: String
        @Option(help: "The secret's id (see `principal show`).") var secretId: String
        func run() async throws {
            ManagementClient.printJSON(try await ManagementClient(data: data).call(.DELETE, "principals/\(id)/secrets/\(secretId)"))
        }
    }

    struct AddCertificate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add-certificate", abstract: "Register a certificate (public part only) for client assertions.")
        @OptionGroup var data: DataOption
        @Option(help: "Client id, object id or name.") var id: String
        @Option(help: "A PEM or DER certificate file.") var certificate: String
        func run() async throws {
            struct Body: Encodable { var certificate: String }
            let body = Body(certificate: try readCertificate(certificate))
            ManagementClient.printJSON(try await ManagementClient(data: data).call(.POST, "principals/\(id)/certificates", body: body))
        }
    }

    struct RemoveCertificate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "remove-certificate", abstract: "Remove a registered certificate by id or thumbprint.")
        @OptionGroup var data: DataOption
        @Option(help: "Client id, object id or name.") var id: String
        @Option(help: "The certificate's id, SHA-1 or SHA-256 thumbprint (hex).") var thumbprint: String
        func run() async throws {
            ManagementClient.printJSON(try await ManagementClient(data: data).call(.DELETE, "principals/\(id)/certificates/\(thumbprint)"))
        }
    }
}

/// A certificate file's content: PEM as text, DER as base64.
func readCertificate(_ path: String) throws -> String {
    guard let data = FileManager.default.contents(atPath: path) else { throw ManagementFailure("Cannot read \(path).") }
    let text = String(decoding: data, as: UTF8.self)
    return text.contains("-----BEGIN") ? text : data.base64EncodedString()
}
