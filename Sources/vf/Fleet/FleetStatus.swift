import ArgumentParser
import FleetProtos
import FleetRPC
import Foundation
import ServiceRuntime

/// `vf status`: each local service's process, health, version and uptime, with what it holds:
/// models served, jobs running, datasets, registered models.
struct FleetStatus: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Show the local fleet: health, version, uptime, models, jobs, datasets.")
    @OptionGroup var location: FleetHomeOptions
    @Flag(help: "Print JSON.") var json = false

    struct Row: Encodable {
        var service: String
        var address: String
        var pid: Int32
        var running: Bool
        var health: String
        var version: String
        var uptimeSeconds: Double
        var details: String
        var modelsServed: [String]?
        var jobsRunning: Int?
        var datasets: Int?
        var models: Int?
    }

    func run() async throws {
        let fleet = location.fleet
        guard let state = try fleet.state else {
            if json { return print("[]") }
            print("no fleet under \(fleet.home.path): vf up starts one")
            throw ExitCode(1)
        }
        let env = fleet.clientEnvironment(state)
        var rows: [Row] = []
        for s in state.services {
            let running = LocalProcess.isRunning(s.pid, executable: s.executable)
            var row = Row(service: s.name, address: s.address, pid: s.pid, running: running, health: "down", version: s.version,
                          uptimeSeconds: running ? Date().timeIntervalSince(s.startedAt) : 0, details: "")
            if running {
                let client = RPCClient(channel: try RPCChannel(target: s.address))
                row.health = (try? await HealthProbe.check(client, timeout: .seconds(2))).map { "\($0)".lowercased() } ?? "unreachable"
                do {
                    switch s.name {
                    case "serve":
                        let models = try await VisionClient(environment: env).servedModels()
                        row.modelsServed = models.map { m in "\(m.name)\(m.versions.first.map { "@\($0.version)" } ?? "") \(m.state.lowercased())" }
                        row.details = models.isEmpty ? "no models" : "models: " + row.modelsServed!.joined(separator: ", ")
                    case "train":
                        let jobs = try await TrainingClient(environment: env).listJobs(state: .running)
                        row.jobsRunning = jobs.count
                        row.details = "jobs running: \(jobs.count)" + (jobs.isEmpty ? "" : " (\(jobs.map(\.id).joined(separator: ", ")))")
                    case "ingest":
                        let datasets = try await DatasetClient(environment: env).listDatasets()
                        row.datasets = datasets.count
                        row.details = "datasets: \(datasets.count)"
                    case "registry":
                        let models = try await RegistryClient(environment: env).listModels()
                        row.models = models.count
                        row.details = "models: \(models.count)"
                    default: break
                    }
                } catch { row.details = "\(error)" }
            } else {
                row.details = "not running (stale pid \(s.pid)); vf up starts it again"
            }
            rows.append(row)
        }
        if json { return try JSONLine.print(encoding: rows) }
        TextTable.print(["SERVICE", "ADDRESS", "PID", "HEALTH", "UPTIME", "VERSION", "DETAILS"], rows.map {
            [$0.service, $0.address, "\($0.pid)", $0.health, $0.running ? Self.duration($0.uptimeSeconds) : "-", $0.version, $0.details]
        })
        if rows.contains(where: { !$0.running || $0.health != "serving" }) { throw ExitCode(1) }
    }

    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds)
        return s >= 3600 ? "\(s / 3600)h\(s % 3600 / 60)m" : s >= 60 ? "\(s / 60)m\(s % 60)s" : "\(s)s"
    }
}
