/// Triton's trace settings ("triton" trace mode): what share of inference requests vf-serve
/// traces and when it writes them. The server holds one global set; a model may override any
/// of its fields (a nil field follows the global one).
struct TraceSettings: Sendable, Equatable {
    /// TIMESTAMPS records each traced request's timestamps; OFF traces nothing.
    var timestamps: Bool?
    /// One request traced in every `rate`.
    var rate: Int?
    /// How many more requests to trace; -1 without limit. Counts down as traces are taken.
    var count: Int?
    /// Write the traces to `trace_file.<n>` every `logFrequency` traces; 0: to `trace_file` at shutdown.
    var logFrequency: Int?

    static let defaults = TraceSettings(timestamps: false, rate: 1000, count: -1, logFrequency: 0)

    /// Every field set: `self`'s where given, else `base`'s.
    func over(_ base: TraceSettings) -> TraceSettings {
        TraceSettings(timestamps: timestamps ?? base.timestamps, rate: rate ?? base.rate, count: count ?? base.count,
                      logFrequency: logFrequency ?? base.logFrequency)
    }

    static let keys = ["trace_file", "trace_level", "trace_rate", "trace_count", "log_frequency", "trace_mode"]

    /// Applies one request's changes (Triton's form: each setting a list of strings; an empty
    /// list clears the setting — a model's then follows the global one, a global one returns to
    /// its default). Every change or none: the first bad one throws, naming it.
    func updated(by changes: [String: [String]], global: Bool, traceFile: String?) throws(ServeError) -> TraceSettings {
        var next = self
        for (key, values) in changes.sorted(by: { $0.key < $1.key }) {
            let clear = values.isEmpty
            switch key {
            case "trace_level":
                if clear { next.timestamps = global ? Self.defaults.timestamps : nil; continue }
                let levels = Set(values.map { $0.uppercased() })
                if levels.contains("TENSORS") {
                    throw .invalidArgument(item: "trace settings", field: key, message: "TENSORS is not supported (OFF or TIMESTAMPS)")
                }
                guard levels.isSubset(of: ["OFF", "TIMESTAMPS"]), !(levels.contains("OFF") && levels.count > 1) else {
                    throw .invalidArgument(item: "trace settings", field: key, message: "\(values) given: OFF or TIMESTAMPS")
                }
                let on = levels.contains("TIMESTAMPS")
                if on && traceFile == nil {
                    throw .failedPrecondition("trace settings: trace_level TIMESTAMPS needs a trace file; start vf-serve with --trace-file")
                }
                next.timestamps = on
            case "trace_rate", "trace_count", "log_frequency":
                let value: Int?
                if clear {
                    value = nil
                } else {
                    guard values.count == 1, let n = Int(values[0]) else {
                        throw .invalidArgument(item: "trace settings", field: key, message: "\(values) given: one integer")
                    }
                    let least = key == "trace_rate" ? 1 : key == "trace_count" ? -1 : 0
                    guard n >= least else {
                        throw .invalidArgument(item: "trace settings", field: key, message: "\(n) given: at least \(least)")
                    }
                    value = n
                }
                switch key {
                case "trace_rate": next.rate = value ?? (global ? Self.defaults.rate : nil)
                case "trace_count": next.count = value ?? (global ? Self.defaults.count : nil)
                default: next.logFrequency = value ?? (global ? Self.defaults.logFrequency : nil)
                }
            case "trace_file":
                // As in Triton since 24.01: where traces go is fixed when the server starts.
                guard values == [traceFile ?? ""] || clear else {
                    throw .invalidArgument(item: "trace settings", field: key, message: "is set when vf-serve starts (--trace-file), not changed at run time")
                }
            case "trace_mode":
                guard values == ["triton"] || clear else {
                    throw .invalidArgument(item: "trace settings", field: key, message: "\(values) given: vf-serve traces in the triton mode only")
                }
            default:
                throw .invalidArgument(item: "trace settings", field: key, message: "unknown setting (\(Self.keys.joined(separator: ", ")))")
            }
        }
        return next
    }

    /// Triton's form of a full set (every field given).
    func strings(traceFile: String?) -> [String: [String]] {
        let full = over(Self.defaults)
        return ["trace_file": [traceFile ?? ""], "trace_level": [full.timestamps! ? "TIMESTAMPS" : "OFF"],
                "trace_rate": ["\(full.rate!)"], "trace_count": ["\(full.count!)"], "log_frequency": ["\(full.logFrequency!)"],
                "trace_mode": ["triton"]]
    }
}
