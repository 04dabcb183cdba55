/// `manifest.json` of a model package: everything needed to rebuild the model for inference
/// from the package alone, plus metrics and lineage. Files are named with their digests, which
/// a reader checks. One format serves every task: `architecture` is the classifier (or the
/// retrieval trunk), `detection` the YOLOX detector, `retrieval` the embedding head, `gallery`
/// a retrieval package's search index.
///
/// Format versions: 1 (classification only) and 2 (every task); a reader refuses newer ones.
public struct ModelManifest: Codable, Sendable, Equatable {
    public static let currentFormatVersion = 2
    public static let supportedFormatVersions = 1...2

    public struct Architecture: Codable, Sendable, Equatable {
        public var backbone: String        // registry type, e.g. "resnet_cifar"
        public var depth: Int
        public var inputChannels: Int
        public var classes: Int
        public var stem: String?           // resnet
        public var width: Double?          // mobilenet_v2
        public var stemStride: Int?        // mobilenet_v2
        public var pooling: String?        // avg (default) | max | gem
        public var gemP: Float?

        public init(backbone: String, depth: Int, inputChannels: Int, classes: Int, stem: String? = nil, width: Double? = nil,
                    stemStride: Int? = nil) {
            self.backbone = backbone; self.depth = depth; self.inputChannels = inputChannels; self.classes = classes
            self.stem = stem; self.width = width; self.stemStride = stemStride
        }

        /// The architecture of a config's backbone.
        public init(_ backbone: ExperimentConfig.Backbone, inputChannels: Int, classes: Int) {
            self.init(backbone: backbone.type, depth: backbone.depth, inputChannels: inputChannels, classes: classes,
                      stem: backbone.type == "resnet" ? backbone.stem : nil,
                      width: backbone.type == "mobilenet_v2" ? backbone.width : nil,
                      stemStride: backbone.type == "mobilenet_v2" ? backbone.stemStride : nil)
        }
    }

    public struct Preprocessing: Codable, Sendable, Equatable {
        public var channels: Int
        public var height: Int
        public var width: Int
        /// Per channel, in [0, 1] pixel units: x = (pixel/255 − mean) / std.
        public var mean: [Float]
        public var std: [Float]
        /// How an image of another size reaches height×width: "resize" (stretch, bilinear) or
        /// "letterbox" (keep aspect, centre on `padValue`; boxes map back through it). nil = resize.
        public var resize: String?
        public var padValue: Int?

        public init(channels: Int, height: Int, width: Int, mean: [Float], std: [Float], resize: String? = nil, padValue: Int? = nil) {
            self.channels = channels; self.height = height; self.width = width; self.mean = mean; self.std = std
            self.resize = resize; self.padValue = padValue
        }
    }

    /// A YOLOX detector and its default post-processing.
    public struct DetectionSpec: Codable, Sendable, Equatable {
        public var model: String          // "yolox"
        public var size: String?          // nano | tiny | s when a preset
        public var depth: Double
        public var width: Double
        public var depthwise: Bool
        public var strides: [Int]
        public var scoreThreshold: Float
        public var iouThreshold: Float
        public var maxDetections: Int
        public var classAgnostic: Bool

        public init(model: String = "yolox", size: String?, depth: Double, width: Double, depthwise: Bool, strides: [Int],
                    scoreThreshold: Float, iouThreshold: Float, maxDetections: Int, classAgnostic: Bool) {
            self.model = model; self.size = size; self.depth = depth; self.width = width; self.depthwise = depthwise
            self.strides = strides; self.scoreThreshold = scoreThreshold; self.iouThreshold = iouThreshold
            self.maxDetections = maxDetections; self.classAgnostic = classAgnostic
        }
    }

    /// The embedding head on the trunk in `architecture`.
    public struct RetrievalSpec: Codable, Sendable, Equatable {
        public var pooling: String        // avg | max | gem
        public var gemP: Float?
        public var projectionDim: Int
        public var embeddingDim: Int
        public var normalization: String  // "l2"

