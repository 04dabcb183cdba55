import Foundation
import Logging
import Synchronization

/// Traces sampled inference requests the way Triton's "triton" trace mode does: with
/// trace_level TIMESTAMPS, one request in every trace_rate (per model) records its
/// REQUEST_START, QUEUE_START, COMPUTE_START, COMPUTE_INPUT_END, COMPUTE_OUTPUT_START,
/// COMPUTE_END and REQUEST_END (monotonic nanoseconds), until trace_count runs out. Traces are
/// written as a JSON array to `trace_file.<n>` every log_frequency traces, or, with
/// log_frequency 0, to `trace_file` at shutdown (and to `trace_file.<n>` whenever 100,000 wait,
/// so memory stays bounded). The file is fixed when vf-serve starts (`--trace-file`); without
/// one, tracing cannot be switched on.
public final class RequestTracer: Sendable {
    /// One sampled request, from its start.
    struct Trace: Sendable {
        let id: Int
        let model: String
        let startNs: UInt64
    }

    public let traceFile: String?
    static let mostWaiting = 100_000
    private let logger: Logger

    private struct State {
        var global = TraceSettings.defaults
        var models: [String: TraceSettings] = [:]
        /// Requests seen per model while tracing was on (every trace_rate-th is traced).
        var seen: [String: Int] = [:]
        var nextID = 1
        var waiting: [String] = []
        var nextFileIndex = 0
    }
    private let state = Mutex(State())
    /// Whether any settings trace at all: requests skip the lock while none do.
    private let anyOn = Atomic<Bool>(false)

    public init(traceFile: String?, logger: Logger = Logger(label: "visionfleet.vf-serve")) {
        self.traceFile = traceFile
        self.logger = logger
    }

    /// The settings in effect, globally or for `model`, in Triton's form.
    func settings(model: String?) -> [String: [String]] {
        state.withLock { s in
            let effective = model.flatMap { s.models[$0] }.map { $0.over(s.global) } ?? s.global
            return effective.strings(traceFile: traceFile)
        }
    }

    /// Applies a TraceSetting request (every change or none); the settings in effect after.
    func update(_ changes: [String: [String]], model: String?) throws(ServeError) -> [String: [String]] {
        try state.withLock { (s: inout State) throws(ServeError) -> [String: [String]] in
            if let model {
                let next = try (s.models[model] ?? TraceSettings()).updated(by: changes, global: false, traceFile: traceFile)
                s.models[model] = next
                s.seen[model] = 0
                refresh(s)
                return next.over(s.global).strings(traceFile: traceFile)
            }
            s.global = try s.global.updated(by: changes, global: true, traceFile: traceFile)
            s.seen = [:]
            refresh(s)
            return s.global.strings(traceFile: traceFile)
        }
    }

    /// A trace for a request to `model` when this one is sampled, else nil (the common case: one
    /// lock and a lookup).
    func begin(model: String) -> Trace? {
        guard anyOn.load(ordering: .relaxed) else { return nil }
        let now = Self.monotonicNs()
        return state.withLock { s -> Trace? in
            let own = s.models[model]
            let effective = own?.over(s.global) ?? s.global
            guard effective.timestamps == true, let count = effective.count, count != 0 else { return nil }
            let seen = (s.seen[model] ?? 0) + 1
            s.seen[model] = seen
            guard seen % max(effective.rate ?? 1000, 1) == 0 else { return nil }
            if count > 0 {
                // The count that applies is the model's own when it set one, else the global one.
                if own?.count != nil { s.models[model]?.count = count - 1 } else { s.global.count = count - 1 }
            }
            defer { s.nextID += 1 }
            return Trace(id: s.nextID, model: model, startNs: now)
        }
    }

    private func refresh(_ s: State) {
        let on = s.global.timestamps == true || s.models.values.contains { $0.over(s.global).timestamps == true }
        anyOn.store(on, ordering: .relaxed)
    }

    /// Completes `trace` with its request's timing (nil when it failed before compute).
    func end(_ trace: Trace, version: Int32, requestID: String, timing: RequestTiming?) {
        let endNs = Self.monotonicNs()
        var stamps: [(String, UInt64)] = [("REQUEST_START", trace.startNs)]
        if let t = timing, t.computeStartNs > 0 {
            let start = t.computeStartNs
            stamps += [("QUEUE_START", start &- t.queueNs), ("COMPUTE_START", start),
                       ("COMPUTE_INPUT_END", start + t.computeInputNs),
                       ("COMPUTE_OUTPUT_START", start + t.computeInputNs + t.computeInferNs),
                       ("COMPUTE_END", start + t.computeInputNs + t.computeInferNs + t.computeOutputNs)]
        }
        stamps.append(("REQUEST_END", endNs))
        let object: [String: Any] = [
            "id": trace.id, "model_name": trace.model, "model_version": Int(version), "request_id": requestID,
            "timestamps": stamps.map { ["name": $0.0, "ns": NSNumber(value: $0.1)] },
        ]
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return }
        let text = String(decoding: data, as: UTF8.self)
        let batch = state.withLock { s -> (traces: [String], index: Int)? in
            s.waiting.append(text)
            let every = (s.models[trace.model]?.over(s.global) ?? s.global).logFrequency ?? 0
            guard (every > 0 && s.waiting.count >= every) || s.waiting.count >= Self.mostWaiting else { return nil }
            defer { s.waiting = []; s.nextFileIndex += 1 }
            return (s.waiting, s.nextFileIndex)
        }
        if let batch, let traceFile { write(batch.traces, to: "\(traceFile).\(batch.index)") }
    }

    /// Writes what waits: to `trace_file` when no file was written per log_frequency, else to the next numbered one.
    public func flush() {
        let batch = state.withLock { s -> (traces: [String], index: Int?)? in
            guard !s.waiting.isEmpty else { return nil }
            defer { s.waiting = [] }
            if s.nextFileIndex == 0 && (s.global.logFrequency ?? 0) == 0 { return (s.waiting, nil) }
            defer { s.nextFileIndex += 1 }
            return (s.waiting, s.nextFileIndex)
        }
        guard let batch, let traceFile else { return }
        write(batch.traces, to: batch.index.map { "\(traceFile).\($0)" } ?? traceFile)
    }

    private func write(_ traces: [String], to path: String) {
        let text = "[\n" + traces.joined(separator: ",\n") + "\n]\n"
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            logger.error("could not write traces", metadata: ["file": "\(path)", "traces": "\(traces.count)", "error": "\(error)"])
        }
    }

    static func monotonicNs() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
