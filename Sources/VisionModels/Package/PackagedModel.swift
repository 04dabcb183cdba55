import Tensors
import VectorIndex

/// A model rebuilt from a package, by task.
public enum PackagedModel {
    /// The network, and its pooling when not the backbone's own average ("max", "gem" with p).
    case classification(any ClassificationNetwork, pooling: String = "avg", gemP: Float = 3)
    case detection(YOLOXModel)
    case retrieval(EmbeddingModel)

    /// The module whose state dict the weights file holds.
    public var module: any Module {
        switch self {
        case .classification(let m, _, _): m
        case .detection(let m): m
        case .retrieval(let m): m
        }
    }

    /// The raw inference output for images (N, C, H, W) in eval mode: classification logits
    /// (N, classes), detection raw predictions (N, anchors, 5 + classes), retrieval unit
    /// embeddings (N, dimension).
    public func forward(_ images: Tensor) throws -> Tensor {
        let graph = Graph(recording: false, training: false)
        return switch self {
        case .classification(let m, "max", _): try m.classify(try graph.globalMaxPool(try m.featureMap(Variable(images), graph)), graph).value
        case .classification(let m, "gem", let p): try m.classify(try graph.gemPool(try m.featureMap(Variable(images), graph), p: p), graph).value
        case .classification(let m, _, _): try m(Variable(images), graph).value
        case .detection(let m): try m(Variable(images), graph).value
        case .retrieval(let m): try m(Variable(images), graph).value
        }
    }
}

/// What `ModelPackage.read` returns.
public struct LoadedPackage {
    public let manifest: ModelManifest
    public let model: PackagedModel
    /// A retrieval package's gallery, when it has one.
    public let gallery: ExactIndex?
    /// The source image of each gallery row, when the package records them.
    public var gallerySources: [ModelManifest.GallerySource]? = nil

    public var classifier: (any ClassificationNetwork)? {
        if case .classification(let m, _, _) = model { return m }
        return nil
    }

    /// The detector's decoder with the manifest's default post-processing.
    public var decoder: YOLOXDecoder? {
        guard let d = manifest.detection else { return nil }
        return YOLOXDecoder(strides: d.strides, classes: manifest.classNames.count,
                            nms: NonMaxSuppression(scoreThreshold: d.scoreThreshold, iouThreshold: d.iouThreshold,
                                                   classAgnostic: d.classAgnostic, maxDetections: d.maxDetections))
    }
}
