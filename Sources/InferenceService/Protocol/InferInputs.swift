import FleetProtos
import Foundation
import VisionData

/// The images of one ModelInfer request: the model's FP32 input tensor (N, C, H, W) as it is, or
/// the BYTES input `image_bytes` (N encoded PNG/JPEG files) decoded and preprocessed here.
struct InferInputs: Sendable {
    /// The optional encoded-image input every image model also takes.
    static let imageBytesName = "image_bytes"
    /// The most bytes one input takes from a shared-memory region.
    static let maxSharedMemoryInput = 256 << 20

    var values: [[Float]]
    /// Per image: its size and where preprocessing put it (boxes map back through it).
    var geometry: [(width: Int, height: Int, letterbox: ImageOps.Letterbox)]

    static func read(_ request: Inference_ModelInferRequest, served: ServedVersion,
                     sharedMemory: SharedMemoryRegions = SharedMemoryRegions(allowClients: false)) throws(ServeError) -> InferInputs {
        let model = "\(served.name)@\(served.version)"
        let tensorName = served.manifest.inputs.first?.name ?? "images"
        guard !request.inputs.isEmpty else {
            throw .invalidArgument(item: model, field: "inputs", message: "the request has no inputs (send '\(tensorName)' or '\(imageBytesName)')")
        }
        // Where each input's bytes are, in Triton's order: a shared-memory region, its typed
        // contents, or else the next raw content.
        var regions: [Int: SharedMemoryRegions.Reference] = [:]
        var raws: [Int: Data] = [:]
        var next = 0
        for (i, input) in request.inputs.enumerated() {
            if let reference = try sharedMemory.reference(input.parameters, item: input.name) {
                guard !input.hasContents else {
                    throw .invalidArgument(item: input.name, field: "contents", message: "given with shared_memory_region: send the data one way")
                }
                regions[i] = reference
            } else if !input.hasContents, next < request.rawInputContents.count {
                raws[i] = request.rawInputContents[next]
                next += 1
            }
        }
        guard next == request.rawInputContents.count else {
            throw .invalidArgument(item: model, field: "raw_input_contents",
                                   message: "\(request.rawInputContents.count) raw contents for \(next) inputs that take them")
        }
        let names = request.inputs.map(\.name)
        // Both inputs at once is what a client that fills every declared input sends (Triton's
        // perf_analyzer with generated data): the tensor, the model's own input, is used and
        // the optional `image_bytes` beside it is not read.
        let chosen: Int
        if names.count == 2, Set(names) == [tensorName, imageBytesName] {
            chosen = names[0] == tensorName ? 0 : 1
        } else {
            guard names.count == 1 else {
                throw .invalidArgument(item: model, field: "inputs",
                                       message: "send '\(tensorName)' or '\(imageBytesName)' (got \(names.joined(separator: ", ")))")
            }
            chosen = 0
        }
        let input = request.inputs[chosen]
        let bytes: (data: Data, field: String)?
        if let r = regions[chosen] {
            // Copied out of the region, so bounded as a request body is.
            guard r.byteSize <= Self.maxSharedMemoryInput else {
                throw .invalidArgument(item: input.name, field: "parameters.shared_memory_byte_size",
                                       message: "\(r.byteSize) bytes is over vf-serve's limit of \(Self.maxSharedMemoryInput >> 20) MiB for one input")
            }
            bytes = (r.region.read(at: r.offset, count: r.byteSize), "parameters.shared_memory_byte_size")
        } else {
            bytes = raws[chosen].map { ($0, "raw_input_contents") }
        }
        switch input.name {
        case tensorName: return try tensor(input, raw: bytes, served: served)
        case imageBytesName: return try images(input, raw: bytes, served: served)
        default:
            throw .invalidArgument(item: input.name, field: "name", message: "\(model) has no input '\(input.name)' (its inputs: \(tensorName), \(imageBytesName))")
        }
    }

    private static func batchSize(_ input: Inference_ModelInferRequest.InferInputTensor, served: ServedVersion) throws(ServeError) -> Int {
        guard let n = input.shape.first, n >= 1 else {
            throw .invalidArgument(item: input.name, field: "shape", message: "\(input.shape) has no batch size ≥ 1 first")
        }
        guard n <= served.batching.maxBatchSize else {
            throw .invalidArgument(item: input.name, field: "shape",
                                   message: "a batch of \(n) is over the model's max_batch_size \(served.batching.maxBatchSize)")
        }
        return Int(n)
    }

