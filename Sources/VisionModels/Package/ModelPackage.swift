import Foundation
import Tensors
import VectorIndex
import VisionData

/// Writes and reads a model package directory: `manifest.json` + `weights.safetensors`
/// (+ `gallery.index` for retrieval), each file named in the manifest with its SHA-256.
public enum ModelPackage {
    public static let weightsFile = "weights.safetensors"
    public static let manifestFile = "manifest.json"
    public static let galleryFile = "gallery.index"
    public static let gallerySourcesFile = "gallery-sources.json"

    /// Writes the package; the manifest's `files` (and `gallery`) are filled in here. `gallerySources`
    /// (one per gallery row) lets a server show the images behind search hits.
    public static func write(_ model: PackagedModel, manifest: ModelManifest, gallery: ExactIndex? = nil,
                             gallerySources: [ModelManifest.GallerySource]? = nil, to directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let weights = try SafeTensors.encode(model.module.stateDict(),
                                             metadata: ["format": "pt", "producer": "visionfleet", "task": manifest.task])
        var manifest = manifest
        manifest.files = [weightsFile: SHA256Digest.of(weights)]
        try weights.write(to: directory.appendingPathComponent(weightsFile), options: .atomic)
        if let gallery {
            let url = directory.appendingPathComponent(galleryFile)
            try gallery.write(to: url)
            manifest.files[galleryFile] = SHA256Digest.of(try Data(contentsOf: url))
            manifest.gallery = .init(file: galleryFile, count: gallery.count, dimension: gallery.dimension, labeled: gallery.labels != nil)
            if let gallerySources {
                precondition(gallerySources.count == gallery.count, "one gallery source per row")
                let data = try JSONEncoder().encode(gallerySources)
                try data.write(to: directory.appendingPathComponent(gallerySourcesFile), options: .atomic)
                manifest.files[gallerySourcesFile] = SHA256Digest.of(data)
                manifest.gallery?.sources = gallerySourcesFile
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(manifest).write(to: directory.appendingPathComponent(manifestFile), options: .atomic)
    }

    /// A classification package (the format-1 call).
    public static func write(model: any ClassificationNetwork, manifest: ModelManifest, to directory: URL) throws {
        try write(.classification(model), manifest: manifest, to: directory)
    }

    /// Reads a package, checks every file's digest, and rebuilds the model for its task.
    public static func read(from directory: URL) throws -> LoadedPackage {
        let manifestURL = directory.appendingPathComponent(manifestFile)
        guard let manifestData = try? Data(contentsOf: manifestURL) else { throw ModelPackageError.missingFile(manifestFile) }
        let manifest: ModelManifest
        do {
            manifest = try JSONDecoder().decode(ModelManifest.self, from: manifestData)
        } catch {
            if let version = (try? JSONSerialization.jsonObject(with: manifestData) as? [String: Any])?["formatVersion"] as? Int,
               version > ModelManifest.currentFormatVersion {
                throw ModelPackageError.newerFormat(found: version, supported: ModelManifest.currentFormatVersion)
            }
            throw ModelPackageError.invalidManifest("not a valid manifest: \(error)")
        }
        try manifest.check()
        guard manifest.files[weightsFile] != nil else { throw ModelPackageError.invalidManifest("names no \(weightsFile)") }
        var contents: [String: Data] = [:]
        for (file, expected) in manifest.files.sorted(by: { $0.key < $1.key }) {
            guard let data = try? Data(contentsOf: directory.appendingPathComponent(file)) else { throw ModelPackageError.missingFile(file) }
            let actual = SHA256Digest.of(data)
            guard actual == expected else { throw ModelPackageError.digestMismatch(file: file, expected: expected, actual: actual) }
            contents[file] = data
        }
        let model = try build(manifest)
        do {
            try model.module.load(stateDict: try SafeTensors.decode(contents[weightsFile]!).tensors)
        } catch {
            throw ModelPackageError.weights("\(error)")
        }
        var gallery: ExactIndex?
        var sources: [ModelManifest.GallerySource]?
        if let spec = manifest.gallery {
            if let file = spec.sources {
                do { sources = try JSONDecoder().decode([ModelManifest.GallerySource].self, from: contents[file]!) } catch {
                    throw ModelPackageError.invalidManifest("gallery sources \(file): \(error)")
                }
                guard sources?.count == spec.count else {
                    throw ModelPackageError.invalidManifest("gallery sources \(file) list \(sources?.count ?? 0) items, the gallery holds \(spec.count)")
                }
            }
            gallery = try ExactIndex.read(from: directory.appendingPathComponent(spec.file))
            guard gallery?.count == spec.count, gallery?.dimension == spec.dimension else {
                throw ModelPackageError.invalidManifest("gallery \(spec.file) holds \(gallery?.count ?? 0)×\(gallery?.dimension ?? 0), the manifest says \(spec.count)×\(spec.dimension)")
            }
        }
        return LoadedPackage(manifest: manifest, model: model, gallery: gallery, gallerySources: sources)
    }

    /// The model a manifest describes, weights not loaded.
    public static func build(_ manifest: ModelManifest) throws -> PackagedModel {
        let a = manifest.architecture
        switch manifest.task {
        case "detection":
            let d = manifest.detection!
            return .detection(YOLOXModel(size: .init(depth: d.depth, width: d.width, depthwise: d.depthwise),
                                         classes: manifest.classNames.count, inputChannels: a.inputChannels))
        case "retrieval":
            let r = manifest.retrieval!
            let pooling: EmbeddingModel.Pooling = switch r.pooling {
            case "max": .max
            case "gem": .gem(p: r.gemP ?? 3)
            default: .average
            }
            return .retrieval(EmbeddingModel(backbone: try BackboneRegistry.build(a), pooling: pooling, dimension: r.projectionDim))
        default:
            return .classification(try BackboneRegistry.build(a), pooling: a.pooling ?? "avg", gemP: a.gemP ?? 3)
        }
    }
}
