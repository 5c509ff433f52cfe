import CoffreCertificates
import SwiftASN1
import Testing
import X509

@Suite struct SubjectNameTests {
    @Test func readsKeyVaultNamesMostSpecificFirst() throws {
        let name = try DistinguishedName(keyVaultSubject: "CN=www.example.com, O=Contoso, OU=IT, L=Redmond, S=WA, C=US, E=a@b.c")
        let expected = try DistinguishedName {
            EmailAddress("a@b.c")
            CountryName("US")
            StateOrProvinceName("WA")
            LocalityName("Redmond")
            OrganizationalUnitName("IT")
            OrganizationName("Contoso")
            CommonName("www.example.com")
        }
        #expect(name.map(\.description) == expected.map(\.description))
        #expect(name.keyVaultSubject == "CN=www.example.com, O=Contoso, OU=IT, L=Redmond, S=WA, C=US, E=a@b.c")
    }

    @Test func countryIsPrintableAndEmailIsIA5() throws {
        let name = try DistinguishedName(keyVaultSubject: "C=US, E=a@b.c")
        let values = name.flatMap { $0 }.map { ASN1Any($0.value) }
        #expect(values[0] == (try ASN1Any(erasing: ASN1IA5String("a@b.c"))))
        #expect(values[1] == (try ASN1Any(erasing: ASN1PrintableString("US"))))
    }

    @Test(arguments: [
        (#"CN="Contoso, Ltd", O=x"#, "Contoso, Ltd"),
        (#"CN=Contoso\, Ltd"#, "Contoso, Ltd"),
        ("CN=\"say \"\"hi\"\"\"", #"say "hi""#),
        (#"CN="back\\slash \"q\"""#, #"back\slash "q""#),
        (#"CN=DOMAIN\user"#, #"DOMAIN\user"#),
        (#"CN=caf\C3\A9"#, "café"),
        ("  CN  =  spaced value  ;O=x", "spaced value"),
        (#"CN=trailing\ "#, "trailing "),
        ("cn=lower", "lower"),
        ("CN=a=b", "a=b"),
    ])
    func readsQuotingAndEscapes(subject: String, commonName: String) throws {
        let name = try DistinguishedName(keyVaultSubject: subject)
        let value = try #require(name.last?.first?.value)
        #expect(String(value) == commonName)
    }

    @Test(arguments: [
        #"CN="Contoso, Ltd", O=x"#, #"CN=Contoso\, Ltd; OU=a+OU=b"#, #"CN="say ""hi""", O=" lead""#, #"CN="a\\b", L=#x"#,
        "CN=café, O=日本", "OID.1.2.3.4=custom, CN=x",
    ])
    func writesWhatItReads(subject: String) throws {
        let name = try DistinguishedName(keyVaultSubject: subject)
        let again = try DistinguishedName(keyVaultSubject: name.keyVaultSubject)
        #expect(again == name)
    }

    @Test func multiValuedNamesShareOneRelativeName() throws {
        let name = try DistinguishedName(keyVaultSubject: "CN=a+OU=b, O=c")
        #expect(name.count == 2)
        #expect(name.last?.count == 2)
    }

    @Test(arguments: [
        "", "   ", "CN", "CN=", "=value", "CN=a,", "CN=a, , O=b", #"CN="unclosed"#, #"CN="quoted" tail"#, "XYZ=1",
        "C=USA!", "E=é@x.y",
    ])
    func rejectsInvalidSubjects(subject: String) {
        #expect(throws: CertificateFailure(.invalidSubject, "")) { try DistinguishedName(keyVaultSubject: subject) }
    }

    @Test func errorsNameTheProblem() {
        do {
            _ = try DistinguishedName(keyVaultSubject: "CN=a, FOO=b")
            Issue.record("accepted an unknown attribute")
        } catch {
            #expect("\(error)".contains("FOO"))
        }
    }
}
