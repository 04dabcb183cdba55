import Foundation
import TestSupport
import XCTest
@testable import Tensors
@testable import VisionModels

final class SafeTensorsTests: XCTestCase {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vf-st-\(UUID().uuidString)")

    override func setUpWithError() throws {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    func testRoundTripInSwift() throws {
        let model = try CIFARResNet(depth: 8, inputChannels: 1, classes: 3, seed: 1)
        let url = dir.appendingPathComponent("w.safetensors")
        try SafeTensors.write(model.stateDict(), to: url, metadata: ["format": "pt"])
        let back = try SafeTensors.read(url)
        XCTAssertEqual(back.metadata["format"], "pt")
        let other = try CIFARResNet(depth: 8, inputChannels: 1, classes: 3, seed: 2)
        try other.load(stateDict: back.tensors)
        for ((n1, a), (n2, b)) in zip(model.stateDict(), other.stateDict()) {
            XCTAssertEqual(n1, n2)
            XCTAssertEqual(a.scalars, b.scalars, n1)
        }
    }

    /// Python's `safetensors` reads what we write, and we read what it writes.
    func testRoundTripWithPythonSafetensors() throws {
        var rng = RandomState(seed: 3)
        let ours = dir.appendingPathComponent("ours.safetensors"), theirs = dir.appendingPathComponent("theirs.safetensors")
        let a = Tensor(normal: [2, 3, 4], std: 1, rng: &rng), b = Tensor(normal: [5], std: 1, rng: &rng)
        try SafeTensors.write([("layer.a", a), ("b", b)], to: ours, metadata: ["who": "swift"])
        let result = try runPython([Repo.path("Tests/TensorsTests/Python/safetensors_roundtrip.py"), ours.path, theirs.path])
        XCTAssertEqual(result.status, 0, result.stderr)
        let back = try SafeTensors.read(theirs)
        // The script doubles every tensor, adds "extra" = arange(6).reshape(2, 3), and echoes metadata.
        XCTAssertEqual(back.tensors["layer.a"]!.shape, [2, 3, 4])
        XCTAssertEqual(back.tensors["layer.a"]!.scalars, a.scalars.map { $0 * 2 })
        XCTAssertEqual(back.tensors["b"]!.scalars, b.scalars.map { $0 * 2 })
        XCTAssertEqual(back.tensors["extra"]!.scalars, [0, 1, 2, 3, 4, 5])
        XCTAssertEqual(back.metadata["who"], "swift")
        XCTAssertEqual(back.metadata["read_by"], "python")
    }

    func testCorruptFilesAreTypedErrors() throws {
        let good = try SafeTensors.encode([("w", Tensor(repeating: 1, shape: [4]))])
        let cases: [(String, Data)] = [
            ("short", Data([1, 2, 3])),
            ("header too long", Data([255, 255, 255, 255, 0, 0, 0, 0]) + Data(count: 8)),
            ("truncated data", good.prefix(good.count - 4)),
            ("not json", { var d = Data(); withUnsafeBytes(of: UInt64(4).littleEndian) { d.append(contentsOf: $0) }; d.append(contentsOf: Array("nope".utf8)); return d }()),
            ("bad dtype", Self.file(#"{"w":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}"#, dataBytes: 4)),
            ("wrong size", Self.file(#"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, dataBytes: 8)),
        ]
        for (name, data) in cases {
            XCTAssertThrowsError(try SafeTensors.decode(data), name) { error in
                guard case TensorError.safetensors = error else { return XCTFail("\(name): \(error)") }
            }
        }
        XCTAssertThrowsError(try SafeTensors.read(dir.appendingPathComponent("missing.safetensors"))) {
            XCTAssertTrue("\($0)".contains("missing.safetensors"), "\($0)")
        }
        let model = try CIFARResNet(depth: 8, inputChannels: 1, classes: 3)
        XCTAssertThrowsError(try model.load(stateDict: [:])) { XCTAssertTrue("\($0)".contains("missing tensor"), "\($0)") }
    }

    static func file(_ header: String, dataBytes: Int) -> Data {
        var d = Data()
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { d.append(contentsOf: $0) }
        d.append(contentsOf: Array(header.utf8))
        d.append(Data(count: dataBytes))
        return d
    }
}