        public init(pooling: String, gemP: Float?, projectionDim: Int, embeddingDim: Int, normalization: String = "l2") {
            self.pooling = pooling; self.gemP = gemP; self.projectionDim = projectionDim; self.embeddingDim = embeddingDim
            self.normalization = normalization
        }
    }

    /// A retrieval package's gallery: embeddings, item ids and labels in the VectorIndex format.
    public struct GallerySpec: Codable, Sendable, Equatable {
        public var file: String
        public var count: Int
        public var dimension: Int
        public var labeled: Bool
        /// A JSON file of the items' source images (`GallerySource` per row), when known.
        public var sources: String?

        public init(file: String, count: Int, dimension: Int, labeled: Bool, sources: String? = nil) {
            self.file = file; self.count = count; self.dimension = dimension; self.labeled = labeled; self.sources = sources
        }
    }

    /// Where a gallery row's image came from: its blob in vf-ingest and its file name.
    public struct GallerySource: Codable, Sendable, Equatable {
        public var blobDigest: String
        public var file: String

        public init(blobDigest: String, file: String) { self.blobDigest = blobDigest; self.file = file }
    }

    public struct TensorSignature: Codable, Sendable, Equatable {
        public var name: String
        public var dtype: String
        public var shape: [Int]   // −1 for the batch axis

        public init(name: String, dtype: String, shape: [Int]) {
            self.name = name; self.dtype = dtype; self.shape = shape
        }
    }

    public struct Lineage: Codable, Sendable, Equatable {
        public var dataset: String
        public var jobId: String
        public var configDigest: String
        /// The dataset version's manifest_digest (absent in packages from before it was recorded).
        public var datasetDigest: String?
        /// The VisionFleet build that trained it.
        public var codeVersion: String?

        public init(dataset: String, jobId: String, configDigest: String, datasetDigest: String? = nil, codeVersion: String? = CodeVersion.current) {
            self.dataset = dataset; self.jobId = jobId; self.configDigest = configDigest
            self.datasetDigest = datasetDigest; self.codeVersion = codeVersion
        }
    }

    public var formatVersion: Int
    public var task: String
    public var architecture: Architecture
    public var detection: DetectionSpec?
    public var retrieval: RetrievalSpec?
    public var gallery: GallerySpec?
    public var classNames: [String]
    public var preprocessing: Preprocessing
    public var inputs: [TensorSignature]
    public var outputs: [TensorSignature]
    public var metrics: [String: Double]
    public var lineage: Lineage
    public var config: String
    /// File name → "sha256:<hex>".
    public var files: [String: String]

    public init(formatVersion: Int, task: String, architecture: Architecture, classNames: [String], preprocessing: Preprocessing,
                inputs: [TensorSignature], outputs: [TensorSignature], metrics: [String: Double], lineage: Lineage,
                config: String, files: [String: String]) {
        self.formatVersion = formatVersion; self.task = task; self.architecture = architecture; self.classNames = classNames
        self.preprocessing = preprocessing; self.inputs = inputs; self.outputs = outputs; self.metrics = metrics
        self.lineage = lineage; self.config = config; self.files = files
    }

    /// Loading checks against a package's files and its own consistency.
    public func check() throws(ModelPackageError) {
        guard Self.supportedFormatVersions.contains(formatVersion) else {
            throw .newerFormat(found: formatVersion, supported: Self.currentFormatVersion)
        }
        switch task {
        case "classification": break
        case "detection": guard detection != nil else { throw .invalidManifest("task detection without a 'detection' section") }
        case "retrieval": guard retrieval != nil else { throw .invalidManifest("task retrieval without a 'retrieval' section") }
        default: throw .invalidManifest("task '\(task)' is not classification, detection or retrieval")
        }
        if let gallery, files[gallery.file] == nil { throw .invalidManifest("gallery file \(gallery.file) is not among the files") }
        if let sources = gallery?.sources, files[sources] == nil { throw .invalidManifest("gallery sources \(sources) is not among the files") }
    }
}
