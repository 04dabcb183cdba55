import Foundation

import COpenSSL

/// Incremental SHA-256 over OpenSSL's EVP interface (SHA-NI / AVX2 paths chosen at run time).
public final class SHA256Stream {
    private let context: OpaquePointer

    public init() {
        context = EVP_MD_CTX_new()
        EVP_DigestInit_ex(context, EVP_sha256(), nil)
    }

    deinit { EVP_MD_CTX_free(context) }

    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        EVP_DigestUpdate(context, base, bytes.count)
    }

    public func update<Bytes: ContiguousBytes>(_ bytes: Bytes) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// The digest of everything fed so far; the stream is finished afterwards.
    public func finish() -> BlobDigest {
        var out = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        var length: UInt32 = 0
        return withUnsafeMutableBytes(of: &out) { raw in
            EVP_DigestFinal_ex(context, raw.baseAddress!.assumingMemoryBound(to: UInt8.self), &length)
            return BlobDigest(raw: UnsafeRawBufferPointer(raw))
        }
    }

    /// The digest of one buffer.
    public static func digest<Bytes: ContiguousBytes>(of bytes: Bytes) -> BlobDigest {
        let stream = SHA256Stream()
        stream.update(bytes)
        return stream.finish()
    }
}
