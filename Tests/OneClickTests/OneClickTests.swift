import Foundation
import TestSupport
import VisionData
import XCTest

/// `vf up` / `deploy` / `predict` / `status` / `down` through the real binary, as a user runs them.
final class OneClickTests: XCTestCase {
    func testUpTwiceStartsNoDuplicatesAndDownStops() throws {
        let h = try FleetHarness("up")
        defer { h.down() }
        let first = try h.vf(["up", "--json"], anyPorts: true)
        XCTAssertEqual(first.status, 0, first.stderr)
        let rows = try XCTUnwrap(try h.json(first.stdout) as? [[String: Any]])
        XCTAssertEqual(Set(rows.compactMap { $0["service"] as? String }), ["ingest", "registry", "train", "serve"])
        XCTAssertTrue(rows.allSatisfy { $0["started"] as? Bool == true })
        let pids = Set(rows.compactMap { $0["pid"] as? Int })

        // Twice: nothing new starts, the same processes answer.
        let second = try h.vf(["up", "--json"], anyPorts: true)
        XCTAssertEqual(second.status, 0, second.stderr)
        let again = try XCTUnwrap(try h.json(second.stdout) as? [[String: Any]])
        XCTAssertTrue(again.allSatisfy { $0["started"] as? Bool == false })
        XCTAssertEqual(Set(again.compactMap { $0["pid"] as? Int }), pids)

        let status = try h.vf(["status", "--json"])
        XCTAssertEqual(status.status, 0, status.stdout + status.stderr)
        let services = try XCTUnwrap(try h.json(status.stdout) as? [[String: Any]])
        XCTAssertEqual(services.count, 4)
        XCTAssertTrue(services.allSatisfy { $0["health"] as? String == "serving" && $0["running"] as? Bool == true }, status.stdout)
        XCTAssertEqual(services.first { $0["service"] as? String == "ingest" }?["datasets"] as? Int, 0)
        XCTAssertEqual(services.first { $0["service"] as? String == "train" }?["jobs_running"] as? Int, 0)

        // A service killed behind vf's back is a stale pid: up says so and starts only that one.
        let ingestPid = try XCTUnwrap(rows.first { $0["service"] as? String == "ingest" }?["pid"] as? Int)
        kill(Int32(ingestPid), SIGKILL)
        Thread.sleep(forTimeInterval: 0.3)
        let third = try h.vf(["up", "--json"])
        XCTAssertEqual(third.status, 0, third.stderr)
        XCTAssertTrue(third.stderr.contains("stale pid"), third.stderr)
        let restarted = try XCTUnwrap(try h.json(third.stdout) as? [[String: Any]])
        XCTAssertEqual(restarted.filter { $0["started"] as? Bool == true }.compactMap { $0["service"] as? String }, ["ingest"])

        let down = try h.vf(["down", "--json"])
        XCTAssertEqual(down.status, 0, down.stderr)
        let stopped = try XCTUnwrap(try h.json(down.stdout) as? [[String: Any]])
        XCTAssertEqual(stopped.count, 4)
        XCTAssertTrue(stopped.allSatisfy { $0["graceful"] as? Bool == true }, down.stdout)
        for pid in restarted.compactMap({ $0["pid"] as? Int }) { XCTAssertFalse(Self.alive(pid), "pid \(pid) still runs") }
        XCTAssertNotEqual(try h.vf(["status"]).status, 0)
    }

    func testPortTakenBySomethingElseIsSaid() async throws {
        let h = try FleetHarness("port")
        defer { h.down() }
        // Something else listens on the port asked for ingest.
        let blocker = try ServerProcess("vf-registry", home: h.work.appendingPathComponent("other"))
        try await blocker.start()
        defer { blocker.kill(SIGTERM) }
        let r = try h.vf(["up", "--ingest-port", "\(blocker.port)", "--any-ports"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("port \(blocker.port) (ingest) is taken"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: h.home.appendingPathComponent("run/fleet.json").path), "nothing was started")
    }

    func testDeployDetectionThenPredictDrawsBoxesAndRedeployReuses() throws {
        let h = try FleetHarness("detect")
        defer { h.down() }
        let data = try h.shapes()
        let r = try h.vf(["deploy", data.appendingPathComponent("annotations.json").path, "--format", "coco", "--name", "shapes",
                          "--epochs", "1", "--json"], anyPorts: true)
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        let result = try XCTUnwrap(try h.json(r.stdout) as? [String: Any])
        XCTAssertEqual(result["task"] as? String, "detection")
        XCTAssertEqual(result["version"] as? Int, 1)
        XCTAssertEqual(result["reused_job"] as? Bool, false)
        XCTAssertTrue(r.stderr.contains("train epoch"), "a live progress bar: \(r.stderr)")

        // Predict with --draw writes each image with boxes in the classes' colours.
        let image = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: data.appendingPathComponent("images").path).sorted().first)
        let out = h.work.appendingPathComponent("drawn")
        let p = try h.vf(["predict", "shapes", data.appendingPathComponent("images/\(image)").path, "--draw", out.path,
                          "--score-threshold", "0.0001", "--json"])
        XCTAssertEqual(p.status, 0, p.stdout + p.stderr)
        let predictions = try XCTUnwrap(try h.json(p.stdout) as? [[String: Any]])
        let detections = try XCTUnwrap(predictions.first?["detections"] as? [[String: Any]])
        XCTAssertFalse(detections.isEmpty, "an untrained detector still scores boxes above 1e-4")
        let drawn = try ImageCodec.decode(file: URL(fileURLWithPath: try XCTUnwrap(predictions.first?["drawn"] as? String)))
        XCTAssertGreaterThanOrEqual(drawn.width, 384, "small images are scaled up for legible labels")
        var boxPixels = 0
        for i in 0..<(drawn.width * drawn.height) {
            let pixel: [UInt8] = [drawn.pixels[3 * i], drawn.pixels[3 * i + 1], drawn.pixels[3 * i + 2]]
            if boxPalette.contains(pixel) { boxPixels += 1 }
        }
        XCTAssertGreaterThan(boxPixels, 100, "boxes drawn in class colours")

