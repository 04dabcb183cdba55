import Foundation
import VisionData
import VisionModels

/// The manifest of a trained model for each task, from its resolved config: architecture,
/// classes, preprocessing, the tensor signatures the inference protocol publishes, metrics and
/// lineage. Shared by `vf train-local` and the training service.
public enum PackageManifests {
    public struct Lineage: Sendable {
        public var dataset: String
        public var jobId: String
        /// The dataset version's manifest_digest, when it came from vf-ingest.
        public var datasetDigest: String?
        public init(dataset: String, jobId: String = "local", datasetDigest: String? = nil) {
            self.dataset = dataset; self.jobId = jobId; self.datasetDigest = datasetDigest
        }
    }

    public static func make(_ config: ExperimentConfig, classNames: [String], metrics: [String: Double], lineage: Lineage) -> ModelManifest {
        let c = config.channels, h = config.height, w = config.width
        var architecture = ModelManifest.Architecture(config.backbone, inputChannels: c, classes: classNames.count)
        var preprocessing = ModelManifest.Preprocessing(channels: c, height: h, width: w, mean: config.mean, std: config.std, resize: "resize")
        let input = ModelManifest.TensorSignature(name: "images", dtype: "float32", shape: [-1, c, h, w])
        var outputs: [ModelManifest.TensorSignature]
        var detection: ModelManifest.DetectionSpec?
        var retrieval: ModelManifest.RetrievalSpec?
        switch config.task {
        case "detection":
            let d = config.detection!
            architecture = ModelManifest.Architecture(backbone: "yolox", depth: 0, inputChannels: c, classes: classNames.count)
            preprocessing.resize = "letterbox"
            preprocessing.padValue = Int(DetectionLoader.fill)
            let preset = [("nano", YOLOXModel.Size.nano), ("tiny", .tiny), ("s", .small)].first { $0.1 == d.size }?.0
            detection = .init(size: preset, depth: d.size.depth, width: d.size.width, depthwise: d.size.depthwise, strides: [8, 16, 32],
                              scoreThreshold: d.postprocess.scoreThreshold, iouThreshold: d.postprocess.iouThreshold,
                              maxDetections: d.postprocess.maxDetections, classAgnostic: d.postprocess.classAgnostic)
            let k = d.postprocess.maxDetections
            outputs = [.init(name: "boxes", dtype: "float32", shape: [-1, k, 4]), .init(name: "scores", dtype: "float32", shape: [-1, k]),
                       .init(name: "classes", dtype: "int32", shape: [-1, k]), .init(name: "count", dtype: "int32", shape: [-1])]
        case "retrieval":
            let r = config.retrieval!
            architecture = ModelManifest.Architecture(config.backbone, inputChannels: c, classes: 1)
            retrieval = .init(pooling: config.pooling, gemP: config.pooling == "gem" ? config.gemP : nil,
                              projectionDim: r.dimension, embeddingDim: r.dimension)
            outputs = [.init(name: "embeddings", dtype: "float32", shape: [-1, r.dimension])]
        default:
            if config.pooling != "avg" {
                architecture.pooling = config.pooling
                architecture.gemP = config.pooling == "gem" ? config.gemP : nil
            }
            outputs = [.init(name: "probabilities", dtype: "float32", shape: [-1, classNames.count])]
        }
        var manifest = ModelManifest(
            formatVersion: ModelManifest.currentFormatVersion, task: config.task, architecture: architecture, classNames: classNames,
            preprocessing: preprocessing, inputs: [input], outputs: outputs, metrics: metrics.filter { $0.value.isFinite },
            lineage: .init(dataset: lineage.dataset, jobId: lineage.jobId, configDigest: SHA256Digest.of(Data(config.resolvedYAML.utf8)),
                           datasetDigest: lineage.datasetDigest),
            config: config.resolvedYAML, files: [:])
        manifest.detection = detection
        manifest.retrieval = retrieval
        return manifest
    }
}
