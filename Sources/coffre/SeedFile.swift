import CoffreCore
import CoffreCrypto
import Foundation
import Yams

/// Seed files (YAML or JSON, see docs/seed-format.md) as the command line reads and writes them: the files they name
/// (`file:`, `pemFile:`, relative to the seed file) are read here, so the server receives everything inline.
enum SeedFile {
    /// The document at `path`; a file that holds one vault's body (no `vaults:` list) is a document of that vault.
    static func load(_ path: String) throws -> SeedDocument {
        guard let data = FileManager.default.contents(atPath: path) else { throw ManagementFailure("Cannot read the seed file \(path).") }
        let text = String(decoding: data, as: UTF8.self)
        var document: SeedDocument
        do {
            guard let node = try Yams.compose(yaml: text) else { throw ManagementFailure("\(path) is empty.") }
            let decoder = YAMLDecoder()
            document =
                node["vaults"] != nil
                ? try decoder.decode(SeedDocument.self, from: node) : SeedDocument(vaults: [try decoder.decode(VaultSeed.self, from: node)])
        } catch let failure as ManagementFailure {
            throw failure
        } catch {
            throw ManagementFailure("\(path) is not a seed file: \(describe(error))")
        }
        let base = URL(fileURLWithPath: path).deletingLastPathComponent()
        for v in document.vaults.indices {
            for k in (document.vaults[v].keys ?? []).indices {
                guard let file = document.vaults[v].keys?[k].pemFile else { continue }
                document.vaults[v].keys?[k].pem = String(decoding: try read(file, relativeTo: base), as: UTF8.self)
                document.vaults[v].keys?[k].pemFile = nil
            }
            for c in (document.vaults[v].certificates ?? []).indices {
                guard let file = document.vaults[v].certificates?[c].file else { continue }
                let bytes = try read(file, relativeTo: base)
                let text = String(decoding: bytes, as: UTF8.self)
                if text.contains("-----BEGIN") {
                    document.vaults[v].certificates?[c].pem = text
                } else {
                    document.vaults[v].certificates?[c].pfx = Base64.standardEncoded(bytes)
                }
                document.vaults[v].certificates?[c].file = nil
            }
        }
        return document
    }

    /// The vault of `document` to import as `name`: its only vault, or the one of that name.
    static func vault(named name: String, in document: SeedDocument) throws -> VaultSeed {
        if document.vaults.count == 1 { return document.vaults[0] }
        guard let vault = document.vaults.first(where: { $0.name?.lowercased() == name.lowercased() }) else {
            throw ManagementFailure("The seed file has \(document.vaults.count) vaults and none is named \(name).")
        }
        return vault
    }

    static func yaml(_ document: SeedDocument) throws -> String { try YAMLEncoder().encode(document) }

    private static func read(_ file: String, relativeTo base: URL) throws -> Data {
        let url = file.hasPrefix("/") ? URL(fileURLWithPath: file) : base.appendingPathComponent(file)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ManagementFailure("Cannot read \(url.path), named in the seed file.")
        }
        return data
    }

    /// A decoding error as a person reads it: what is wrong, and where.
    private static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context), DecodingError.dataCorrupted(let context):
            return context.debugDescription + " at " + path(context.codingPath)
        case DecodingError.keyNotFound(let key, let context):
            return "'\(key.stringValue)' is missing at " + path(context.codingPath)
        default:
            return "\(error)"
        }
    }

    private static func path(_ codingPath: [any CodingKey]) -> String {
        codingPath.isEmpty ? "the top" : codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
    }
}
