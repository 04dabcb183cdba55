import FleetProtos
import SwiftProtobuf
import FleetRPC
import Foundation
import InferenceService
import RegistryService
import ServiceRuntime
import Tensors
import TestSupport
import TrainingService
import VectorIndex
import VisionData
import VisionModels
import XCTest

/// A real vf-registry and a real vf-serve (their services in process) on 127.0.0.1:0 over temp
/// homes, with clients of both.
final class ServeHarness: @unchecked Sendable {
    let root: URL
    let registry: ModelRegistry
    let registryServer: RPCServer
    let registryClient: RegistryClient
    let repository: ModelRepository
    let server: RPCServer
    let follower: RegistryFollower
    let followTask: Task<Void, Never>
    let port: Int
    let client: RPCClient

    init(root: URL, registry: ModelRegistry, registryServer: RPCServer, registryClient: RegistryClient, repository: ModelRepository,
         server: RPCServer, follower: RegistryFollower, followTask: Task<Void, Never>, port: Int, client: RPCClient) {
        self.root = root; self.registry = registry; self.registryServer = registryServer; self.registryClient = registryClient
        self.repository = repository; self.server = server; self.follower = follower; self.followTask = followTask
        self.port = port; self.client = client
    }

    static func start(models: [String] = [], batching: BatchingConfig = BatchingConfig(), allowClientShm: Bool = false,
                      traceFile: String? = nil) async throws -> ServeHarness {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("vf-serve-test-\(UUID().uuidString)")
        let registry = try ModelRegistry(directory: root.appendingPathComponent("registry"))
        let registryServer = RPCServer(config: ServerConfig(host: "127.0.0.1", port: 0), services: [RegistryRPCService(registry: registry)])
        let registryPort = try await registryServer.start()
        let registryClient = try RegistryClient(address: "127.0.0.1:\(registryPort)", environment: [:])
        let holder = ServerHolder()
        let settings = ServeSettings(home: root.appendingPathComponent("serve"), batching: batching, retryInitial: .milliseconds(50),
                                     retryMax: .milliseconds(400), traceFile: traceFile)
        let repository = ModelRepository(source: RegistryModelSource(client: registryClient), settings: settings) { ready in
            holder.server?.setServing(ServiceCatalog.VisionService.name, ready)
        }
        // vf-serve's own transport: one completion-queue thread.
        let server = RPCServer(config: ServerConfig(host: "127.0.0.1", port: 0, maxReceiveBytes: 64 << 20, completionQueueThreads: 1),
                               services: [VisionRPCService(repository: repository),
                                          InferenceProtocolService(repository: repository, sharedMemory: SharedMemoryRegions(allowClients: allowClientShm))])
        holder.server = server
        let port = try await server.start()
        let follower = RegistryFollower(repository: repository)
        let followTask = Task { await follower.follow() }
        repository.start(models.map { Visionfleet_V1_ModelRef(parsing: $0) })
        let client = RPCClient(channel: try RPCChannel(target: "127.0.0.1:\(port)"))
        return ServeHarness(root: root, registry: registry, registryServer: registryServer, registryClient: registryClient,
                            repository: repository, server: server, follower: follower, followTask: followTask, port: port, client: client)
    }

    /// A registry alone (in process, on 127.0.0.1:0 under `root`) that serves the classifier as
    /// shapes@production: for tests that run vf-serve their own way.
    static func registryWithClassifier(under root: URL) async throws -> (registry: ModelRegistry, server: RPCServer, port: Int, client: RegistryClient) {
        let registry = try ModelRegistry(directory: root.appendingPathComponent("registry"))
        let server = RPCServer(config: ServerConfig(host: "127.0.0.1", port: 0), services: [RegistryRPCService(registry: registry)])
        let port = try await server.start()
        let client = try RegistryClient(address: "127.0.0.1:\(port)", environment: [:])
        _ = try await client.upload(directory: try ServePackages.classifier(), model: "shapes", aliases: ["production"])
        return (registry, server, port, client)
    }

    func stop() async {
        followTask.cancel()
        await repository.shutdown()
        await server.shutdown(grace: .seconds(1))
        await registryServer.shutdown(grace: .seconds(1))
        try? FileManager.default.removeItem(at: root)
    }

