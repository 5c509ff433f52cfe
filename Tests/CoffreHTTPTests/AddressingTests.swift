import CoffreModel
import Testing

@testable import CoffreHTTP

@Suite struct HostAddressingTests {
    let addressing = Addressing(
        vaultZones: ["vault.localhost", "Vault.Example.org"], hsmZones: ["managedhsm.localhost"], blobZones: ["blob.localhost"], publicPort: 8443,
        defaultVault: try! VaultName("default"), authority: "https://localhost:8443")

    @Test(arguments: [
        ("myvault.vault.localhost:8443", Addressing.Target.vault("myvault", zone: "vault.localhost")),
        ("MyVault.VAULT.localhost", .vault("myvault", zone: "vault.localhost")),
        ("kv-1.vault.example.org:443", .vault("kv-1", zone: "vault.example.org")),
        ("pool.managedhsm.localhost:8443", .hsm("pool", zone: "managedhsm.localhost")),
        ("acct.blob.localhost:8443", .blob("acct", zone: "blob.localhost")),
        ("x.acct.blob.localhost", .server),
        ("localhost:8443", .server),
        ("vault.localhost", .server),
        (".vault.localhost", .server),
        ("a.b.vault.localhost", .server),
        ("myvaultxvault.localhost", .server),
        ("myvault.vault.localhost.evil", .server),
        ("[::1]:8443", .server),
        ("127.0.0.1:8443", .server),
    ])
    func hostsNameTheirTarget(_ host: String, _ target: Addressing.Target) {
        #expect(addressing.target(forHost: host) == target)
    }

    @Test func blobEndpointsEchoTheZoneAndPort() {
        #expect(addressing.blobURL("acct") == "https://acct.blob.localhost:8443/")
    }

    @Test func vaultNamesRefuseDoubleHyphensAndBadEnds() throws {
        #expect(try VaultName("My-Vault-1").value == "my-vault-1")
        for bad in ["my--vault", "-vault", "vault-", "1vault", "ab", String(repeating: "a", count: 25), "vault_1"] {
            #expect(throws: CoffreError.self) { try VaultName(bad) }
        }
    }
}

@Suite struct FormsTests {
    @Test func queriesSplitIntoDecodedPairs() {
        #expect(Forms.parse("api-version=7.5&maxresults=2", plusIsSpace: false) == ["api-version": "7.5", "maxresults": "2"])
        #expect(Forms.parse("a=1&&b=&c&=x&d=%41+b%2", plusIsSpace: false) == ["a": "1", "b": "", "c": "", "": "x", "d": "A+b%2"])
        #expect(Forms.parse("d=%41+b&e=x=y", plusIsSpace: true) == ["d": "A b", "e": "x=y"])
        #expect(Forms.parse("", plusIsSpace: true) == [:])
    }

    @Test func hostnamesLoseTheirPort() {
        #expect(Addressing.hostname("kv.vault.localhost:8443") == "kv.vault.localhost")
        #expect(Addressing.hostname("kv.vault.localhost") == "kv.vault.localhost")
        #expect(Addressing.hostname("[::1]:8443") == "[::1]")
        #expect(Addressing.hostname("[::1") == "[::1")
        #expect(Addressing.hostname("") == "")
    }
}
