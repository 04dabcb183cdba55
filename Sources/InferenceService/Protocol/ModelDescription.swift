import FleetProtos
import VisionModels

/// A served version as the Open Inference Protocol describes it: ModelMetadata and Triton's
/// ModelConfig. The first input is the package's preprocessed FP32 tensor; `image_bytes`
/// (BYTES, optional) takes encoded files instead. Metadata shapes are the config's dims with the
/// batch axis (-1) in front, as Triton reports them: perf_analyzer checks that they agree.
enum ModelDescription {
    static func datatype(_ dtype: String) -> String {
        switch dtype {
        case "float32": "FP32"
        case "int32": "INT32"
        case "int64": "INT64"
        case "uint8": "UINT8"
        default: dtype.uppercased()
        }
    }

    static func configType(_ datatype: String) -> Inference_DataType {
        switch datatype {
        case "FP32": .typeFp32
        case "INT32": .typeInt32
        case "INT64": .typeInt64
        case "UINT8": .typeUint8
        case "BYTES": .typeString
        default: .typeInvalid
        }
    }

    static func metadata(_ served: ServedVersion) -> Inference_ModelMetadataResponse {
        .with { m in
            m.name = served.name
            m.versions = [String(served.version)]
            m.platform = "visionfleet"
            m.inputs = served.manifest.inputs.map { s in
                .with { $0.name = s.name; $0.datatype = datatype(s.dtype); $0.shape = s.shape.map(Int64.init) }
            } + [.with { $0.name = InferInputs.imageBytesName; $0.datatype = "BYTES"; $0.shape = [-1, 1] }]
            m.outputs = served.manifest.outputs.map { s in
                .with { $0.name = s.name; $0.datatype = datatype(s.dtype); $0.shape = s.shape.map(Int64.init) }
            }
        }
    }

    static func config(_ served: ServedVersion) -> Inference_ModelConfig {
        let batching = served.batching
        return .with { c in
            c.name = served.name
            c.platform = "visionfleet"
            c.backend = served.backendName
            c.maxBatchSize = Int32(batching.maxBatchSize)
            c.input = served.manifest.inputs.map { s in
                .with { $0.name = s.name; $0.dataType = configType(datatype(s.dtype)); $0.dims = s.shape.dropFirst().map(Int64.init) }
            } + [.with { $0.name = InferInputs.imageBytesName; $0.dataType = .typeString; $0.dims = [1]; $0.optional = true }]
            c.output = served.manifest.outputs.map { s in
                .with { $0.name = s.name; $0.dataType = configType(datatype(s.dtype)); $0.dims = s.shape.dropFirst().map(Int64.init) }
            }
            c.dynamicBatching = .with {
                $0.preferredBatchSize = batching.preferredBatchSizes.map(Int32.init)
                $0.maxQueueDelayMicroseconds = UInt64(batching.maxQueueDelayMicroseconds)
                $0.defaultQueuePolicy = .with { $0.maxQueueSize = UInt32(batching.maxQueueSize) }
            }
            c.instanceGroup = [.with { $0.count = Int32(batching.instances); $0.kind = .cpu; $0.name = "\(served.name)_cpu" }]
            c.versionPolicy = .with { $0.latest = .with { $0.numVersions = 1 } }
        }
    }
}
