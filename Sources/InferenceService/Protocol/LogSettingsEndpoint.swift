import FleetProtos
import Foundation
import ServiceRuntime

/// Triton's LogSettings over gRPC and HTTP (`/v2/logging`): which messages vf-serve writes,
/// changeable while it runs. `log_info`, `log_warning`, `log_error` switch those severities;
/// `log_verbose_level` 1 adds debug messages, 2 and up trace. vf-serve logs to standard error
/// in one format, so `log_file` stays "" and `log_format` "default" (other values are refused).
enum LogSettingsEndpoint {
    enum Value: Equatable {
        case bool(Bool)
        case uint(UInt32)
        case string(String)
    }

    static func current(_ settings: RuntimeLogSettings = .shared) -> [String: Value] {
        let v = settings.values
        return ["log_file": .string(""), "log_info": .bool(v.info), "log_warning": .bool(v.warning), "log_error": .bool(v.error),
                "log_verbose_level": .uint(v.verboseLevel), "log_format": .string("default")]
    }

    /// Applies every change or none; the settings after.
    static func update(_ changes: [String: Value], _ settings: RuntimeLogSettings = .shared) throws(ServeError) -> [String: Value] {
        var v = settings.values
        for (key, value) in changes.sorted(by: { $0.key < $1.key }) {
            switch (key, value) {
            case ("log_info", .bool(let on)): v.info = on
            case ("log_warning", .bool(let on)): v.warning = on
            case ("log_error", .bool(let on)): v.error = on
            case ("log_verbose_level", .uint(let level)): v.verboseLevel = level
            case ("log_file", .string(let path)):
                guard path.isEmpty else { throw .invalidArgument(item: "log settings", field: key, message: "vf-serve logs to standard error only") }
            case ("log_format", .string(let format)):
                guard format == "default" else {
                    throw .invalidArgument(item: "log settings", field: key, message: "'\(format)' is not supported (default)")
                }
            case ("log_info", _), ("log_warning", _), ("log_error", _):
                throw .invalidArgument(item: "log settings", field: key, message: "must be a bool")
            case ("log_verbose_level", _):
                throw .invalidArgument(item: "log settings", field: key, message: "must be an unsigned integer")
            case ("log_file", _), ("log_format", _):
                throw .invalidArgument(item: "log settings", field: key, message: "must be a string")
            default:
                throw .invalidArgument(item: "log settings", field: key,
                                       message: "unknown setting (log_file, log_info, log_warning, log_error, log_verbose_level, log_format)")
            }
        }
        settings.values = v
        return current(settings)
    }

    // MARK: gRPC

    static func respond(_ request: Inference_LogSettingsRequest) throws(ServeError) -> Inference_LogSettingsResponse {
        var changes: [String: Value] = [:]
        for (key, setting) in request.settings {
            switch setting.parameterChoice {
            case .boolParam(let b)?: changes[key] = .bool(b)
            case .uint32Param(let u)?: changes[key] = .uint(u)
            case .stringParam(let s)?: changes[key] = .string(s)
            case nil: throw .invalidArgument(item: "log settings", field: key, message: "has no value")
            }
        }
        let after = changes.isEmpty ? current() : try update(changes)
        return Inference_LogSettingsResponse.with {
            $0.settings = after.mapValues { value in
                Inference_LogSettingsResponse.SettingValue.with {
                    switch value {
                    case .bool(let b): $0.boolParam = b
                    case .uint(let u): $0.uint32Param = u
                    case .string(let s): $0.stringParam = s
                    }
                }
            }
        }
    }

    // MARK: HTTP (JSON)

    static func json(_ values: [String: Value]) -> [String: Any] {
        values.mapValues { value -> Any in
            switch value {
            case .bool(let b): b
            case .uint(let u): NSNumber(value: u)
            case .string(let s): s
            }
        }
    }

    /// A JSON body's settings: booleans, non-negative integers and strings.
    static func changes(fromJSON object: [String: Any]) throws(ServeError) -> [String: Value] {
        var changes: [String: Value] = [:]
        for (key, raw) in object {
            // JSON's true and false arrive as numbers too: test for them first.
            if let number = raw as? NSNumber, RESTInference.isBool(number) {
                changes[key] = .bool(number.boolValue)
            } else if let number = raw as? NSNumber, let u = UInt32(exactly: number.doubleValue) {
                changes[key] = .uint(u)
            } else if let s = raw as? String {
                changes[key] = .string(s)
            } else {
                throw .invalidArgument(item: "log settings", field: key, message: "must be a bool, an unsigned integer or a string")
            }
        }
        return changes
    }
}
