import FleetProtos
import Foundation

/// What the registry reads from a package's `manifest.json`: its format version, task, the
/// files it names with their digests, and (as defaults for the version record) its metrics and
/// lineage. Anything else in the manifest is the model's business.
struct ManifestSummary {
    static let fileName = "manifest.json"

    var formatVersion: Int
    var task: Visionfleet_V1_TaskType
    /// path → "sha256:<hex>", manifest.json itself excluded.
    var files: [String: String]
    var metrics: [Visionfleet_V1_Metric]
    var lineage: Visionfleet_V1_Lineage?

    static func taskType(_ name: String) -> Visionfleet_V1_TaskType? {
        switch name {
        case "classification": .classification
        case "detection": .detection
        case "retrieval": .retrieval
        default: nil
        }
    }

    init(parsing text: String) throws(RegistryError) {
        func bad(_ field: String, _ message: String) -> RegistryError {
            .invalidArgument(item: Self.fileName, field: field, message: message)
        }
        guard !text.isEmpty else { throw bad("header.manifest_json", "missing: the upload's header carries the package's manifest.json") }
        guard let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] else {
            throw bad("header.manifest_json", "not a JSON object")
        }
        guard let version = object["formatVersion"] as? Int, version >= 1 else {
            throw bad("formatVersion", "missing or not a positive integer")
        }
        guard let taskName = object["task"] as? String, let task = Self.taskType(taskName) else {
            throw bad("task", "missing or not one of classification, detection, retrieval")
        }
        guard let files = object["files"] as? [String: String], !files.isEmpty else {
            throw bad("files", "missing or empty: the manifest names each file of the package with its digest")
        }
        for (path, digest) in files {
            try RegistryNames.checkFilePath(path, field: "files")
            guard path != Self.fileName else { throw bad("files.\(path)", "the manifest cannot name its own digest") }
            guard digest.hasPrefix("sha256:"), digest.utf8.count == 71 else {
                throw bad("files.\(path)", "'\(digest)' is not sha256:<64 hex digits>")
            }
        }
        formatVersion = version
        self.task = task
        self.files = files
        metrics = ((object["metrics"] as? [String: Any]) ?? [:]).compactMap { name, value in
            (value as? NSNumber).map { number in Visionfleet_V1_Metric.with { $0.name = name; $0.value = number.doubleValue } }
        }.sorted { $0.name < $1.name }
        if let l = object["lineage"] as? [String: Any] {
            var lineage = Visionfleet_V1_Lineage()
            if let dataset = l["dataset"] as? String {
                let parts = dataset.split(separator: "@", maxSplits: 1)
                lineage.dataset.name = String(parts.first ?? "")
                if parts.count == 2, let v = Int32(parts[1]) { lineage.dataset.version = v }
            }
            lineage.jobID = l["jobId"] as? String ?? ""
            lineage.configDigest = l["configDigest"] as? String ?? ""
            lineage.datasetDigest = l["datasetDigest"] as? String ?? ""
            lineage.codeVersion = l["codeVersion"] as? String ?? ""
            self.lineage = lineage
        }
    }
}
