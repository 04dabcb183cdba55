@testable import InferenceService
import Logging
import ServiceRuntime
import XCTest

/// Log settings changed while serving: which severities pass, and an update that names one
/// bad setting changes nothing.
final class LogSettingsTests: XCTestCase {
    func testSeveritiesFollowTheSettings() {
        var values = RuntimeLogSettings.Values(level: .info)
        XCTAssertEqual(values.threshold, .info)
        XCTAssertTrue(values.writes(.notice) && values.writes(.error) && !values.writes(.debug))
        values.verboseLevel = 2
        XCTAssertEqual(values.threshold, .trace)
        values = .init(level: .trace)
        values.info = false
        XCTAssertTrue(values.writes(.trace) && values.writes(.debug) && values.writes(.warning))
        XCTAssertFalse(values.writes(.info), "info switched off alone, as Triton's log_info")
        XCTAssertEqual(RuntimeLogSettings.Values(level: .error).threshold, .error)
    }

    func testAnUpdateAppliesWhollyOrNotAtAll() throws {
        let settings = RuntimeLogSettings(level: .info)
        let after = try LogSettingsEndpoint.update(["log_verbose_level": .uint(1), "log_warning": .bool(false)], settings)
        XCTAssertEqual(after["log_verbose_level"], .uint(1))
        XCTAssertEqual(settings.values.verboseLevel, 1)
        XCTAssertFalse(settings.values.warning)
        for bad: [String: LogSettingsEndpoint.Value] in [["log_info": .bool(false), "log_file": .string("/tmp/x")],
                                                        ["log_info": .bool(false), "log_error": .uint(1)],
                                                        ["log_info": .bool(false), "log_colour": .bool(true)]] {
            XCTAssertThrowsError(try LogSettingsEndpoint.update(bad, settings)) { error in
                guard case .invalidArgument(_, let field, _)? = error as? ServeError else { return XCTFail("\(error)") }
                XCTAssertTrue(bad.keys.contains(field), field)
            }
            XCTAssertTrue(settings.values.info, "nothing changed")
        }
        // A handler reading these settings lets through only what they allow.
        var handler = SwitchableLogHandler(label: "test", settings: settings)
        XCTAssertEqual(handler.logLevel, .debug)
        handler.logLevel = .error
        XCTAssertEqual(settings.values, .init(level: .error))
    }
}
