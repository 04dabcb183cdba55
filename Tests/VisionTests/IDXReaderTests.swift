import Foundation
import XCTest
@testable import VisionData

final class IDXReaderTests: XCTestCase {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vf-idx-\(UUID().uuidString)")

    override func setUpWithError() throws {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    func idx(_ dims: [Int], _ values: [UInt8], type: UInt8 = 0x08) -> Data {
        var d = Data([0, 0, type, UInt8(dims.count)])
        for x in dims { d.append(contentsOf: [UInt8(x >> 24 & 255), UInt8(x >> 16 & 255), UInt8(x >> 8 & 255), UInt8(x & 255)]) }
        d.append(contentsOf: values)
        return d
    }

    func write(_ name: String, _ data: Data, gzip: Bool = false) throws -> URL {
        let url = dir.appendingPathComponent(name)
        try data.write(to: url)
        guard gzip else { return url }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/gzip")
        p.arguments = ["-f", url.path]
        try p.run()
        p.waitUntilExit()
        return dir.appendingPathComponent(name + ".gz")
    }

    func testReadsRawAndGzipped() throws {
        let pixels = (0..<(3 * 2 * 2)).map { UInt8($0 * 20) }
        let images = try write("img", idx([3, 2, 2], pixels), gzip: true)
        let labels = try write("lbl", idx([3], [2, 0, 1]))
        let set = try IDXReader.classification(images: images, labels: labels, classNames: ["a", "b", "c"])
        XCTAssertEqual(set.count, 3)
        XCTAssertEqual(set.height, 2)
        XCTAssertEqual(set.pixels, pixels)
        XCTAssertEqual(set.labels, [2, 0, 1])
    }

    func testBadFilesNameTheFileAndTheProblem() throws {
        let good = try write("good", idx([2, 2, 2], [UInt8](repeating: 1, count: 8)))
        let cases: [(String, Data, String)] = [
            ("magic", Data([1, 2, 8, 1, 0, 0, 0, 1, 5]), "magic"),
            ("type", idx([1], [1], type: 0x0D), "not unsigned bytes"),
            ("short", idx([2, 2, 2], [1, 2, 3]), "truncated"),
        ]
        for (name, data, expected) in cases {
            let url = try write(name, data)
            XCTAssertThrowsError(try IDXReader.read(url), name) { error in
                XCTAssertTrue("\(error)".contains(name) && "\(error)".contains(expected), "\(error)")
            }
        }
        let labels = try write("labels3", idx([3], [0, 1, 0]))
        XCTAssertThrowsError(try IDXReader.classification(images: good, labels: labels, classNames: ["a", "b"])) {
            XCTAssertTrue("\($0)".contains("labels3"), "\($0)")
        }
        let outOfRange = try write("labels2", idx([2], [0, 7]))
        XCTAssertThrowsError(try IDXReader.classification(images: good, labels: outOfRange, classNames: ["a", "b"])) {
            XCTAssertTrue("\($0)".contains("labels2[1]") && "\($0)".contains("label"), "\($0)")
        }
        XCTAssertThrowsError(try IDXReader.read(dir.appendingPathComponent("absent"))) {
            XCTAssertEqual($0 as? DatasetError, .missingFile(path: dir.appendingPathComponent("absent").path))
        }
        let truncatedGzip = try write("cut", idx([2, 2, 2], [UInt8](repeating: 9, count: 8)), gzip: true)
        let bytes = try Data(contentsOf: truncatedGzip)
        try bytes.prefix(bytes.count - 6).write(to: truncatedGzip)
        XCTAssertThrowsError(try IDXReader.read(truncatedGzip)) { XCTAssertTrue("\($0)".contains("cut.gz"), "\($0)") }
    }
}