        // The same deploy again: the same dataset version and the same job, nothing retrained.
        let again = try h.vf(["deploy", data.appendingPathComponent("annotations.json").path, "--format", "coco", "--name", "shapes",
                              "--epochs", "1", "--json"], anyPorts: true)
        XCTAssertEqual(again.status, 0, again.stdout + again.stderr)
        let second = try XCTUnwrap(try h.json(again.stdout) as? [String: Any])
        XCTAssertEqual(second["reused_job"] as? Bool, true)
        XCTAssertEqual(second["job"] as? String, result["job"] as? String)
        XCTAssertEqual(second["dataset"] as? String, result["dataset"] as? String)
        XCTAssertEqual(second["version"] as? Int, 1)

        // A bad annotation file stops at import with every item named; the fleet keeps running.
        var coco = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: data.appendingPathComponent("annotations.json"))) as? [String: Any])
        var annotations = try XCTUnwrap(coco["annotations"] as? [[String: Any]])
        annotations[0]["category_id"] = 99
        annotations[1]["bbox"] = [50, 50, 500, 500]
        coco["annotations"] = annotations
        try JSONSerialization.data(withJSONObject: coco).write(to: data.appendingPathComponent("bad.json"))
        let bad = try h.vf(["deploy", data.appendingPathComponent("bad.json").path, "--format", "coco", "--name", "shapes-bad", "--epochs", "1"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stdout.contains("import rejected"), bad.stdout)
        XCTAssertTrue(bad.stdout.contains("category id 99 is not declared") && bad.stdout.contains("outside the 64×64 image"), bad.stdout)
        XCTAssertTrue(bad.stderr.contains("import failed") && bad.stderr.contains("next:"), bad.stderr)
        let status = try h.vf(["status", "--json"])
        XCTAssertEqual(status.status, 0, "the fleet keeps running: \(status.stdout)")
        XCTAssertTrue(status.stdout.contains("shapes@1 ready"), status.stdout)
    }

    func testDeployImageFolderClassificationThenPredict() throws {
        let h = try FleetHarness("classify")
        defer { h.down() }
        let folder = try h.imageFolder()
        let r = try h.vf(["deploy", folder.path, "--format", "imagefolder", "--name", "tones", "--epochs", "1"], anyPorts: true)
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.contains("tones@production is live"), r.stdout)
        XCTAssertTrue(r.stdout.contains("vf predict tones"), r.stdout)
        XCTAssertTrue(r.stdout.contains("tritonclient.grpc"), r.stdout)
        let p = try h.vf(["predict", "tones", folder.appendingPathComponent("dark/dark0.png").path,
                          folder.appendingPathComponent("light/light0.png").path, "--k", "2", "--json"])
        XCTAssertEqual(p.status, 0, p.stdout + p.stderr)
        let results = try XCTUnwrap(try h.json(p.stdout) as? [[String: Any]])
        XCTAssertEqual(results.count, 2)
        for result in results {
            let labels = (result["classes"] as? [[String: Any]] ?? []).compactMap { $0["label"] as? String }
            XCTAssertEqual(Set(labels), ["dark", "light"])
        }
        let table = try h.vf(["predict", "tones", folder.appendingPathComponent("dark/dark1.png").path])
        XCTAssertTrue(table.stdout.contains("RANK") && table.stdout.contains("served by tones@1"), table.stdout)

        // The same images as a retrieval model (a dataset of its own name; its images are stored once).
        let search = try h.vf(["deploy", folder.path, "--format", "imagefolder", "--name", "tones-search", "--task", "retrieval", "--epochs", "1"])
        XCTAssertEqual(search.status, 0, search.stdout + search.stderr)
        let grid = h.work.appendingPathComponent("grid.png")
        let q = try h.vf(["predict", "tones-search", folder.appendingPathComponent("dark/dark2.png").path,
                          folder.appendingPathComponent("light/light2.png").path, "--k", "3", "--grid", grid.path, "--json"])
        XCTAssertEqual(q.status, 0, q.stdout + q.stderr)
        let hits = try XCTUnwrap(try h.json(q.stdout) as? [[String: Any]])
        XCTAssertEqual(hits.map { ($0["hits"] as? [Any])?.count }, [3, 3])
        let first = try XCTUnwrap((hits[0]["hits"] as? [[String: Any]])?.first)
        XCTAssertTrue((first["blob_digest"] as? String ?? "").hasPrefix("sha256:"), "a hit names its image in vf-ingest: \(first)")
        let picture = try ImageCodec.decode(file: grid)
        XCTAssertGreaterThan(picture.width, 4 * 96, "the query and its 3 neighbours side by side")
        XCTAssertGreaterThan(picture.height, 2 * 96, "a row per query")
    }
}

extension OneClickTests {
    /// True when `pid` runs (an exited process nobody reaped yet is a zombie, not alive).
    static func alive(_ pid: Int) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return false }
        return stat[stat.index(close, offsetBy: 2)] != "Z"
    }
}

/// The palette `vf predict --draw` colours boxes with (Canvas.palette in vf).
let boxPalette: [[UInt8]] = [[31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40], [148, 103, 189],
                                 [140, 86, 75], [227, 119, 194], [127, 127, 127], [188, 189, 34], [23, 190, 207]]
