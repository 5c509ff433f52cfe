import ArgumentParser
import CoffreKeyCustody
import Foundation

struct PKCS11Command: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pkcs11", abstract: "Prepare the PKCS#11 token that keeps RSA-HSM and EC-HSM keys.", subcommands: [CreateBackupKey.self])

    struct CreateBackupKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create the token's trusted backup wrapping key ('coffre-backup'), as the token's security officer.",
            discussion: """
                Hardware-key backups are the private key wrapped by this AES-256 key, which never leaves the token: they \
                restore only into a token holding the same key. Keys Coffre makes after it exists can be backed up even \
                when they are not exportable (they may be wrapped by this trusted key only); keys made before cannot. \
                Without --value-file the key is generated inside the token. With it (32 bytes), two tokens given the same \
                file share the key; destroy the file afterwards. Your HSM vendor's tools may do the same (an AES-256 \
                secret key labelled coffre-backup with CKA_TRUSTED, CKA_WRAP and CKA_UNWRAP).
                """)

        @Option(help: "The PKCS#11 module (shared library), as given to `coffre serve --pkcs11-module`.") var pkcs11Module: String
        @Option(help: "The token's label.") var pkcs11TokenLabel: String
        @Option(help: "A file holding the token's security officer PIN.") var soPinFile: String
        @Option(help: "A file holding the key's 32 bytes (to share it between tokens); default: generated in the token.")
        var valueFile: String?

        func run() async throws {
            let value = try valueFile.map { path in
                guard let data = FileManager.default.contents(atPath: path), data.count == 32 else {
                    throw ValidationError("--value-file must hold exactly 32 bytes.")
                }
                return Array(data)
            }
            let token = PKCS11Custody.Configuration(modulePath: pkcs11Module, tokenLabel: pkcs11TokenLabel, pinFile: soPinFile)
            do {
                try PKCS11Custody.createBackupKey(token, soPINFile: soPinFile, value: value)
            } catch let failure as CustodyFailure {
                throw ManagementFailure("The backup wrapping key was not created: \(failure)")
            }
            print("Created the trusted backup wrapping key '\(token.backupKeyLabel)' in token '\(pkcs11TokenLabel)'.")
        }
    }
}
