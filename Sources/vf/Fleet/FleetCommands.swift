import ArgumentParser
import FleetProtos
import FleetRPC
import Foundation
import ServiceRuntime

/// Where the local fleet lives, for `vf up`, `down`, `status`, `deploy` and `demo`.
struct FleetHomeOptions: ParsableArguments {
    @Option(help: "Fleet home: stores, logs and run/fleet.json (env VISIONFLEET_HOME; default ./.visionfleet).")
    var home: String?

    var fleet: LocalFleet { LocalFleet(home: home) }
}

/// Ports `vf up` (and `deploy`, `demo`, which start the fleet when it is down) binds.
struct FleetPortOptions: ParsableArguments {
    @Option(help: "vf-ingest port (default 50051).") var ingestPort: Int?
    @Option(help: "vf-train port (default 50052).") var trainPort: Int?
    @Option(help: "vf-registry port (default 50053).") var registryPort: Int?
    @Option(help: "vf-serve gRPC port, the Triton protocol's (default 8001).") var servePort: Int?
    @Option(help: "vf-serve Prometheus metrics port (default 8002).") var metricsPort: Int?
    @Option(help: "vf-serve HTTP/REST inference port, the Triton protocol's (default 8000).") var httpPort: Int?
    @Flag(help: "Free ports for the services whose port is not given (several fleets on one machine).") var anyPorts = false
    @Option(help: "Seconds to wait for each service's health.") var startTimeout = 90.0

    func validate() throws {
        for (name, port) in ports where !(1...65535).contains(port) {
            throw ValidationError("--\(name)-port \(port): expected 1...65535 (--any-ports picks free ones)")
        }
    }

    var ports: [String: Int] {
        var p: [String: Int] = [:]
        p["ingest"] = ingestPort; p["train"] = trainPort; p["registry"] = registryPort; p["serve"] = servePort; p["metrics"] = metricsPort
        p["http"] = httpPort
        return p
    }

    /// Starts what is not running (and says what it did on stderr): the state and the services started.
    func up(_ fleet: LocalFleet) async throws -> (state: FleetState, started: [String]) {
        try await fleet.up(ports: ports, anyPorts: anyPorts, timeout: .milliseconds(Int(startTimeout * 1000))) { line in
            FileHandle.standardError.write(Data("\(line)\n".utf8))
        }
    }
}

/// `vf up`: starts the four services as local processes and waits until each is healthy.
struct FleetUp: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up", abstract: "Start vf-ingest, vf-registry, vf-train and vf-serve locally (a running one is not started twice).")
    @OptionGroup var location: FleetHomeOptions
    @OptionGroup var options: FleetPortOptions
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        let fleet = location.fleet
        let (state, started) = try await options.up(fleet)
        if json {
            let rows: [[String: Any]] = state.services.map {
                ["service": $0.name, "address": $0.address, "pid": Int($0.pid), "log": $0.log, "started": started.contains($0.name),
                 "metrics_port": $0.metricsPort as Any, "http_port": $0.httpPort as Any]
            }
            return try JSONLine.print(rows)
        }
        print(started.isEmpty ? "the fleet was already up (home \(fleet.home.path))" : "fleet up (home \(fleet.home.path))")
        TextTable.print(["SERVICE", "ADDRESS", "PID", "LOG"], state.services.map { [$0.name, $0.address, "\($0.pid)", $0.log] })
        if let serve = state["serve"], let metrics = serve.metricsPort { print("metrics: http://\(serve.host):\(metrics)/metrics") }
        if let serve = state["serve"], let http = serve.httpPort { print("inference over HTTP: http://\(serve.host):\(http)/v2") }
    }
}

/// `vf down`: stops the local fleet gracefully.
struct FleetDown: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "down", abstract: "Stop the local fleet (SIGTERM, then wait).")
    @OptionGroup var location: FleetHomeOptions
    @Option(help: "Seconds each service may take to stop before SIGKILL.") var grace = 30.0
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        let stopped = try await location.fleet.down(grace: .milliseconds(Int(grace * 1000)))
        if json {
            return try JSONLine.print(stopped.map { ["service": $0.name, "graceful": $0.graceful] as [String: Any] })
        }
        if stopped.isEmpty { return print("no fleet was running under \(location.fleet.home.path)") }
        for s in stopped { print("\(s.name): \(s.graceful ? "stopped" : "killed after \(Int(grace)) s")") }
    }
}
