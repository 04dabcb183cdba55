import ArgumentParser
import FleetProtos
import Foundation
import ServiceRuntime
import VisionData

/// `vf train plot ID --out FILE.png`: the job's loss and validation curves from its events.
struct TrainPlot: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "plot", abstract: "Draw a job's training curves (loss by step, validation metric by epoch) to a PNG.")
    @OptionGroup var connection: TrainConnection
    @Argument var id: String
    @Option(help: "PNG file to write.") var out: String

    func run() async throws {
        let client = try connection.client()
        try await Self.plot(id, client: client, to: URL(fileURLWithPath: out))
        if connection.json { print(#"{"out":"\#(out)"}"#) } else { print("wrote \(out)") }
    }

    /// Replays the job's events (up to now for a running job) and writes the picture.
    static func plot(_ id: String, client: TrainingClient, to url: URL) async throws {
        let job = try await client.job(id)
        let final = [.succeeded, .failed, .cancelled].contains(job.state)
        var losses: [Double] = [], epochs: [(Int, [String: Double])] = []
        let started = Date()
        try await client.watch(id) { event in
            switch event.event {
            case .step(let s)?: losses.append(s.loss)
            case .epoch(let e)?: epochs.append((Int(e.epoch), Dictionary(e.metrics.map { ($0.name, $0.value) }) { a, _ in a }))
            default: break
            }
            return final || Date().timeIntervalSince(started) < 0.5
        }
        let task = switch job.task {
        case .detection: "detection"
        case .retrieval: "retrieval"
        default: "classification"
        }
        let recorded = Set(epochs.flatMap { $0.1.keys })
        let name = (MetricText.headline[task] ?? []).first(where: recorded.contains)
            ?? recorded.sorted().first { $0 != "epoch" } ?? "metric"
        let metric = epochs.compactMap { e in e.1[name].map { (epoch: e.0, value: $0) } }
        let title = "\(job.modelName) - job \(job.id) on \(job.dataset.name)@\(job.dataset.version)"
        let picture = TrainingCurves.draw(title: title, losses: losses, metricName: name, metric: metric)
        try ImageCodec.encodePNG(picture, name: url.path).write(to: url)
    }
}
