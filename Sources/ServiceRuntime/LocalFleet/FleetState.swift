import FleetStore
import Foundation

/// What `vf up` records of the fleet it started under `$VISIONFLEET_HOME`: each service's
/// process, port and log (`run/fleet.json`). Every `vf` command that is given no address
/// (flag or environment) finds the local fleet's services here.
public struct FleetState: Codable, Sendable, Equatable {
    public struct Service: Codable, Sendable, Equatable {
        /// ingest, registry, train or serve.
        public var name: String
        public var executable: String
        public var host: String
        public var port: Int
        public var pid: Int32
        public var startedAt: Date
        public var log: String
        /// The VisionFleet build that started it.
        public var version: String
        /// vf-serve's Prometheus port (nil elsewhere).
        public var metricsPort: Int?
        /// vf-serve's HTTP/REST inference port (nil elsewhere, and in state files from before it).
        public var httpPort: Int?

        public init(name: String, executable: String, host: String, port: Int, pid: Int32, startedAt: Date, log: String,
                    version: String, metricsPort: Int? = nil, httpPort: Int? = nil) {
            self.name = name; self.executable = executable; self.host = host; self.port = port; self.pid = pid
            self.startedAt = startedAt; self.log = log; self.version = version; self.metricsPort = metricsPort; self.httpPort = httpPort
        }

        /// The address clients dial (a wildcard bind is dialled on loopback).
        public var address: String { "\(host == "0.0.0.0" || host.isEmpty ? "127.0.0.1" : host):\(port)" }
    }

    public var services: [Service]

    public init(services: [Service] = []) { self.services = services }

    public subscript(name: String) -> Service? {
        get { services.first { $0.name == name } }
        set {
            services.removeAll { $0.name == name }
            if let newValue { services.append(newValue) }
        }
    }

    public static func file(home: URL) -> URL { home.appendingPathComponent("run/fleet.json") }

    /// The recorded state, or nil when `vf up` never ran under `home` (or `vf down` cleared it).
    public static func read(home: URL) throws -> FleetState? {
        let url = file(home: home)
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        do { return try decoder.decode(FleetState.self, from: Data(contentsOf: url)) } catch {
            throw FleetStateError.unreadable(url.path, "\(error)")
        }
    }

    public func write(home: URL) throws {
        let url = Self.file(home: home)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: url, options: .atomic)
    }

    public static func remove(home: URL) throws {
        let url = file(home: home)
        if FileManager.default.fileExists(atPath: url.path) { try FileManager.default.removeItem(at: url) }
    }

    /// The address of `service` in the local fleet under `$VISIONFLEET_HOME`, if `vf up` recorded it.
    public static func address(of service: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        (try? read(home: StoreLocation.home(environment: environment)))??[service]?.address
    }
}

public enum FleetStateError: Error, CustomStringConvertible {
    case unreadable(String, String)

    public var description: String {
        switch self {
        case .unreadable(let path, let why): "\(path) is not a fleet state file (\(why)); remove it and run vf up again"
        }
    }
}
