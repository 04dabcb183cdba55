import Foundation
import VisionData
import Tensors

/// Writes and reads a model package directory: `manifest.json` + `weights.safetensors`.
public enum ModelPackage {
    public static let weightsFile = "weights.safetensors"
    public static let manifestFile = "manifest.json"

    public static func write(model: any ClassificationNetwork, manifest: ModelManifest, to directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let weights = try SafeTensors.encode(model.stateDict(), metadata: ["format": "pt", "producer": "visionfleet"])
        var manifest = manifest
        manifest.files = [weightsFile: SHA256Digest.of(weights)]
        try weights.write(to: directory.appendingPathComponent(weightsFile), options: .atomic)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(manifest).write(to: directory.appendingPathComponent(manifestFile), options: .atomic)
    }

    /// Reads a package, checks every file digest, and rebuilds the model.
    public static func read(from directory: URL) throws -> (manifest: ModelManifest, model: any ClassificationNetwork) {
        let manifestURL = directory.appendingPathComponent(manifestFile)
        guard let manifestData = try? Data(contentsOf: manifestURL) else {
            throw TensorError.io(path: manifestURL.path, message: "cannot read the manifest")
        }
        let manifest: ModelManifest
        do {
            manifest = try JSONDecoder().decode(ModelManifest.self, from: manifestData)
        } catch {
            throw TensorError.io(path: manifestURL.path, message: "not a valid manifest: \(error)")
        }
        guard manifest.formatVersion == ModelManifest.currentFormatVersion else {
            throw TensorError.io(path: manifestURL.path, message: "format version \(manifest.formatVersion) is not supported")
        }
        let weightsURL = directory.appendingPathComponent(weightsFile)
        guard let weights = try? Data(contentsOf: weightsURL) else {
            throw TensorError.io(path: weightsURL.path, message: "cannot read the weights")
        }
        let digest = SHA256Digest.of(weights)
        guard manifest.files[weightsFile] == digest else {
            throw TensorError.io(path: weightsURL.path, message: "digest \(digest) does not match the manifest's \(manifest.files[weightsFile] ?? "none")")
        }
        let model = try BackboneRegistry.build(manifest.architecture)
        try model.load(stateDict: try SafeTensors.decode(weights).tensors)
        return (manifest, model)
    }
}
