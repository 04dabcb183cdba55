import Foundation

/// The shipped experiment configs by name: `detection/yolox_tiny_shapes` is
/// `<folder>/detection/yolox_tiny_shapes.yaml` in the first folder that has it —
/// `VISIONFLEET_CONFIGS`, then `configs/` beside the executable (or two levels up, as in a
/// SwiftPM build folder), then `configs/` in the working directory.
public struct ConfigCatalog: Sendable {
    public let folders: [URL]

    public init(folders: [URL]) { self.folders = folders }

    public static func standard(environment: [String: String] = ProcessInfo.processInfo.environment) -> ConfigCatalog {
        var folders: [URL] = []
        if let env = environment["VISIONFLEET_CONFIGS"], !env.isEmpty { folders.append(URL(fileURLWithPath: env)) }
        let executable = URL(fileURLWithPath: CommandLine.arguments.first ?? ".").resolvingSymlinksInPath().deletingLastPathComponent()
        folders.append(executable.appendingPathComponent("configs"))
        folders.append(executable.appendingPathComponent("../../../configs").standardizedFileURL)
        folders.append(URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("configs"))
        return ConfigCatalog(folders: folders)
    }

    /// Whether a SubmitJob `config_yaml` is a name rather than YAML text.
    static func isName(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 200 && !text.contains("..") &&
            text.utf8.allSatisfy { (97...122).contains($0) || (48...57).contains($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "-") }
    }

    /// The YAML text of a shipped config.
    func text(named name: String) throws(TrainingError) -> String {
        let file = name.hasSuffix(".yaml") ? name : name + ".yaml"
        for folder in folders {
            if let text = try? String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8) { return text }
        }
        throw .notFound("no shipped config named \(name) (looked in \(folders.map(\.path).joined(separator: ", ")))")
    }
}
