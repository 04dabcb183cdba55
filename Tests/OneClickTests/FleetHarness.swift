import Foundation
import TestSupport
import VisionData
import XCTest

/// Runs the real `vf` binary against a fleet home in a temp folder (free ports), and makes the
/// tiny datasets the one-click tests deploy.
struct FleetHarness {
    let home: URL
    let work: URL

    init(_ label: String) throws {
        work = FileManager.default.temporaryDirectory.appendingPathComponent("vf-oneclick-\(label)-\(UUID().uuidString.prefix(8))")
        home = work.appendingPathComponent("home")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
    }

    static let vf = ServerProcess.path("vf")

    /// `vf ARGS --home HOME` (and `--any-ports` for the commands that may start the fleet).
    @discardableResult
    func vf(_ arguments: [String], anyPorts: Bool = false, environment: [String: String] = [:]) throws -> (status: Int32, stdout: String, stderr: String) {
        var args = arguments + ["--home", home.path]
        if anyPorts { args.append("--any-ports") }
        return try runProcess(Self.vf, args, environment: environment)
    }

    func down() { _ = try? vf(["down", "--grace", "10"]) }

    func json(_ text: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(text.split(separator: "\n").last.map(String.init)?.utf8 ?? "".utf8))
    }

    /// A tiny ImageFolder dataset: two classes told apart by brightness, `perClass` 20×20 PNGs each.
    func imageFolder(perClass: Int = 10) throws -> URL {
        let root = work.appendingPathComponent("folder")
        for (c, name) in ["dark", "light"].enumerated() {
            let dir = root.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            for i in 0..<perClass {
                let base = UInt8(c == 0 ? 30 + i * 3 : 200 + i * 3)
                let image = PixelImage(width: 20, height: 20, channels: 3, pixels: (0..<1200).map { base &+ UInt8($0 % 7) })
                try ImageCodec.encodePNG(image).write(to: dir.appendingPathComponent("\(name)\(i).png"))
            }
        }
        return root
    }

    /// The synthetic shapes detection set as COCO on disk (`vf dataset synth --out`).
    func shapes(count: Int = 16, size: Int = 64) throws -> URL {
        let out = work.appendingPathComponent("shapes")
        let r = try runProcess(Self.vf, ["dataset", "synth", "--out", out.path, "--count", "\(count)", "--size", "\(size)", "--format", "coco"])
        XCTAssertEqual(r.status, 0, r.stderr)
        return out
    }
}
