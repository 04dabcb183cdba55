import TestSupport
import Foundation
import XCTest

/// The compose file must stay valid (checked with Debian's docker-compose where installed;
/// no Docker engine runs here, so the fleet itself is tested by starting the same binaries).
final class ComposeTests: XCTestCase {
    func testComposeFileIsValid() throws {
        let tool = "/usr/bin/docker-compose"
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: tool), "docker-compose not installed")
        let result = try runProcess(tool, ["-f", Repo.path("compose/docker-compose.yml"), "config", "-q"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let services = try runProcess(tool, ["-f", Repo.path("compose/docker-compose.yml"), "config", "--services"])
        XCTAssertEqual(Set(services.stdout.split(separator: "\n").map(String.init)), ["ingest", "train", "registry", "serve"])
    }
}