    /// `raw`: the input's bytes when not typed contents, and the field they came in.
    private static func tensor(_ input: Inference_ModelInferRequest.InferInputTensor, raw: (data: Data, field: String)?,
                               served: ServedVersion) throws(ServeError) -> InferInputs {
        guard input.datatype == "FP32" else {
            throw .invalidArgument(item: input.name, field: "datatype", message: "\(input.datatype) given, the input is FP32")
        }
        let chw = served.runtime.inputShape
        let n = try batchSize(input, served: served)
        guard input.shape.count == 4, input.shape.dropFirst().map(Int.init) == chw else {
            throw .invalidArgument(item: input.name, field: "shape", message: "\(input.shape) given, the input is [-1, \(chw.map(String.init).joined(separator: ", "))]")
        }
        let width = chw.reduce(1, *)
        var flat: [Float]
        if let (raw, field) = raw {
            guard raw.count == n * width * 4 else {
                throw .invalidArgument(item: input.name, field: field,
                                       message: "\(raw.count) bytes, shape \(input.shape) of FP32 takes \(n * width * 4)")
            }
            flat = [Float](repeating: 0, count: n * width)
            flat.withUnsafeMutableBytes { out in raw.withUnsafeBytes { out.copyMemory(from: $0) } }
        } else {
            flat = input.contents.fp32Contents
            guard flat.count == n * width else {
                throw .invalidArgument(item: input.name, field: "contents.fp32_contents",
                                       message: "\(flat.count) values, shape \(input.shape) takes \(n * width)")
            }
        }
        let p = served.manifest.preprocessing
        return InferInputs(values: (0..<n).map { Array(flat[($0 * width)..<(($0 + 1) * width)]) },
                           geometry: Array(repeating: (p.width, p.height, .identity), count: n))
    }

    private static func images(_ input: Inference_ModelInferRequest.InferInputTensor, raw: (data: Data, field: String)?,
                               served: ServedVersion) throws(ServeError) -> InferInputs {
        guard input.datatype == "BYTES" else {
            throw .invalidArgument(item: input.name, field: "datatype", message: "\(input.datatype) given, \(imageBytesName) is BYTES")
        }
        let n = try batchSize(input, served: served)
        guard input.shape.count == 1 || (input.shape.count == 2 && input.shape[1] == 1) else {
            throw .invalidArgument(item: input.name, field: "shape", message: "\(input.shape) given, \(imageBytesName) is [-1] or [-1, 1]")
        }
        let files: [Data]
        if let (data, field) = raw { files = try splitBytes(data, item: input.name, field: field) } else { files = input.contents.bytesContents }
        guard files.count == n else {
            throw .invalidArgument(item: input.name, field: raw?.field ?? "contents.bytes_contents",
                                   message: "\(files.count) elements, shape \(input.shape) takes \(n)")
        }
        var out = InferInputs(values: [], geometry: [])
        for (i, file) in files.enumerated() {
            let prepared = try served.preprocessor.prepare(file, item: "\(imageBytesName)[\(i)]", field: "bytes")
            out.values.append(prepared.values)
            out.geometry.append((prepared.width, prepared.height, prepared.letterbox))
        }
        return out
    }

    /// Triton's raw BYTES layout: each element a little-endian UInt32 length, then its bytes.
    static func splitBytes(_ raw: Data, item: String, field: String = "raw_input_contents") throws(ServeError) -> [Data] {
        var out: [Data] = []
        var o = raw.startIndex
        while o < raw.endIndex {
            guard raw.endIndex - o >= 4 else {
                throw .invalidArgument(item: item, field: field, message: "element \(out.count) is cut inside its 4-byte length")
            }
            let length = Int(raw[o]) | Int(raw[o + 1]) << 8 | Int(raw[o + 2]) << 16 | Int(raw[o + 3]) << 24
            o += 4
            guard raw.endIndex - o >= length else {
                throw .invalidArgument(item: item, field: field,
                                       message: "element \(out.count) says \(length) bytes, \(raw.endIndex - o) remain")
            }
            out.append(raw.subdata(in: o..<(o + length)))
            o += length
        }
        return out
    }

    static func joinBytes(_ elements: [Data]) -> Data {
        var out = Data()
        for e in elements {
            withUnsafeBytes(of: UInt32(e.count).littleEndian) { out.append(contentsOf: $0) }
            out.append(e)
        }
        return out
    }
}
