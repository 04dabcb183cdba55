import Foundation
import TestSupport
import XCTest
import Yams

/// No Docker engine runs here: this starts the same binaries with the commands, environment and
/// ports `compose/docker-compose.yml` declares (read from the file), in its `depends_on` order,
/// waits on its healthchecks, then runs a deploy and a predict against them.
final class ComposeEquivalentTests: XCTestCase {
    struct Service {
        var name: String
        var command: [String]
        var environment: [String: String]
        var ports: [(host: Int, container: Int)]
        var healthcheck: [String]
        var dependsOn: [String]
    }

    static func services() throws -> [String: Service] {
        let text = try String(contentsOfFile: Repo.path("compose/docker-compose.yml"), encoding: .utf8)
        let root = try XCTUnwrap(try Yams.load(yaml: text) as? [String: Any])
        let services = try XCTUnwrap(root["services"] as? [String: [String: Any]])
        var out: [String: Service] = [:]
        for (name, s) in services {
            let env = (s["environment"] as? [String: Any] ?? [:]).mapValues { interpolate("\($0)") }
            let ports = (s["ports"] as? [String] ?? []).map { spec -> (Int, Int) in
                let parts = spec.split(separator: ":").compactMap { Int($0) }
                return (parts[0], parts[parts.count - 1])
            }
            let test = ((s["healthcheck"] as? [String: Any])?["test"] as? [String] ?? []).filter { $0 != "CMD" }
            let depends: [String] = (s["depends_on"] as? [String: Any]).map { Array($0.keys) } ?? s["depends_on"] as? [String] ?? []
            out[name] = Service(name: name, command: s["command"] as? [String] ?? [], environment: env, ports: ports, healthcheck: test,
                                dependsOn: depends)
        }
        return out
    }

    /// Compose's `${NAME:-default}` with this process's environment.
    static func interpolate(_ text: String) -> String {
        guard let open = text.range(of: "${"), let close = text.range(of: "}", range: open.upperBound..<text.endIndex) else { return text }
        let inner = text[open.upperBound..<close.lowerBound]
        let parts = inner.components(separatedBy: ":-")
        let value = ProcessInfo.processInfo.environment[parts[0]].flatMap { $0.isEmpty ? nil : $0 } ?? (parts.count > 1 ? parts[1] : "")
        return interpolate(text.replacingCharacters(in: open.lowerBound..<close.upperBound, with: value))
    }

    func testComposeDeclaredFleetDeploysAndPredicts() throws {
        let services = try Self.services()
        XCTAssertEqual(Set(services.keys), ["ingest", "train", "registry", "serve"])
        XCTAssertEqual(Set(services.values.flatMap { $0.ports.map(\.host) }), [50051, 50052, 50053, 8000, 8001, 8002])
        let h = try FleetHarness("compose")
        // The declared host ports when free here, else each moved to a free one (the same mapping for every address).
        let declared = services.values.flatMap { $0.ports.map(\.container) }
        let allFree = declared.allSatisfy { port in (try? runProcess("/bin/sh", ["-c", "! (ss -ltn | grep -q ':\(port) ')"]).status) == 0 }
        var portMap: [Int: Int] = [:]
        for port in declared { portMap[port] = allFree ? port : Self.freePort() }
        func rewrite(_ value: String) -> String {
            // "registry:50053" (a service name on the compose network) → 127.0.0.1 and the mapped port.
            let parts = value.split(separator: ":")
            if parts.count == 2, services[String(parts[0])] != nil, let port = Int(parts[1]) { return "127.0.0.1:\(portMap[port] ?? port)" }
            if let port = Int(value), let mapped = portMap[port] { return "\(mapped)" }
            return value
        }

        var running: [String: Process] = [:]
        defer { for p in running.values where p.isRunning { p.terminate(); p.waitUntilExit() } }
        var started: [String] = []
        func environment(_ s: Service) -> [String: String] {
            var env = ProcessInfo.processInfo.environment
            for (k, v) in s.environment { env[k] = rewrite(v) }
            env["VISIONFLEET_HOME"] = h.work.appendingPathComponent("volume-\(s.name)").path  // the named volume at /data
            return env
        }
        // depends_on order: a service starts once those it depends on are healthy.
        while started.count < services.count {
            let ready = services.values.filter { !started.contains($0.name) && $0.dependsOn.allSatisfy(started.contains) }.sorted { $0.name < $1.name }
            let s = try XCTUnwrap(ready.first, "depends_on has a cycle")
            let process = Process()
            process.executableURL = URL(fileURLWithPath: ServerProcess.path(s.command[0]))
            process.arguments = Array(s.command.dropFirst())
            process.environment = environment(s)
            let log = h.work.appendingPathComponent("\(s.name).log")
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
            process.standardOutput = try FileHandle(forWritingTo: log)
            process.standardError = process.standardOutput
            try process.run()
            running[s.name] = process
            // The declared healthcheck, retried as compose does.
            var healthy = false
            for _ in 0..<60 where !healthy {
                let check = try runProcess(ServerProcess.path(s.healthcheck[0]), Array(s.healthcheck.dropFirst()), environment: environment(s))
                healthy = check.status == 0
                if !healthy { Thread.sleep(forTimeInterval: 0.5) }
            }
            XCTAssertTrue(healthy, "\(s.name) never passed its healthcheck: \((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
            started.append(s.name)
        }

        // A deploy and a predict against the declared addresses.
        let client = ["VF_INGEST_ADDR": "127.0.0.1:\(portMap[50051]!)", "VF_TRAIN_ADDR": "127.0.0.1:\(portMap[50052]!)",
                      "VF_REGISTRY_ADDR": "127.0.0.1:\(portMap[50053]!)", "VF_SERVE_ADDR": "127.0.0.1:\(portMap[8001]!)"]
        let folder = try h.imageFolder(perClass: 6)
        let deploy = try runProcess(FleetHarness.vf, ["deploy", folder.path, "--format", "imagefolder", "--name", "tones", "--epochs", "1"],
                                    environment: client)
        XCTAssertEqual(deploy.status, 0, deploy.stdout + deploy.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: h.home.appendingPathComponent("run/fleet.json").path))
        let predict = try runProcess(FleetHarness.vf, ["predict", "tones", folder.appendingPathComponent("light/light0.png").path, "--json"],
                                     environment: client)
        XCTAssertEqual(predict.status, 0, predict.stdout + predict.stderr)
        XCTAssertTrue(predict.stdout.contains("\"label\""), predict.stdout)
        // Metrics on the declared port.
        let metrics = try runProcess("/usr/bin/env", ["python3", "-c",
            "import urllib.request;print(urllib.request.urlopen('http://127.0.0.1:\(portMap[8002]!)/metrics').read().decode())"])
        XCTAssertTrue(metrics.stdout.contains("nv_inference_request_success"), metrics.stdout + metrics.stderr)
        // The Open Inference Protocol over HTTP/REST on its declared port.
        let rest = try runProcess("/usr/bin/env", ["python3", "-c",
            "import urllib.request;print(urllib.request.urlopen('http://127.0.0.1:\(portMap[8000]!)/v2/models/tones').read().decode())"])
        XCTAssertTrue(rest.stdout.contains("\"name\":\"tones\""), rest.stdout + rest.stderr)
    }

    static func freePort() -> Int {
        let r = try? runProcess("/usr/bin/env", ["python3", "-c", "import socket;s=socket.socket();s.bind(('127.0.0.1',0));print(s.getsockname()[1])"])
        return Int(r?.stdout.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0
    }
}
