import FleetProtos

/// Where a worker gets its data: vf-ingest's version record and its StreamSamples feed
/// (closures, so the worker needs no RPC client of its own).
public struct DatasetSource: Sendable {
    public typealias Version = @Sendable (_ ref: Visionfleet_V1_DatasetRef) async throws -> Visionfleet_V1_DatasetVersion
    public typealias Samples = @Sendable (_ ref: Visionfleet_V1_DatasetRef, _ split: Visionfleet_V1_Split,
                                          _ body: (Visionfleet_V1_SampleBatch) async throws -> Void) async throws -> Void
    public let version: Version
    public let samples: Samples

    public init(version: @escaping Version, samples: @escaping Samples) {
        self.version = version
        self.samples = samples
    }
}
