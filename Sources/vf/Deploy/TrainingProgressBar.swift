import FleetProtos
import Foundation

/// A live one-line bar on stderr while a job trains (step, loss, throughput, ETA), with a line
/// per finished epoch and its validation metrics.
final class TrainingProgressBar: @unchecked Sendable {
    private let totalEpochs: Int32
    private let task: String
    private var lastDraw = Date.distantPast
    private var drawn = false

    init(totalEpochs: Int32, task: String) { self.totalEpochs = totalEpochs; self.task = task }

    func handle(_ event: Visionfleet_V1_JobEvent) {
        switch event.event {
        case .step(let s)?:
            let now = Date()
            guard now.timeIntervalSince(lastDraw) > 0.2 || s.step == s.totalSteps else { return }
            lastDraw = now
            let fraction = s.totalSteps > 0 ? Double(s.step) / Double(s.totalSteps) : 0
            let filled = Int(fraction * 24)
            write(String(format: "\rtrain epoch %d/%d [%@%@] step %lld/%lld  loss %.4f  %.0f img/s  eta %.0fs   ", s.epoch, totalEpochs,
                         String(repeating: "#", count: filled), String(repeating: ".", count: 24 - filled), s.step, s.totalSteps, s.loss,
                         s.imagesPerSecond, s.etaSeconds))
            drawn = true
        case .epoch(let e)?:
            let metrics = Dictionary(e.metrics.map { ($0.name, $0.value) }) { a, _ in a }
            line("epoch \(e.epoch): validation " + MetricText.line(metrics, task: task) + (e.isBest ? "  (best)" : "")
                 + String(format: "  %.1fs", e.wallSeconds))
        case .stateChanged(let state)?:
            line("job: \("\(state)".lowercased())")
        case .publishedVersion(let v)?:
            line("published version \(v)")
        default: break
        }
    }

    func finish() { if drawn { write("\n"); drawn = false } }

    private func line(_ text: String) {
        if drawn { write("\n"); drawn = false }
        write(text + "\n")
    }

    private func write(_ text: String) { FileHandle.standardError.write(Data(text.utf8)) }
}
