import Foundation

/// The VisionFleet build recorded in every model's lineage: the release, and the source
/// revision when the build sets `VISIONFLEET_CODE_VERSION` (the container image does).
public enum CodeVersion {
    public static let release = "0.1.0"

    public static var current: String {
        let revision = ProcessInfo.processInfo.environment["VISIONFLEET_CODE_VERSION"] ?? ""
        return revision.isEmpty ? "visionfleet \(release)" : "visionfleet \(release) (\(revision))"
    }
}
