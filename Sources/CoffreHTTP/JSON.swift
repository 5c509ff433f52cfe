import CoffreJSON
import CoffreModel
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOFoundationCompat

/// JSON bodies in and out, with Key Vault's conventions (no escaped slashes, absent instead of null).
enum JSON {
    static func encode(_ value: some Encodable) throws -> ByteBuffer {
        ByteBuffer(bytes: try StreamingJSONEncoder.encode(value))
    }

    /// Decodes a request body; malformed JSON or a wrong field type is a 400 `BadParameter` naming the field.
    static func decode<T: Decodable>(_ type: T.Type, from body: ByteBuffer) throws -> T {
        try decodeWithFoundation(type, from: body)
    }

    /// A body of string members, read without `JSONDecoder` when `FlatJSON` can (same results, same errors).
    static func decode<T: FlatJSONDecodable>(_ type: T.Type, from body: ByteBuffer) throws -> T {
        if let members = FlatJSON.members(of: body), let value = T(flat: members) { return value }
        return try decodeWithFoundation(type, from: body)
    }

    private static func decodeWithFoundation<T: Decodable>(_ type: T.Type, from body: ByteBuffer) throws -> T {
        guard body.readableBytes > 0 else {
            throw CoffreError.badParameter("The request body is missing: this operation requires a JSON body.")
        }
        do {
            return try JSONDecoder().decode(type, from: Data(buffer: body, byteTransferStrategy: .noCopy))
        } catch DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context) {
            throw CoffreError.badParameter("The request body has an invalid value for '\(context.codingPath.dottedPath)'.")
        } catch DecodingError.keyNotFound(let key, let context) {
            throw CoffreError.badParameter("The request body is missing '\((context.codingPath + [key]).dottedPath)'.")
        } catch let error as CoffreError {
            throw error
        } catch {
            throw CoffreError.badParameter("The request body is not valid JSON.")
        }
    }

    static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) throws -> Response {
        var fields = headers
        fields[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: fields, body: .init(byteBuffer: try encode(value)))
    }
}

extension [any CodingKey] {
    var dottedPath: String { map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".") }
}
