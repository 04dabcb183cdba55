import FleetRPC
import FleetStore
import Foundation
import ServiceRuntime
import VisionModels

/// The fleet on this machine: the four service processes `vf up` starts under
/// `$VISIONFLEET_HOME` (logs in `logs/`, the state with pids and ports in `run/fleet.json`).
struct LocalFleet: Sendable {
    enum Failure: Error, CustomStringConvertible {
        case portTaken(service: String, port: Int)
        case missingBinary(String, directory: String)
        case exited(service: String, log: String, tail: String)
        case unhealthy(service: String, seconds: Int, log: String, tail: String)

        var description: String {
            switch self {
            case .portTaken(let service, let port):
                "port \(port) (\(service)) is taken by another process, not one this fleet started; free it or pick another port (vf up --\(service)-port N, or --any-ports)"
            case .missingBinary(let name, let directory):
                "\(name) is not in \(directory); build the fleet (swift build -c release) or point VISIONFLEET_BIN at the folder with the vf-* binaries"
            case .exited(let service, let log, let tail):
                "\(service) exited while starting; its log (\(log)) ends:\n\(tail)"
            case .unhealthy(let service, let seconds, let log, let tail):
                "\(service) did not answer health SERVING within \(seconds) s; its log (\(log)) ends:\n\(tail)"
            }
        }
    }

    let home: URL
    let binDirectory: URL
    var host = "127.0.0.1"

