import FleetStore
import Foundation
import XCTest

/// A blob digest held as 32 bytes reads, prints, orders and hashes as its hex text does.
final class BlobDigestTests: XCTestCase {
    func testTextBytesOrderAndHashAgreeWithTheHexText() throws {
        var generator = SystemRandomNumberGenerator()
        var digests: [BlobDigest] = []
        for i in 0..<500 {
            let data = Data((0..<(i % 97)).map { _ in UInt8.random(in: 0...255, using: &generator) })
            let digest = SHA256Stream.digest(of: data)
            // The text is OpenSSL's digest in lowercase hex, as Foundation-free code would print it.
            let expectedHex = digest.bytes.map { String(format: "%02x", $0) }.joined()
            XCTAssertEqual(digest.hex, expectedHex)
            XCTAssertEqual(digest.description, "sha256:" + expectedHex)
            XCTAssertEqual(try BlobDigest(parsing: digest.description), digest)
            XCTAssertEqual(try BlobDigest(parsing: expectedHex), digest, "bare hex parses too")
            XCTAssertEqual(BlobDigest(bytes: digest.bytes), digest)
            digests.append(digest)
        }
        // Digests sharing leading words order by the later ones.
        let base = try BlobDigest(parsing: String(repeating: "ab", count: 32))
        let later = try BlobDigest(parsing: String(repeating: "ab", count: 24) + String(repeating: "ac", count: 8))
        digests += [base, later]
        XCTAssertEqual(digests.sorted().map(\.hex), digests.map(\.hex).sorted(), "ordered as the text is")
        XCTAssertLessThan(base, later)
        XCTAssertEqual(Set(digests).count, Set(digests.map(\.hex)).count)
        let copy = try BlobDigest(parsing: digests[7].hex)
        XCTAssertEqual(copy.hashValue, digests[7].hashValue)
    }

    func testMalformedTextIsRefused() {
        let valid = String(repeating: "0f", count: 32)
        for text in ["", "sha256:", String(valid.dropLast()), valid + "0", valid.uppercased(), "sha1:" + valid,
                     String(valid.dropLast()) + "g", "sha256:" + String(valid.dropFirst())] {
            XCTAssertThrowsError(try BlobDigest(parsing: text), "'\(text)' is not a digest")
        }
    }
}
