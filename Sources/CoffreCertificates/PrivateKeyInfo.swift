import SwiftASN1

// PrivateKeyInfo ::= SEQUENCE {                      -- RFC 5208; v2 (OneAsymmetricKey, RFC 5958) adds fields
//     version                   INTEGER,             -- 0, or 1 for OneAsymmetricKey
//     privateKeyAlgorithm       AlgorithmIdentifier,
//     privateKey                OCTET STRING,
//     attributes           [0]  IMPLICIT Attributes OPTIONAL,
//     publicKey            [1]  IMPLICIT BIT STRING OPTIONAL }
//
// ECPrivateKey ::= SEQUENCE {                         -- SEC 1, RFC 5915
//     version        INTEGER { ecPrivkeyVer1(1) },
//     privateKey     OCTET STRING,
//     parameters [0] ECParameters {{ NamedCurve }} OPTIONAL,
//     publicKey  [1] BIT STRING OPTIONAL }

/// The outer layer of a PKCS#8 private key: enough to tell the key type, and to wrap PKCS#1 and SEC 1 keys.
struct PrivateKeyInfo {
    var algorithm: ASN1ObjectIdentifier
    var parameters: ASN1Any?

    init(derEncoded der: [UInt8]) throws {
        (algorithm, parameters) = try DER.sequence(try DER.parse(der), identifier: .sequence) { nodes in
            let version = try Int(derEncoded: &nodes)
            guard version == 0 || version == 1 else {
                throw ASN1Error.invalidASN1Object(reason: "PrivateKeyInfo version \(version)")
            }
            let algorithm = try AlgorithmIdentifierNode(derEncoded: &nodes)
            _ = try ASN1OctetString(derEncoded: &nodes)
            while nodes.next() != nil {}
            return (algorithm.algorithm, algorithm.parameters)
        }
    }

    /// PKCS#8 DER for an RSA key in PKCS#1 DER (`RSA PRIVATE KEY`).
    static func wrapping(pkcs1 key: [UInt8]) -> [UInt8] {
        serialize(algorithm: .AlgorithmIdentifier.rsaEncryption, parameters: try? ASN1Any(erasing: ASN1Null()), key: key)
    }

    /// PKCS#8 DER for an EC key in SEC 1 DER (`EC PRIVATE KEY`); the curve is read from the key's parameters.
    static func wrapping(sec1 key: [UInt8]) throws -> [UInt8] {
        let curve: ASN1ObjectIdentifier? = try DER.sequence(try DER.parse(key), identifier: .sequence) { nodes in
            guard try Int(derEncoded: &nodes) == 1 else { throw ASN1Error.invalidASN1Object(reason: "ECPrivateKey version") }
            _ = try ASN1OctetString(derEncoded: &nodes)
            let curve = try DER.optionalExplicitlyTagged(&nodes, tagNumber: 0, tagClass: .contextSpecific) {
                try ASN1ObjectIdentifier(derEncoded: $0)
            }
            while nodes.next() != nil {}
            return curve
        }
        guard let curve else {
            throw CertificateFailure(.invalidPrivateKey, "The EC private key does not name its curve.")
        }
        return serialize(algorithm: .AlgorithmIdentifier.idEcPublicKey, parameters: try ASN1Any(erasing: curve), key: key)
    }

    private static func serialize(algorithm: ASN1ObjectIdentifier, parameters: ASN1Any?, key: [UInt8]) -> [UInt8] {
        var serializer = DER.Serializer()
        // Serializing integers, OIDs and octet strings into a fresh serializer cannot fail.
        try? serializer.appendConstructedNode(identifier: .sequence) { coder in
            try coder.serialize(0)
            try coder.serialize(AlgorithmIdentifierNode(algorithm: algorithm, parameters: parameters))
            try coder.serialize(ASN1OctetString(contentBytes: key[...]))
        }
        return serializer.serializedBytes
    }
}

// AlgorithmIdentifier ::= SEQUENCE { algorithm OBJECT IDENTIFIER, parameters ANY DEFINED BY algorithm OPTIONAL }
struct AlgorithmIdentifierNode: DERImplicitlyTaggable {
    static var defaultIdentifier: ASN1Identifier { .sequence }

    var algorithm: ASN1ObjectIdentifier
    var parameters: ASN1Any?

    init(algorithm: ASN1ObjectIdentifier, parameters: ASN1Any?) {
        self.algorithm = algorithm
        self.parameters = parameters
    }

    init(derEncoded rootNode: ASN1Node, withIdentifier identifier: ASN1Identifier) throws {
        (algorithm, parameters) = try DER.sequence(rootNode, identifier: identifier) { nodes in
            (try ASN1ObjectIdentifier(derEncoded: &nodes), nodes.next().map { ASN1Any(derEncoded: $0) })
        }
    }

    func serialize(into coder: inout DER.Serializer, withIdentifier identifier: ASN1Identifier) throws {
        try coder.appendConstructedNode(identifier: identifier) { coder in
            try coder.serialize(algorithm)
            if let parameters { try coder.serialize(parameters) }
        }
    }
}

/// The DER bytes of one ASN.1 element.
func derEncoded(_ element: some DERSerializable) throws -> [UInt8] {
    var serializer = DER.Serializer()
    try serializer.serialize(element)
    return serializer.serializedBytes
}
