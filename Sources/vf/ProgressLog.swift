import Foundation
import TrainingService

/// Trainer progress as lines on stderr (shared by `vf train-local` and the benchmarks).
enum ProgressLog {
    static func write(_ event: TrainerEvent) {
        let line: String
        switch event {
        case let .step(epoch, step, total, loss, lr, rate, eta, parts):
            let shown = parts.keys.sorted().map { String(format: " %@ %.3f", $0, parts[$0]!) }.joined()
            line = String(format: "epoch %d  step %d/%d  loss %.4f%@  lr %.4f  %.0f img/s  eta %.0f s\n", epoch + 1, step, total, loss,
                          shown.isEmpty ? "" : " (\(shown.dropFirst()))", lr, rate, eta)
        case let .epoch(epoch, metrics, isBest, wall):
            let shown = metrics.keys.sorted().filter { $0 != "epoch" }.map { String(format: "%@ %.4f", $0, metrics[$0]!) }
            line = String(format: "epoch %d done in %.0f s: %@%@\n", epoch + 1, wall, shown.joined(separator: " "), isBest ? " (best)" : "")
        case let .stopped(epoch, reason):
            line = "stopped after epoch \(epoch + 1): \(reason)\n"
        case .checkpoint:
            return
        }
        FileHandle.standardError.write(Data(line.utf8))
    }
}
