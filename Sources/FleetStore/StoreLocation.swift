import Foundation

/// Where a service keeps its embedded store: `$VISIONFLEET_HOME/<service>`, the home
/// defaulting to `./.visionfleet`.
public enum StoreLocation {
    public static func home(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        let home = environment["VISIONFLEET_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? ".visionfleet"
        return URL(fileURLWithPath: home, isDirectory: true).standardizedFileURL
    }

    public static func directory(service: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        home(environment: environment).appendingPathComponent(service, isDirectory: true)
    }
}
