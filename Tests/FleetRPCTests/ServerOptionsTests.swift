import ArgumentParser
import FleetRPC
import ServiceRuntime
import XCTest

final class ServerOptionsTests: XCTestCase {
    func testFlagsBeatEnvironmentAndDefaults() throws {
        let options = try ServerOptions.parse(["--port", "7000"])
        let resolved = try options.resolve(prefix: "VF_TEST", defaultPort: 1234,
                                           environment: ["VF_TEST_PORT": "9000", "VF_TEST_HOST": "127.0.0.1",
                                                         "VISIONFLEET_AUTH_TOKENS": "a, b,,"])
        XCTAssertEqual(resolved.config.port, 7000)
        XCTAssertEqual(resolved.config.host, "127.0.0.1")
        XCTAssertEqual(resolved.authTokens, ["a", "b"])
        XCTAssertNil(resolved.config.tls)

        let defaults = try ServerOptions.parse([]).resolve(prefix: "VF_TEST", defaultPort: 1234, environment: [:])
        XCTAssertEqual(defaults.config.port, 1234)
        XCTAssertEqual(defaults.config.host, "0.0.0.0")
        XCTAssertEqual(defaults.config.maxReceiveBytes, 64 << 20)
        XCTAssertEqual(defaults.config.completionQueueThreads, 0, "grpc's callback API unless the server asks otherwise")

        // The transport: the server's default, then the environment, then the flag.
        let serve = try ServerOptions.parse([]).resolve(prefix: "VF_TEST", defaultPort: 1, defaultGrpcThreads: 1, environment: [:])
        XCTAssertEqual(serve.config.completionQueueThreads, 1)
        let fromEnvironment = try ServerOptions.parse([]).resolve(prefix: "VF_TEST", defaultPort: 1, defaultGrpcThreads: 1,
                                                                  environment: ["VF_TEST_GRPC_THREADS": "0"])
        XCTAssertEqual(fromEnvironment.config.completionQueueThreads, 0)
        let fromFlag = try ServerOptions.parse(["--grpc-threads", "2"]).resolve(prefix: "VF_TEST", defaultPort: 1,
                                                                                environment: ["VF_TEST_GRPC_THREADS": "0"])
        XCTAssertEqual(fromFlag.config.completionQueueThreads, 2)
    }

    func testBadValuesNameTheSetting() throws {
        XCTAssertThrowsError(try ServerOptions.parse([]).resolve(prefix: "VF_X", defaultPort: 1, environment: ["VF_X_PORT": "eighty"])) {
            XCTAssertTrue("\($0)".contains("VF_X_PORT"), "\($0)")
        }
        XCTAssertThrowsError(try ServerOptions.parse(["--port", "70000"]).resolve(prefix: "VF_X", defaultPort: 1, environment: [:]))
        XCTAssertThrowsError(try ServerOptions.parse(["--tls-cert", "/nonexistent.pem"]).resolve(prefix: "VF_X", defaultPort: 1, environment: [:])) {
            XCTAssertTrue("\($0)".contains("--tls-key"), "\($0)")
        }
        XCTAssertThrowsError(try ServerOptions.parse(["--tls-cert", "/nonexistent.pem", "--tls-key", "/nonexistent.key"])
            .resolve(prefix: "VF_X", defaultPort: 1, environment: [:])) {
            XCTAssertTrue("\($0)".contains("/nonexistent.pem"), "\($0)")
        }
        XCTAssertThrowsError(try ServerOptions.parse(["--log-level", "loud"]).resolve(prefix: "VF_X", defaultPort: 1, environment: [:]))
        XCTAssertThrowsError(try ServerOptions.parse(["--grpc-threads", "65"]).resolve(prefix: "VF_X", defaultPort: 1, environment: [:])) {
            XCTAssertTrue("\($0)".contains("--grpc-threads"), "\($0)")
        }
        XCTAssertThrowsError(try ServerOptions.parse([]).resolve(prefix: "VF_X", defaultPort: 1, environment: ["VF_X_GRPC_THREADS": "many"])) {
            XCTAssertTrue("\($0)".contains("VF_X_GRPC_THREADS"), "\($0)")
        }
    }
}
