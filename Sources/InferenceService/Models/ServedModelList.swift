import FleetProtos
import Foundation
import Synchronization

/// The models loaded at run time (RepositoryModelLoad), remembered under vf-serve's home so a
/// restart serves them again: `served-models.json`, one reference text per model name,
/// rewritten atomically on every load and unload.
public final class ServedModelList: Sendable {
    public let file: URL
    private let references = Mutex<[String: String]>([:])

    public init(file: URL) {
        self.file = file
        if let data = try? Data(contentsOf: file), let saved = try? JSONDecoder().decode([String: String].self, from: data) {
            references.withLock { $0 = saved }
        }
    }

    /// The remembered references, by model name.
    public var saved: [String: String] { references.withLock { $0 } }

    func remember(_ name: String, reference: String) throws {
        try update { $0[name] = reference }
    }

    func forget(_ name: String) throws {
        try update { $0[name] = nil }
    }

    private func update(_ change: (inout [String: String]) -> Void) throws {
        try references.withLock { r in
            change(&r)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try encoder.encode(r).write(to: file, options: .atomic)
        }
    }
}
