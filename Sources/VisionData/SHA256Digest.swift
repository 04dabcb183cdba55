import COpenSSL
import Foundation

/// SHA-256 digests ("sha256:<hex>") through libcrypto.
public enum SHA256Digest {
    public static func of(_ data: Data) -> String {
        var digest = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
        data.withUnsafeBytes { raw in _ = SHA256(raw.bindMemory(to: UInt8.self).baseAddress, raw.count, &digest) }
        return "sha256:" + digest.map { String(format: "%02x", $0) }.joined()
    }
}
