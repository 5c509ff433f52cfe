/// Key Vault's `IntDate` (a JWT `NumericDate`): whole seconds since 1970. Decoding also accepts a fraction, as some
/// clients and token issuers write one.
public struct IntDate: Codable, Sendable, Equatable {
    public var seconds: Int64

    public init(_ seconds: Int64) { self.seconds = seconds }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let integer = try? container.decode(Int64.self) {
            seconds = integer
        } else {
            let value = try container.decode(Double.self)
            guard value.isFinite, abs(value) < 1e15 else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a date")
            }
            seconds = Int64(value)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(seconds)
    }
}
