import Foundation
import VisionData
import VisionModels

/// Turns a model's per-image output into task results; shared by the task API and the Open
/// Inference Protocol.
enum TaskPostprocess {
    /// The k most probable classes, best first (ties by lower index).
    static func topClasses(_ probabilities: [Float], k: Int) -> [(index: Int, score: Float)] {
        let order = probabilities.indices.sorted { probabilities[$0] > probabilities[$1] || (probabilities[$0] == probabilities[$1] && $0 < $1) }
        return order.prefix(max(0, k)).map { ($0, probabilities[$0]) }
    }

    /// Post-processing thresholds; zeros keep the model's defaults.
    struct DetectOptions: Sendable {
        var scoreThreshold: Float = 0
        var iouThreshold: Float = 0
        var maxDetections: Int = 0
        var classAgnostic: Bool? = nil

        func validated() throws(ServeError) -> DetectOptions {
            guard scoreThreshold.isFinite, (0...1).contains(scoreThreshold) else {
                throw .invalidArgument(item: "request", field: "score_threshold", message: "\(scoreThreshold) is not within 0...1")
            }
            guard iouThreshold.isFinite, (0...1).contains(iouThreshold) else {
                throw .invalidArgument(item: "request", field: "iou_threshold", message: "\(iouThreshold) is not within 0...1")
            }
            guard (0...10_000).contains(maxDetections) else {
                throw .invalidArgument(item: "request", field: "max_detections", message: "\(maxDetections) is not within 0...10000")
            }
            return self
        }
    }

    /// Detections in the original image's pixels from a detector's raw output.
    static func detections(_ raw: [Float], served: ServedVersion, letterbox: ImageOps.Letterbox, imageWidth: Int, imageHeight: Int,
                           options: DetectOptions) -> [Detection] {
        guard let spec = served.manifest.detection else { return [] }
        var nms = NonMaxSuppression(scoreThreshold: spec.scoreThreshold, iouThreshold: spec.iouThreshold, classAgnostic: spec.classAgnostic,
                                    maxDetections: spec.maxDetections)
        if options.scoreThreshold > 0 { nms.scoreThreshold = options.scoreThreshold }
        if options.iouThreshold > 0 { nms.iouThreshold = options.iouThreshold }
        if options.maxDetections > 0 { nms.maxDetections = options.maxDetections }
        if let agnostic = options.classAgnostic { nms.classAgnostic = agnostic }
        let decoder = YOLOXDecoder(strides: spec.strides, classes: served.manifest.classNames.count, nms: nms)
        let p = served.manifest.preprocessing
        return raw.withUnsafeBufferPointer {
            decoder.decode($0.baseAddress!, height: p.height, width: p.width, letterbox: (letterbox.scale, letterbox.padX, letterbox.padY),
                           imageWidth: imageWidth, imageHeight: imageHeight)
        }
    }
}
