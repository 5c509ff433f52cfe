import CoffreCrypto
import Foundation

extension FuzzTarget {
    /// Key import (`PUT /keys/{name}`): the JSON Web Key, then the key material made of it and its public form.
    static let jwk = FuzzTarget(
        "jwk",
        seeds: {
            let keys = try [
                KeyMaterial.generate(.rsa, size: 2048), KeyMaterial.generate(.ec, curve: .p256), KeyMaterial.generate(.ec, curve: .p521),
                KeyMaterial.generate(.oct, size: 256),
            ]
            return try keys.map { Array(try JSONEncoder().encode($0.privateJWK())) }
        },
        run: { bytes in
            let jwk = try JSONDecoder().decode(JsonWebKey.self, from: Data(bytes))
            _ = try KeyMaterial(importing: jwk).publicJWK()
        })
}
