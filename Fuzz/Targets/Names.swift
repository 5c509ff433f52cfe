import Crypto
import Foundation

/// Corpus file names, as libFuzzer gives them: the SHA-1 of the content.
public enum CorpusName {
    public static func of(_ bytes: [UInt8]) -> String {
        Insecure.SHA1.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }
}
