import FleetProtos
import FleetRPC
import FleetStore
import Foundation
import RegistryService
import ServiceRuntime
import XCTest

/// A real registry server on 127.0.0.1:0 over a temp home, and a client of it.
struct RegistryHarness {
    let home: URL
    let registry: ModelRegistry
    let server: RPCServer
    let port: Int
    let client: RegistryClient

    static func start(home: URL? = nil, maxUploadBytes: Int64 = 1 << 30, authTokens: Set<String> = [], token: String? = nil) async throws -> RegistryHarness {
        let home = home ?? FileManager.default.temporaryDirectory.appendingPathComponent("vf-registry-test-\(UUID().uuidString)")
        let registry = try ModelRegistry(directory: home, maxUploadBytes: maxUploadBytes)
        var interceptors: [any ServerInterceptor] = []
        if !authTokens.isEmpty { interceptors.append(AuthTokenInterceptor(tokens: authTokens)) }
        let server = RPCServer(config: ServerConfig(host: "127.0.0.1", port: 0), services: [RegistryRPCService(registry: registry)],
                               interceptors: interceptors)
        let port = try await server.start()
        let client = try RegistryClient(address: "127.0.0.1:\(port)", token: token, environment: [:])
        return RegistryHarness(home: home, registry: registry, server: server, port: port, client: client)
    }

    func stop() async {
        await server.shutdown(grace: .seconds(1))
    }

    /// Files left in the blob store's temp folder.
    var tempFiles: [String] { (try? FileManager.default.contentsOfDirectory(atPath: home.appendingPathComponent("tmp").path)) ?? [] }

    /// Every stored blob file.
    var blobFiles: [URL] {
        let root = home.appendingPathComponent("blobs/sha256")
        let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey])
        return (walker?.allObjects as? [URL] ?? []).filter { (try? $0.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true }
    }
}

/// A model package on disk: manifest.json naming `weights.safetensors` (random bytes) and
/// optional extra files, as `vf train-local` lays it out.
struct TestPackage {
    let directory: URL
    let manifest: String
    let files: [String: Data]

    static func make(task: String = "classification", weightsBytes: Int = 4096, seed: UInt64 = 1,
                     extra: [String: Data] = [:], in parent: URL? = nil) throws -> TestPackage {
        let directory = (parent ?? FileManager.default.temporaryDirectory).appendingPathComponent("pkg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var files = extra
        files["weights.safetensors"] = randomData(weightsBytes, seed: seed)
        var digests: [String: String] = [:]
        for (path, data) in files {
            digests[path] = SHA256Stream.digest(of: data).description
            try data.write(to: directory.appendingPathComponent(path))
        }
        let object: [String: Any] = [
            "formatVersion": 1, "task": task, "files": digests, "metrics": ["top1": 0.9],
            "lineage": ["dataset": "shapes@3", "jobId": "job-1", "configDigest": "sha256:" + String(repeating: "0", count: 64)],
        ]
        let manifest = String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
        try manifest.write(to: directory.appendingPathComponent("manifest.json"), atomically: true, encoding: .utf8)
        return TestPackage(directory: directory, manifest: manifest, files: files)
    }

    static func randomData(_ count: Int, seed: UInt64) -> Data {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        var data = Data(count: count)
        data.withUnsafeMutableBytes { raw in
            let words = raw.bindMemory(to: UInt8.self)
            for i in 0..<count {
                state ^= state << 13; state ^= state >> 7; state ^= state << 17
                words[i] = UInt8(truncatingIfNeeded: state)
            }
        }
        return data
    }
}

func ref(_ name: String, _ version: Int32) -> Visionfleet_V1_ModelRef {
    Visionfleet_V1_ModelRef.with { $0.name = name; $0.version = version }
}

func ref(_ name: String, alias: String) -> Visionfleet_V1_ModelRef {
    Visionfleet_V1_ModelRef.with { $0.name = name; $0.alias = alias }
}
