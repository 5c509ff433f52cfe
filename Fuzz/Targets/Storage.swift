import CoffreBlob

extension FuzzTarget {
    /// SAS definition templates (`PUT /storage/{account}/sas/{definition}` `templateUri`), of both kinds, and the tokens
    /// made from the ones accepted.
    static let sasTemplate = FuzzTarget(
        "sas-template",
        seeds: {
            [
                "sv=2026-10-06&ss=b&srt=sco&sp=rwdlacup&spr=https&se=2020-01-01T00%3A00%3A00Z&sig=AAAA",
                "?sv=2018-03-28&ss=bfqt&srt=sco&sp=rwdlacup&st=2026-01-01T00:00:00Z&sip=10.0.0.1-10.0.0.9&ses=scope",
                "https://acct.blob.localhost:8443/container?sv=2026-10-06&sr=c&sp=rl&se=2020-01-01T00%3A00%3A00Z&sig=AAAA",
                "https://acct.blob.localhost/c/dir/a%20b%2Bc.txt?sv=2015-04-05&sr=b&sp=r&rscd=attachment&rsct=text%2Fplain",
            ].map { Array($0.utf8) }
        },
        run: { bytes in
            for kind in SASTemplate.Kind.allCases {
                if let template = try? SASTemplate(String(fuzzed: bytes), kind: kind) {
                    _ = template.token(account: "fuzz", key: [1, 2, 3], expiry: 1_800_000_000)
                }
            }
        })
}
