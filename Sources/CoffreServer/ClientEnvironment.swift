import CoffreCore
import Foundation

/// The environment that points Azure SDKs and tools at a server (`coffre env`, and an ephemeral server's env file).
public enum ClientEnvironment {
    /// The variables, in order: the vault URL, the CA bundle (sync and async Python clients), the token service,
    /// `adding` (a Managed HSM pool's), and the App-Service-style managed identity when the root key is at hand.
    public static func variables(
        configuration: ServerConfiguration, caFile: String, identityHeader: String?, vault: String? = nil,
        adding: [(name: String, value: String)] = []
    ) -> [(name: String, value: String)] {
        var variables: [(name: String, value: String)] = [
            ("AZURE_KEYVAULT_URL", configuration.vaultURL(vault ?? configuration.defaultVault)),
            ("REQUESTS_CA_BUNDLE", caFile),
            ("SSL_CERT_FILE", caFile),
            ("AZURE_AUTHORITY_HOST", configuration.authority),
            ("AZURE_TENANT_ID", configuration.tenantId ?? ""),
            // The Azure CLI: MSAL must not ask login.microsoftonline.com about Coffre's authority (instance discovery).
            ("AZURE_CORE_INSTANCE_DISCOVERY", "false"),
            ("AZURE_SUBSCRIPTION_ID", configuration.tenantId.map(Subscription.id(forTenant:)) ?? ""),
        ]
        variables += adding
        if let identityHeader {
            variables += [("IDENTITY_ENDPOINT", "\(configuration.authority)/msi/token"), ("IDENTITY_HEADER", identityHeader)]
        }
        return variables
    }

    /// `export NAME='value'` lines.
    public static func exports(_ variables: [(name: String, value: String)]) -> String {
        variables.map { "export \($0.name)=\(shellQuoted($0.value))\n" }.joined()
    }

    public static func shellQuoted(_ value: String) -> String {
        "'" + value.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// An ephemeral server's env file: `coffre env`'s lines plus `COFFRE_PORT` and `COFFRE_ENV_FILE` (so that `coffre`
    /// commands run after sourcing it reach this server), then the CA certificate in a here-document that the shell
    /// skips and TLS libraries read (PEM readers ignore the lines around a certificate): the file is its own CA bundle.
    public static func ephemeralFile(configuration: ServerConfiguration, path: String, port: Int, identityHeader: String, caPEM: String) -> String {
        var variables = variables(configuration: configuration, caFile: path, identityHeader: identityHeader)
        variables += [("COFFRE_PORT", String(port)), ("COFFRE_ENV_FILE", path)]
        return "# Coffre ephemeral server (coffre serve --ephemeral): source this file, or read its export lines.\n"
            + exports(variables) + ": <<'COFFRE_CA_CERTIFICATE'\n" + caPEM + (caPEM.hasSuffix("\n") ? "" : "\n") + "COFFRE_CA_CERTIFICATE\n"
    }
}