    /// Waits until `name` serves `version` (any version when nil).
    func waitServing(_ name: String, version: Int32? = nil, timeout: Duration = .seconds(60)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let s = repository.status().first(where: { $0.name == name }), let v = s.version, version == nil || v == version { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        XCTFail("\(name) not serving \(version.map(String.init) ?? "any version") in time: \(repository.status())")
        throw CancellationError()
    }

    func call<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: ProtoMethod, _ request: Request, as: Response.Type = Response.self, timeout: Duration? = nil) async throws -> Response {
        try await client.unary(method.path, request, as: Response.self, options: CallOptions(timeout: timeout))
    }
}

final class ServerHolder: @unchecked Sendable {
    var server: RPCServer?
}

/// Model packages for the tests: real (untrained, seeded) networks with the manifests the
/// trainers write, in temp folders, ready for `vf registry upload`.
enum ServePackages {
    static let classNames = ["circle", "square", "triangle"]

    /// CIFAR ResNet-20 on 3×32×32 with three classes.
    static func classifier(seed: UInt64 = 1) throws -> URL {
        let config = try ExperimentConfig.parse(yaml: """
        configVersion: 1
        task: classification
        model: {backbone: {type: resnet_cifar, depth: 20}}
        data: {input: {channels: 3, height: 32, width: 32}, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25]}
        train: {epochs: 1, batch_size: 8, seed: \(seed)}
        optimizer: {type: sgd, lr: 0.05}
        scheduler: {type: constant}
        """)
        let trainer = try ClassificationTrainer(config: config, classes: classNames.count)
        let manifest = PackageManifests.make(config, classNames: classNames, metrics: ["top1": 0.5], lineage: .init(dataset: "test@1"))
        let dir = temp("classifier")
        try ModelPackage.write(.classification(trainer.model), manifest: manifest, to: dir)
        return dir
    }

    /// An embedding model on 1×16×16 with a gallery of `images` (embedded as vf-serve will).
    static func retrieval(images: [Data], labels: [Int32]) throws -> URL {
        let config = try ExperimentConfig.parse(yaml: """
        configVersion: 1
        task: retrieval
        model: {backbone: {type: resnet_cifar, depth: 20}, pooling: {type: avg}, neck: {type: projection, dim: 32}}
        loss: {type: arcface}
        data: {input: {channels: 1, height: 16, width: 16}, mean: [0.5], std: [0.25]}
        train: {epochs: 1, batch_size: 8, seed: 1}
        optimizer: {type: sgd, lr: 0.05}
        scheduler: {type: constant}
        """)
        let trainer = try RetrievalTrainer(config: config, classes: 3)
        let manifest = PackageManifests.make(config, classNames: classNames, metrics: [:], lineage: .init(dataset: "test@1"))
        let pre = ImagePreprocessor(spec: manifest.preprocessing, maxPixels: 1 << 24)
        var values: [Float] = []
        for (i, png) in images.enumerated() { values += try pre.prepare(png, item: "gallery[\(i)]").values }
        let embeddings = try trainer.model.embed(try Tensor(shape: [images.count, 1, 16, 16], values: values),
                                                 plan: try trainer.model.inferencePlan(height: 16, width: 16))
        let gallery = ExactIndex(dimension: 32)
        try gallery.add(embeddings, ids: (0..<images.count).map(Int64.init), labels: labels)
        let dir = temp("retrieval")
        try ModelPackage.write(.retrieval(trainer.model), manifest: manifest, gallery: gallery, to: dir)
        return dir
    }

    static func temp(_ name: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("vf-serve-pkg-\(name)-\(UUID().uuidString)")
    }

    /// A PNG of random pixels.
    static func png(width: Int, height: Int, channels: Int = 3, seed: UInt64) throws -> Data {
        var rng = RandomState(seed: seed)
        let pixels = (0..<(width * height * channels)).map { _ in UInt8(rng.nextInt(256)) }
        return try ImageCodec.encodePNG(PixelImage(width: width, height: height, channels: channels, pixels: pixels))
    }
}
