import FleetProtos
import Foundation
import ServiceRuntime

/// Where vf-serve gets models: the registry's versions, their files, and its event stream.
public protocol ModelSource: Sendable {
    /// The version a reference names now (an alias resolved).
    func resolve(_ ref: Visionfleet_V1_ModelRef) async throws -> Visionfleet_V1_ModelVersion
    /// Writes the version's files into `directory`, each checked against its digest.
    func download(_ version: Visionfleet_V1_ModelVersion, to directory: URL) async throws
    /// Follows the event stream after `sequence`; `body` returns false to stop.
    func watch(from sequence: Int64, body: @Sendable (Visionfleet_V1_RegistryEvent) async throws -> Bool) async throws
}

/// vf-registry as the model source.
public struct RegistryModelSource: ModelSource {
    public let client: RegistryClient

    public init(client: RegistryClient) { self.client = client }

    public func resolve(_ ref: Visionfleet_V1_ModelRef) async throws -> Visionfleet_V1_ModelVersion {
        try await client.version(ref)
    }

    public func download(_ version: Visionfleet_V1_ModelVersion, to directory: URL) async throws {
        var exact = Visionfleet_V1_ModelRef()
        exact.name = version.model
        exact.version = version.version
        try await client.download(exact, to: directory)
    }

    public func watch(from sequence: Int64, body: @Sendable (Visionfleet_V1_RegistryEvent) async throws -> Bool) async throws {
        try await client.watch(from: sequence, body: body)
    }
}
