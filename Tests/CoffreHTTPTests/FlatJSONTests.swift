import CoffreModel
import Foundation
import NIOCore
import Testing

@testable import CoffreHTTP

/// `FlatJSON` must read exactly what `JSONDecoder` reads, or step aside.
@Suite struct FlatJSONTests {
    static let readByFlatJSON = [
        #"{"alg":"ES256","value":"n4bQgYhMfWWaL-qgxVrQFaO_TxsrC4Is0V1sFbDwCgg"}"#,
        #"{}"#,
        " \n{ \"alg\" : \"RS256\" ,\t\"value\":\"abc\" ,\"unknown\":\"x\"}\r\n ",
        #"{"alg":null,"value":"v"}"#,
        #"{"alg":"A256KW","value":"","iv":"aXY","aad":"YWFk","tag":"dGFn"}"#,
        #"{"alg":"~ !#$%&'()*+,-./0123456789:;<=>?@[]^_`{|}"}"#,
    ]

    static let leftToJSONDecoder = [
        #"{"alg":"ES\u0032256","value":"v"}"#, // an escape
        #"{"alg":"ES256","value":"\/"}"#,
        "{\"alg\":\"é\"}", // non-ASCII
        #"{"alg":"ES256","alg":"RS256"}"#, // a repeated name
        #"{"alg":null,"alg":"RS256"}"#,
        #"{"alg":"ES256","alg":null}"#,
        #"{"alg":"ES256","count":1}"#, // another type, unknown member
        #"{"alg":"ES256","nested":{"a":"b"}}"#,
        #"{"alg":"ES256","list":["a"]}"#,
        #"{"alg":1}"#, // another type, known member
        #"{"alg":true}"#,
        #"{"alg":"ES256",}"#, // malformed
        #"{"alg":"ES256"} x"#,
        #"{"alg":"ES256""#,
        #"{"alg" "ES256"}"#,
        #"{"alg":nul}"#,
        #"["ES256"]"#,
        #""ES256""#,
        "{\"alg\":\"a\tb\"}", // a raw control character
    ]

    @Test(arguments: readByFlatJSON)
    func readsFlatObjectsAsJSONDecoderDoes(_ text: String) throws {
        let body = ByteBuffer(string: text)
        let members = try #require(FlatJSON.members(of: body))
        let expected = try JSONDecoder().decode(KeyOperationParameters.self, from: Data(text.utf8))
        #expect(KeyOperationParameters(flat: members) == expected)
        #expect(try JSON.decode(KeyOperationParameters.self, from: body) == expected)
    }

    @Test(arguments: leftToJSONDecoder)
    func leavesEverythingElseToJSONDecoder(_ text: String) {
        let body = ByteBuffer(string: text)
        #expect(FlatJSON.members(of: body) == nil)
        let expected = Result { try JSONDecoder().decode(KeyOperationParameters.self, from: Data(text.utf8)) }
        let decoded = Result { try JSON.decode(KeyOperationParameters.self, from: body) }
        switch (expected, decoded) {
        case (.success(let expected), .success(let decoded)): #expect(decoded == expected)
        case (.failure, .failure(let error)):
            guard case .badParameter = error as? CoffreError else {
                Issue.record("not a BadParameter: \(error)")
                return
            }
        default: Issue.record("JSONDecoder gave \(expected), JSON.decode gave \(decoded)")
        }
    }

    @Test func membersOfOtherTypesAreLeftToDecodable() throws {
        let flat = try JSON.decode(SecretSetParameters.self, from: ByteBuffer(string: #"{"value":"s3cret","contentType":"text/plain"}"#))
        #expect(flat.value == "s3cret" && flat.contentType == "text/plain" && flat.tags == nil && flat.attributes == nil)
        let nested = try JSON.decode(SecretSetParameters.self, from: ByteBuffer(string: #"{"value":"v","tags":{"a":"b"}}"#))
        #expect(nested.value == "v" && nested.tags == ["a": "b"])
        for text in [#"{"value":"v","tags":"a=b"}"#, #"{"value":"v","attributes":"enabled"}"#] {
            #expect(FlatJSON.members(of: ByteBuffer(string: text)) != nil)
            #expect(throws: CoffreError.self) { try JSON.decode(SecretSetParameters.self, from: ByteBuffer(string: text)) }
        }
        let key = try JSON.decode(KeyCreateParameters.self, from: ByteBuffer(string: #"{"kty":"EC","crv":"P-256"}"#))
        #expect(key.kty == "EC" && key.crv == "P-256" && key.key_size == nil)
        #expect(try JSON.decode(KeyCreateParameters.self, from: ByteBuffer(string: #"{"kty":"RSA","key_size":3072}"#)).key_size == 3072)
        #expect(throws: CoffreError.self) { try JSON.decode(KeyCreateParameters.self, from: ByteBuffer(string: #"{"kty":"RSA","key_size":"3072"}"#)) }
    }

    @Test func anEmptyBodyIsStillAMissingBody() {
        #expect(throws: CoffreError.badParameter("The request body is missing: this operation requires a JSON body.")) {
            try JSON.decode(KeySignParameters.self, from: ByteBuffer())
        }
    }
}