    init(home: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment) {
        // Both are absolute: a relative path is taken from the working directory.
        self.home = home.map { URL(fileURLWithPath: $0, isDirectory: true).standardizedFileURL } ?? StoreLocation.home(environment: environment)
        binDirectory = environment["VISIONFLEET_BIN"].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0) }
            ?? URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
    }

    var state: FleetState? { get throws { try FleetState.read(home: home) } }

    /// The environment a client in this process uses to reach this fleet.
    func clientEnvironment(_ state: FleetState) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["VISIONFLEET_HOME"] = home.path
        for s in state.services { env["VF_\(s.name.uppercased())_ADDR"] = s.address }
        return env
    }

    /// Starts the services that are not running (none twice), waits until each answers health
    /// SERVING, and returns the fleet's state. `ports` by service name (and "metrics"); a port
    /// not given is a free one with `anyPorts`, else the one recorded last time, else the default.
    func up(ports: [String: Int] = [:], anyPorts: Bool = false, timeout: Duration = .seconds(60),
            say: (String) -> Void = { _ in }) async throws -> (state: FleetState, started: [String]) {
        let fm = FileManager.default
        try fm.createDirectory(at: home.appendingPathComponent("logs"), withIntermediateDirectories: true)
        var state = try self.state ?? FleetState()
        var toStart: [FleetServiceSpec] = []
        for spec in FleetServiceSpec.all {
            guard let record = state[spec.name] else { toStart.append(spec); continue }
            if LocalProcess.isRunning(record.pid, executable: spec.executable) { continue }
            say("\(spec.name): the recorded pid \(record.pid) is not running (stale pid file); starting it again")
            toStart.append(spec)
        }
        // Choose and check every port before starting anything.
        var chosen: [String: Int] = [:]
        // The kernel may hand back a port it just gave (each probe socket is closed): never twice.
        func unchosenFreePort() -> Int {
            var port = LocalProcess.freePort()
            while chosen.values.contains(port) { port = LocalProcess.freePort() }
            return port
        }
        for spec in toStart {
            let port = ports[spec.name] ?? (anyPorts ? unchosenFreePort() : state[spec.name]?.port ?? spec.defaultPort)
            guard LocalProcess.portIsFree(port, host: host) else { throw Failure.portTaken(service: spec.name, port: port) }
            chosen[spec.name] = port
            if spec.name == "serve" {
                let metrics = ports["metrics"]
                    ?? (anyPorts ? unchosenFreePort() : state["serve"]?.metricsPort ?? FleetServiceSpec.defaultMetricsPort)
                guard LocalProcess.portIsFree(metrics, host: host) else { throw Failure.portTaken(service: "metrics", port: metrics) }
                chosen["metrics"] = metrics
                let http = ports["http"]
                    ?? (anyPorts ? unchosenFreePort() : state["serve"]?.httpPort ?? FleetServiceSpec.defaultHTTPPort)
                guard LocalProcess.portIsFree(http, host: host) else { throw Failure.portTaken(service: "http", port: http) }
                chosen["http"] = http
            }
            let binary = binDirectory.appendingPathComponent(spec.executable).path
            guard fm.isExecutableFile(atPath: binary) else { throw Failure.missingBinary(spec.executable, directory: binDirectory.path) }
        }
        for spec in toStart {
            let port = chosen[spec.name]!
            var env = ProcessInfo.processInfo.environment
            env["VISIONFLEET_HOME"] = home.path
            env["\(spec.prefix)_HOST"] = host
            env["\(spec.prefix)_PORT"] = "\(port)"
            for peer in spec.peers { env[peer.variable] = state[peer.service]?.address ?? "\(host):\(chosen[peer.service] ?? 0)" }
            if spec.name == "serve" {
                env["VF_SERVE_METRICS_PORT"] = "\(chosen["metrics"]!)"
                env["VF_SERVE_HTTP_PORT"] = "\(chosen["http"]!)"
            }
            let log = home.appendingPathComponent("logs/\(spec.name).log").path
            let binary = binDirectory.appendingPathComponent(spec.executable).path
            let pid = try LocalProcess.spawn(binary, environment: env, log: log)
            state[spec.name] = FleetState.Service(name: spec.name, executable: spec.executable, host: host, port: port, pid: pid,
                                                  startedAt: Date(), log: log, version: CodeVersion.current,
                                                  metricsPort: spec.name == "serve" ? chosen["metrics"] : nil,
                                                  httpPort: spec.name == "serve" ? chosen["http"] : nil)
            state.services.sort { a, b in Self.order(a.name) < Self.order(b.name) }
            try state.write(home: home)
            say("\(spec.name): started \(spec.executable) (pid \(pid)) on \(host):\(port)")
        }
        for spec in FleetServiceSpec.all { try await waitHealthy(state[spec.name]!, timeout: timeout) }
        return (state, toStart.map(\.name))
    }

    static func order(_ name: String) -> Int { FleetServiceSpec.all.firstIndex { $0.name == name } ?? 99 }

    private func waitHealthy(_ service: FleetState.Service, timeout: Duration) async throws {
        let client = RPCClient(channel: try RPCChannel(target: service.address))
        let deadline = ContinuousClock.now + timeout
        while true {
            if (try? await HealthProbe.check(client, timeout: .seconds(1))) == .serving { return }
            guard LocalProcess.isRunning(service.pid, executable: service.executable) else {
                throw Failure.exited(service: service.name, log: service.log, tail: LocalProcess.tail(service.log))
            }
            guard ContinuousClock.now < deadline else {
                throw Failure.unhealthy(service: service.name, seconds: Int(timeout.components.seconds), log: service.log,
                                        tail: LocalProcess.tail(service.log))
            }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    /// Stops every recorded service (SIGTERM, then waits; SIGKILL after `grace`), last-started
    /// first, and clears the state. Returns (service, stopped gracefully) for those that ran.
    func down(grace: Duration = .seconds(30)) async throws -> [(name: String, graceful: Bool)] {
        guard let state = try self.state else { return [] }
        var out: [(String, Bool)] = []
        for service in state.services.reversed() where LocalProcess.isRunning(service.pid, executable: service.executable) {
            out.append((service.name, await LocalProcess.stop(service.pid, executable: service.executable, grace: grace)))
        }
        try FleetState.remove(home: home)
        return out
    }
}
