import Foundation
import TestSupport
import XCTest

/// `vf bench` interrupted midway (Ctrl-C, SIGTERM) stops the servers it started instead of
/// leaving them running with their ports and CPU.
final class BenchInterruptTests: XCTestCase {
    func testInterruptedBenchStopsItsServers() throws {
        for signalNumber in [SIGINT, SIGTERM] {
            let bench = Process()
            bench.executableURL = URL(fileURLWithPath: FleetHarness.vf)
            // Long enough that the signal lands while it runs.
            bench.arguments = ["bench", "registry", "--big-uploads", "1000", "--json"]
            bench.standardOutput = FileHandle.nullDevice
            bench.standardError = FileHandle.nullDevice
            try bench.run()
            var child: Int32?
            for _ in 0..<500 where child == nil {
                let found = try runProcess("/usr/bin/pgrep", ["-P", "\(bench.processIdentifier)", "-f", "vf-registry"])
                child = Int32(found.stdout.split(separator: "\n").first ?? "")
                if child == nil { Thread.sleep(forTimeInterval: 0.02) }
            }
            let server = try XCTUnwrap(child, "the bench started no vf-registry")
            kill(bench.processIdentifier, signalNumber)
            bench.waitUntilExit()
            XCTAssertEqual(bench.terminationStatus, 128 + signalNumber)
            var alive = true
            for _ in 0..<250 where alive {
                alive = kill(server, 0) == 0 && !((try? String(contentsOfFile: "/proc/\(server)/stat", encoding: .utf8))?.contains(") Z ") ?? true)
                if alive { Thread.sleep(forTimeInterval: 0.02) }
            }
            XCTAssertFalse(alive, "vf-registry \(server) outlived the interrupted bench (signal \(signalNumber))")
        }
    }
}
