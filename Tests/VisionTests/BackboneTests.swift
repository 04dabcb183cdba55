import Foundation
import XCTest
@testable import Tensors
@testable import VisionData
@testable import VisionModels

final class BackboneTests: XCTestCase {
    /// Parameter counts equal torchvision's for the same architectures (1000 classes, RGB).
    func testParameterCountsMatchTorchvision() throws {
        XCTAssertEqual(try ResNet(depth: 18).parameterCount, 11_689_512)
        XCTAssertEqual(try ResNet(depth: 34).parameterCount, 21_797_672)
        XCTAssertEqual(try MobileNetV2().parameterCount, 3_504_872)
        XCTAssertEqual(try MobileNetV2(widthMultiplier: 0.5).parameterCount, 1_968_680)
        XCTAssertThrowsError(try ResNet(depth: 50))
        XCTAssertThrowsError(try MobileNetV2(widthMultiplier: 3))
    }

    func testStagesDeclareChannelsAndStrides() throws {
        let r = try ResNet(depth: 18)
        XCTAssertEqual(r.stageChannels, [64, 128, 256, 512])
        XCTAssertEqual(r.stageStrides, [4, 8, 16, 32])
        XCTAssertEqual(try ResNet(depth: 18, stem: .conv3).stageStrides, [1, 2, 4, 8])
        let m = try MobileNetV2()
        XCTAssertEqual(m.stageChannels, [16, 24, 32, 96, 320])
        XCTAssertEqual(m.stageStrides, [2, 4, 8, 16, 32])
        XCTAssertEqual(try CIFARResNet(depth: 20).stageStrides, [1, 2, 4])
    }

    /// The fused plan (BN folded, ReLU6 / residual fused, depthwise convs) equals the eval graph,
    /// on oneDNN and on the engine's kernels.
    func testFusedPlansEqualEvalGraphs() throws {
        let nets: [(String, any ClassificationNetwork, Int)] = [
            ("resnet18-conv3", try ResNet(depth: 18, stem: .conv3, inputChannels: 3, classes: 7, seed: 1), 16),
            ("resnet18-conv7", try ResNet(depth: 18, stem: .conv7, inputChannels: 1, classes: 5, seed: 2), 64),
            ("mobilenet_v2", try MobileNetV2(widthMultiplier: 0.5, stemStride: 1, inputChannels: 3, classes: 4, seed: 3), 16),
        ]
        for (name, net, size) in nets {
            var rng = RandomState(seed: 9)
            for (key, t) in net.stateDict() where key.hasSuffix("running_var") || key.hasSuffix("running_mean") {
                for i in 0..<t.count { t[i] = key.hasSuffix("running_var") ? 0.5 + rng.nextFloat() : 0.2 * (rng.nextFloat() - 0.5) }
            }
            let x = Tensor(normal: [2, net.inputChannels, size, size], std: 1, rng: &rng)
            let reference = try net(Variable(x), Graph.inference()).value.scalars
            let plan = try net.inferencePlan(height: size, width: size)
            for backend in [InferencePlan.Backend.oneDNN, .engine] {
                plan.backend = backend
                let fused = try plan.run(x).scalars
                XCTAssertEqual(fused.count, reference.count, name)
                let scale = reference.map(abs).max() ?? 1
                for (a, b) in zip(fused, reference) { XCTAssertEqual(a, b, accuracy: 1e-4 * max(scale, 1), "\(name) \(backend)") }
            }
            XCTAssertNil(plan.oneDNNFailure, name)
        }
    }

    /// A few SGD steps on a tiny batch lower the loss for each backbone (gradients flow through
    /// every block type, depthwise and ReLU6 included).
    func testEachBackboneLearns() throws {
        // MobileNetV2 gets 32 px so its last stage is 2×2, not 1×1 (batch norm over 6 values).
        let nets: [(any ClassificationNetwork, Int)] = [
            (try ResNet(depth: 18, stem: .conv3, inputChannels: 1, classes: 3, seed: 4), 16),
            (try MobileNetV2(widthMultiplier: 0.25, stemStride: 1, inputChannels: 1, classes: 3, seed: 5), 32),
        ]
        for (net, size) in nets {
            var rng = RandomState(seed: 1)
            let x = Tensor(normal: [6, 1, size, size], std: 1, rng: &rng)
            let labels: [Int32] = [0, 1, 2, 0, 1, 2]
            // Plain SGD: with momentum 0.9 MobileNetV2's loss on six images swings so far that
            // the thread count (summation order) decided whether step 15 was below half.
            let sgd = SGD(parameters: net.parameters, learningRate: 0.03, momentum: 0)
            let graph = Graph()
            var losses: [Float] = []
            for _ in 0..<25 {
                let loss = try graph.crossEntropy(try net(Variable(x), graph), targets: labels)
                losses.append(loss.value[0])
                sgd.zeroGrad()
                graph.backward(loss)
                sgd.step()
                graph.reset()
            }
            XCTAssertLessThan(losses.suffix(3).reduce(0, +) / 3, losses.first! * 0.5, "\(type(of: net)): \(losses)")
        }
    }

    func testPackagesRebuildEveryBackbone() throws {
        let configs: [ExperimentConfig.Backbone] = [
            .init(type: "resnet", depth: 18, stem: "conv3"),
            .init(type: "mobilenet_v2", depth: 0, width: 0.35, stemStride: 1),
        ]
        for backbone in configs {
            let net = try BackboneRegistry.build(backbone, inputChannels: 3, classes: 6, seed: 7)
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vf-bb-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: dir) }
            let manifest = ModelManifest(
                formatVersion: 1, task: "classification", architecture: .init(backbone, inputChannels: 3, classes: 6),
                classNames: (0..<6).map(String.init), preprocessing: .init(channels: 3, height: 32, width: 32, mean: [0, 0, 0], std: [1, 1, 1]),
                inputs: [], outputs: [], metrics: [:], lineage: .init(dataset: "d", jobId: "j", configDigest: "c"), config: "", files: [:])
            try ModelPackage.write(model: net, manifest: manifest, to: dir)
            let rebuilt = try XCTUnwrap(try ModelPackage.read(from: dir).classifier)
            XCTAssertEqual(rebuilt.parameterCount, net.parameterCount)
            for ((a, x), (b, y)) in zip(net.stateDict(), rebuilt.stateDict()) {
                XCTAssertEqual(a, b)
                XCTAssertEqual(x.scalars, y.scalars, a)
            }
        }
    }

    func testReLU6ClampsAndPassesGradientOnlyInside() {
        XCTAssertEqual([-1, 0.5, 5.9, 6, 9].map { Activation.relu6.apply($0) }, [0, 0.5, 5.9, 6, 6])
        XCTAssertEqual([-1, 0.5, 5.9, 7].map { Activation.relu6.derivative($0) }, [0, 1, 1, 0])
    }
}
