import FleetProtos
import Foundation
import VisionModels

/// Builds a ModelInfer response from the model's per-image outputs: the requested outputs (all
/// when none are named) as raw little-endian contents, Triton's layout; an output that names a
/// shared-memory region is written there and its raw content left empty (as Triton does).
enum InferOutputs {
    static func response(_ request: Inference_ModelInferRequest, served: ServedVersion, inputs: InferInputs, outputs: [[Float]],
                         sharedMemory: SharedMemoryRegions = SharedMemoryRegions(allowClients: false)) throws(ServeError)
        -> Inference_ModelInferResponse {
        let declared = served.manifest.outputs.map(\.name)
        let requested: [Inference_ModelInferRequest.InferRequestedOutputTensor] = request.outputs.isEmpty
            ? declared.map { name in .with { $0.name = name } } : request.outputs
        for r in requested where !declared.contains(r.name) {
            throw .invalidArgument(item: r.name, field: "outputs", message: "\(served.name) has no output '\(r.name)' (its outputs: \(declared.joined(separator: ", ")))")
        }
        var response = Inference_ModelInferResponse()
        response.modelName = served.name
        response.modelVersion = String(served.version)
        response.id = request.id
        let n = outputs.count
        var detections: [[Detection]]?
        let regions = try requested.map { r throws(ServeError) in try sharedMemory.reference(r.parameters, item: r.name) }
        for (r, region) in zip(requested, regions) where region != nil && r.parameters["classification"] != nil {
            throw .invalidArgument(item: r.name, field: "parameters", message: "shared_memory_region and classification cannot be set together")
        }
        for (r, region) in zip(requested, regions) {
            var tensor = Inference_ModelInferResponse.InferOutputTensor()
            tensor.name = r.name
            let raw: Data
            switch (served.task, r.name) {
            case (.classification, _):
                if let k = try classificationCount(r) {
                    let names = served.manifest.classNames
                    let kk = min(k, served.runtime.outputWidth)
                    let strings = outputs.flatMap { probabilities in
                        TaskPostprocess.topClasses(probabilities, k: kk).map {
                            Data("\(String(format: "%f", Double($0.score))):\($0.index):\($0.index < names.count ? names[$0.index] : "")".utf8)
                        }
                    }
                    tensor.datatype = "BYTES"
                    tensor.shape = [Int64(n), Int64(kk)]
                    raw = InferInputs.joinBytes(strings)
                } else {
                    tensor.datatype = "FP32"
                    tensor.shape = [Int64(n), Int64(served.runtime.outputWidth)]
                    raw = floats(outputs.flatMap { $0 })
                }
            case (.retrieval, _):
                tensor.datatype = "FP32"
                tensor.shape = [Int64(n), Int64(served.runtime.outputWidth)]
                raw = floats(outputs.flatMap { $0 })
            case (.detection, let name):
                if detections == nil {
                    let options = try detectOptions(request.parameters).validated()
                    detections = zip(outputs, inputs.geometry).map { output, g in
                        TaskPostprocess.detections(output, served: served, letterbox: g.letterbox, imageWidth: g.width, imageHeight: g.height,
                                                   options: options)
                    }
                }
                let found = detections!
                let k = max(served.manifest.detection?.maxDetections ?? 100, found.map(\.count).max() ?? 0)
                switch name {
                case "boxes":
                    tensor.datatype = "FP32"; tensor.shape = [Int64(n), Int64(k), 4]
                    raw = floats(found.flatMap { d in d.flatMap { [$0.x1, $0.y1, $0.x2, $0.y2] } + Array(repeating: 0, count: 4 * (k - d.count)) })
                case "scores":
                    tensor.datatype = "FP32"; tensor.shape = [Int64(n), Int64(k)]
                    raw = floats(found.flatMap { d in d.map(\.score) + Array(repeating: 0, count: k - d.count) })
                case "classes":
                    tensor.datatype = "INT32"; tensor.shape = [Int64(n), Int64(k)]
                    raw = int32s(found.flatMap { d in d.map { Int32($0.classIndex) } + Array(repeating: -1, count: k - d.count) })
                default: // count
                    tensor.datatype = "INT32"; tensor.shape = [Int64(n)]
                    raw = int32s(found.map { Int32($0.count) })
                }
            }
            response.outputs.append(tensor)
            if let region {
                guard raw.count <= region.byteSize else {
                    throw .invalidArgument(item: r.name, field: "parameters.shared_memory_byte_size",
                                           message: "\(region.byteSize) bytes, the output takes \(raw.count)")
                }
                region.region.write(raw, at: region.offset)
                response.rawOutputContents.append(Data())
            } else {
                response.rawOutputContents.append(raw)
            }
        }
        return response
    }

    /// Triton's `classification` parameter on a requested output: return the top k as
    /// "score:index:label" strings instead of the probabilities.
    static func classificationCount(_ output: Inference_ModelInferRequest.InferRequestedOutputTensor) throws(ServeError) -> Int? {
        guard let p = output.parameters["classification"] else { return nil }
        let k: Int64 = switch p.parameterChoice {
        case .int64Param(let v)?: v
        case .uint64Param(let v)?: Int64(clamping: v)
        case .stringParam(let s)?: Int64(s) ?? 0
        default: 0
        }
        guard k >= 1 else { throw .invalidArgument(item: output.name, field: "parameters.classification", message: "must be a count ≥ 1") }
        return Int(k)
    }

    /// Detection thresholds from request parameters (`score_threshold`, `iou_threshold`,
    /// `max_detections`, `class_agnostic_nms`).
    static func detectOptions(_ parameters: [String: Inference_InferParameter]) throws(ServeError) -> TaskPostprocess.DetectOptions {
        func number(_ key: String) throws(ServeError) -> Double? {
            guard let p = parameters[key] else { return nil }
            switch p.parameterChoice {
            case .doubleParam(let v)?: return v
            case .int64Param(let v)?: return Double(v)
            case .uint64Param(let v)?: return Double(v)
            case .stringParam(let s)?:
                guard let v = Double(s) else { throw .invalidArgument(item: "parameters", field: key, message: "'\(s)' is not a number") }
                return v
            default: throw .invalidArgument(item: "parameters", field: key, message: "must be a number")
            }
        }
        var options = TaskPostprocess.DetectOptions()
        if let v = try number("score_threshold") { options.scoreThreshold = Float(v) }
        if let v = try number("iou_threshold") { options.iouThreshold = Float(v) }
        if let v = try number("max_detections") { options.maxDetections = Int(v) }
        if case .boolParam(let b)? = parameters["class_agnostic_nms"]?.parameterChoice { options.classAgnostic = b }
        return options
    }

    static func floats(_ values: [Float]) -> Data { values.withUnsafeBytes { Data($0) } }
    static func int32s(_ values: [Int32]) -> Data { values.withUnsafeBytes { Data($0) } }
}
