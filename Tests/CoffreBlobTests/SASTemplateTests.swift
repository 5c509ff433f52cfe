import CoffreCrypto
import CoffreModel
import Foundation
import Testing

@testable import CoffreBlob

/// Key Vault SAS definitions' templates: the tokens made from them are the official clients' tokens for the same fields,
/// key and expiry (string-to-sign, signature, token), and the Blob service accepts them; templates Coffre cannot sign
/// are refused with the reason.
@Suite struct SASTemplateTests {
    static let names = Vectors.shared.templates.map(\.name)

    static func vector(_ name: String) -> Vectors.Template { Vectors.shared.templates.first { $0.name == name }! }

    static func token(_ vector: Vectors.Template) throws -> String {
        try SASTemplate(vector.templateUri, kind: SASTemplate.Kind(rawValue: vector.sasType)!).token(
            account: Vectors.shared.account, key: Vectors.shared.key(vector.key), expiry: StorageDate.parseISO8601(vector.expiry)!)
    }

    @Test(arguments: names) func tokensAreTheOfficialClientsForTheTemplatesFields(name: String) throws {
        let vector = Self.vector(name)
        #expect(try Self.token(vector) == vector.token, "\(vector.client)")
    }

    @Test(arguments: names) func stringToSignAndSignatureAreTheOfficialClients(name: String) throws {
        let vector = Self.vector(name)
        let fields = SASFields(query: try QueryParameters(try Self.token(vector)))
        let stringToSign =
            vector.sasType == "account"
            ? fields.accountStringToSign(account: Vectors.shared.account)
            : fields.serviceStringToSign(canonicalPath: Self.path(vector.templateUri), account: Vectors.shared.account)
        #expect(stringToSign == vector.stringToSign)
        #expect(fields["sig"] == Base64.standardEncoded(Digest.hmacSHA256(key: Vectors.shared.key(vector.key), Array(stringToSign.utf8))))
        #expect(fields["se"] == vector.expiry)
    }

    /// `{container}` or `{container}/{blob}` of a service template's URL, decoded.
    static func path(_ template: String) -> String {
        PercentEncoding.decodeLeniently(BlobURL(template)!.path.dropFirst(), plusIsSpace: false)
    }

    @Test func theBlobServiceAcceptsTheTokensUntilTheKeyIsRegenerated() async throws {
        let f = try await BlobFixture()
        #expect(await f.signed("PUT", "/vectors", query: "restype=container").status == 201)
        let path = "/vectors/dir/a%20b%2Bc.txt"
        #expect(await f.signed("PUT", path, headers: [("x-ms-blob-type", "BlockBlob")], body: Array("content".utf8)).status == 201)
        let account = try Self.token(Self.vector("template-account"))
        let unsigned = try Self.token(Self.vector("track1-template-unsigned"))
        let blob = try Self.token(Self.vector("template-blob"))
        #expect(await f.send("GET", "/vectors", query: "restype=container&comp=list", token: account).status == 200)
        #expect(await f.send("GET", "/vectors", query: "restype=container&comp=list", token: unsigned).status == 200)
        let download = await f.send("GET", path, token: blob)
        #expect(download.status == 200)
        #expect(download.header("Content-Disposition") == "attachment")
        _ = try await f.accounts.regenerateKey("key1", of: f.account.name)
        #expect(await f.send("GET", "/vectors", query: "restype=container&comp=list", token: account).status == 403)
        #expect(await f.send("GET", path, token: blob).status == 200, "signed with key2")
    }

    @Test func everyFieldButTheExpiryAndSignatureIsKept() throws {
        let template = try SASTemplate(
            "?sv=2026-10-06&ss=bq&srt=co&sp=rl&st=2026-01-01T00:00:00Z&se=2020-01-01T00:00:00Z&sip=10.0.0.1&spr=https,http&ses=s1&sig=AAAA",
            kind: .account)
        let token = try QueryParameters(template.token(account: "acct", key: [1, 2, 3], expiry: 1_800_000_000))
        #expect(token.pairs.map(\.name) == ["st", "se", "sp", "sip", "spr", "sv", "ss", "srt", "ses", "sig"])
        #expect(token["st"] == "2026-01-01T00:00:00Z" && token["se"] == SharedAccessSignature.time(1_800_000_000))
        #expect(token["sip"] == "10.0.0.1" && token["spr"] == "https,http" && token["ses"] == "s1" && token["sig"] != "AAAA")
    }

    @Test func templatesCoffreCannotSignAreRefusedWithTheReason() throws {
        let refused: [(String, SASTemplate.Kind, String)] = [
            ("sv=2026-10-06&ss=b&srt=sco&sp=r&si=policy", .account, "si"),
            ("sv=2026-10-06&ss=b&srt=sco&sp=r&skoid=x", .account, "skoid"),
            ("sv=2026-10-06&sr=c&sp=r", .account, "sr"),
            ("ss=b&srt=sco&sp=r", .account, "signed version"),
            ("sv=2014-02-14&ss=b&srt=sco&sp=r", .account, "signed version"),
            ("sv=banana&ss=b&srt=sco&sp=r", .account, "signed version"),
            ("sv=2026-10-06&ss=b&srt=sco", .account, "permissions"),
            ("sv=2026-10-06&ss=x&srt=sco&sp=r", .account, "services"),
            ("sv=2026-10-06&ss=b&srt=sco&sp=rz", .account, "account permissions"),
            ("sv=2026-10-06&ss=b&srt=sco&sp=r&st=yesterday", .account, "start time"),
            ("sv=2026-10-06&ss=b&srt=sco&sp=r&spr=http", .account, "protocol"),
            ("sv=2026-10-06&ss=b&srt=sco&sp=r&x=%ZZ", .account, "percent-encoded"),
            ("sv=2026-10-06&sr=c&sp=r", .service, "URL"),
            ("https://a.blob.localhost/c?sv=2026-10-06&sr=c&sp=wr", .service, "order"),
            ("https://a.blob.localhost/c?sv=2026-10-06&sr=b&sp=r", .service, "blob URL"),
            ("https://a.blob.localhost/c/b?sv=2026-10-06&sr=c&sp=r", .service, "container URL"),
            ("https://a.blob.localhost/c?sv=2026-10-06&sr=bs&sp=r", .service, "container URL"),
            ("https://a.blob.localhost/?sv=2026-10-06&sr=c&sp=r", .service, "container URL"),
            ("https://a.blob.localhost/c?sv=2026-10-06&sr=c&sp=r&ss=b", .service, "ss"),
        ]
        for (template, kind, reason) in refused {
            #expect {
                try SASTemplate(template, kind: kind)
            } throws: { error in
                guard case CoffreError.badParameter(let message) = error else { return false }
                return message.contains(reason)
            }
        }
    }
}
