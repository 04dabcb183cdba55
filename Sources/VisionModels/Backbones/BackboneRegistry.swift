import Tensors

/// Builds classification networks by registry type from a config or a package manifest.
public enum BackboneRegistry {
    public static func build(_ backbone: ExperimentConfig.Backbone, inputChannels: Int, classes: Int,
                             seed: UInt64 = 0) throws -> any ClassificationNetwork {
        switch backbone.type {
        case "resnet_cifar":
            return try CIFARResNet(depth: backbone.depth, inputChannels: inputChannels, classes: classes, seed: seed)
        case "resnet":
            guard let stem = ResNet.Stem(rawValue: backbone.stem) else {
                throw ConfigError("model.backbone.stem", "expected one of conv7, conv3, got \(backbone.stem)")
            }
            return try ResNet(depth: backbone.depth, stem: stem, inputChannels: inputChannels, classes: classes, seed: seed)
        case "mobilenet_v2":
            return try MobileNetV2(widthMultiplier: backbone.width, stemStride: backbone.stemStride, inputChannels: inputChannels,
                                   classes: classes, seed: seed)
        default:
            throw ConfigError("model.backbone.type", "expected one of \(ExperimentConfig.backboneTypes.joined(separator: ", ")), got \(backbone.type)")
        }
    }

    /// The network a package manifest describes (weights not loaded).
    public static func build(_ architecture: ModelManifest.Architecture) throws -> any ClassificationNetwork {
        try build(.init(type: architecture.backbone, depth: architecture.depth, stem: architecture.stem ?? "conv7",
                        width: architecture.width ?? 1, stemStride: architecture.stemStride ?? 2),
                  inputChannels: architecture.inputChannels, classes: architecture.classes)
    }
}
