/// `manifest.json` of a model package: everything needed to rebuild the model for inference
/// from the package alone, plus metrics and lineage. Files are named with their digests, which
/// a reader checks.
public struct ModelManifest: Codable, Sendable, Equatable {
    public static let currentFormatVersion = 1

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

        public init(channels: Int, height: Int, width: Int, mean: [Float], std: [Float]) {
            self.channels = channels; self.height = height; self.width = width; self.mean = mean; self.std = std
        }
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

        public init(dataset: String, jobId: String, configDigest: String) {
            self.dataset = dataset; self.jobId = jobId; self.configDigest = configDigest
        }
    }

    public var formatVersion: Int
    public var task: String
    public var architecture: Architecture
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
}
