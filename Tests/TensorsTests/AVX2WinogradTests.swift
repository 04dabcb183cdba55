import CDNNL
import XCTest
@testable import Tensors
@testable import VisionModels

/// The inference networks' AVX2 Winograd F(4×4, 3×3) kernel (nChw8c) against the naive
/// convolution: partial edge tiles, the residual it adds before or after the fused ReLU or SiLU, batches, and the
/// same bits for one thread and two.
final class AVX2WinogradTests: XCTestCase {
    func testMatchesNaiveReference() throws {
        try XCTSkipUnless(vf_winograd_available() != 0, "this CPU has no AVX2 + FMA")
        var rng = RandomState(seed: 21)
        // Tiles split across threads, and (few tiles, or large weights) output channels split.
        let shapes = [(8, 16, 32, 32, 1), (16, 16, 32, 32, 3), (64, 64, 8, 8, 2), (8, 8, 5, 7, 2), (24, 48, 1, 1, 1),
                      (32, 8, 6, 9, 4), (96, 96, 16, 16, 1), (96, 64, 20, 12, 2)]
        for (c, k, h, w, batch) in shapes {
            let g = ConvGeometry(batch: batch, inChannels: c, height: h, width: w, outChannels: k, kernel: (3, 3), padding: (1, 1))
            let x = randomArray(batch * c * h * w, &rng), weights = randomArray(k * c * 9, &rng, scale: 0.3)
            let bias = randomArray(k, &rng), residual = randomArray(batch * k * h * w, &rng)
            let conv = Reference.conv2d(x, weights, bias, g)
            let activations = [VF_WINOGRAD_NONE, VF_WINOGRAD_RELU, VF_WINOGRAD_SILU]
            let modes = [0, VF_WINOGRAD_ADD_BEFORE, VF_WINOGRAD_ADD_AFTER]
            for (accumulate, activation) in modes.flatMap({ a in activations.map { (a, $0) } }) {
                var expected = conv
                if accumulate == VF_WINOGRAD_ADD_BEFORE { for i in expected.indices { expected[i] += residual[i] } }
                if activation == VF_WINOGRAD_RELU { expected = expected.map { max($0, 0) } }
                if activation == VF_WINOGRAD_SILU { expected = expected.map { $0 / (1 + Foundation.exp(-$0)) } }
                if accumulate == VF_WINOGRAD_ADD_AFTER { for i in expected.indices { expected[i] += residual[i] } }
                var outputs: [[Float]] = []
                for threads in [1, 2] {
                    let plan = try XCTUnwrap(vf_winograd_create(Int32(c), Int32(k), Int32(h), Int32(w), weights, bias, Int32(activation),
                                                                Int32(threads)))
                    defer { vf_winograd_destroy(plan) }
                    let src = Self.blocked(x, batch: batch, channels: c, plane: h * w)
                    var dst = accumulate != 0 ? Self.blocked(residual, batch: batch, channels: k, plane: h * w)
                                         : [Float](repeating: .nan, count: batch * k * h * w)
                    var scratch = [Float](repeating: .nan, count: vf_winograd_scratch_size(plan, Int32(batch)) / 4)
                    dst.withUnsafeMutableBufferPointer { d in
                        scratch.withUnsafeMutableBufferPointer {
                            vf_winograd_run(plan, Int32(batch), src, d.baseAddress, Int32(accumulate), $0.baseAddress)
                        }
                    }
                    outputs.append(Self.plain(dst, batch: batch, channels: k, plane: h * w))
                }
                let label = "\(c)→\(k) @\(h)x\(w) batch \(batch) accumulate \(accumulate) activation \(activation)"
                assertClose(outputs[0], expected, tol: 1e-4, label)
                XCTAssertEqual(outputs[0], outputs[1], "one thread and two differ: \(label)")
            }
        }
    }

    /// Where oneDNN runs the ResNet's convolutions as `jit:avx2`, the 3×3 stride-1 ones are ours;
    /// elsewhere (AVX-512: brgconv) none is. Either way the network equals the eval graph.
    func testResNetPlanUsesItWhereOneDNNWouldRunJitAVX2() throws {
        let model = try CIFARResNet(depth: 20, inputChannels: 3, classes: 10, seed: 5)
        var rng = RandomState(seed: 6)
        let x = Tensor(normal: [2, 3, 32, 32], std: 1, rng: &rng)
        let reference = try model(Variable(x), Graph.inference()).value.scalars
        let plan = try model.inferencePlan()
        plan.backend = .oneDNN
        plan.profiling = true
        assertClose(try plan.run(x).scalars, reference, tol: 1e-4)
        let names = plan.lastProfile.map(\.0)
        let stride1 = names.filter { $0.contains("conv3x3/1 16→16") || $0.contains("conv3x3/1 32→32") || $0.contains("conv3x3/1 64→64") }
        XCTAssertEqual(stride1.count, 16, "\(names)")
        if names.contains(where: { $0.contains("[jit:avx2]") }) {
            XCTAssertTrue(stride1.allSatisfy { $0.contains("[visionfleet:winograd_avx2]") }, "\(stride1)")
        } else {
            XCTAssertFalse(names.contains { $0.contains("winograd") }, "\(names)")
        }
    }

    /// Plans of equal weights share the transformed weights: one outlives the other's release,
    /// and plans of other weights do not take them.
    func testPlansShareEqualWeightsOnly() throws {
        try XCTSkipUnless(vf_winograd_available() != 0, "this CPU has no AVX2 + FMA")
        var rng = RandomState(seed: 22)
        let (c, k, h, w) = (16, 16, 8, 8)
        let g = ConvGeometry(batch: 1, inChannels: c, height: h, width: w, outChannels: k, kernel: (3, 3), padding: (1, 1))
        let x = randomArray(c * h * w, &rng), first = randomArray(k * c * 9, &rng), second = randomArray(k * c * 9, &rng)
        let src = Self.blocked(x, batch: 1, channels: c, plane: h * w)
        func run(_ plan: OpaquePointer) -> [Float] {
            var dst = [Float](repeating: .nan, count: k * h * w)
            var scratch = [Float](repeating: 0, count: vf_winograd_scratch_size(plan, 1) / 4)
            dst.withUnsafeMutableBufferPointer { d in
                scratch.withUnsafeMutableBufferPointer { vf_winograd_run(plan, 1, src, d.baseAddress, 0, $0.baseAddress) }
            }
            return Self.plain(dst, batch: 1, channels: k, plane: h * w)
        }
        let a = try XCTUnwrap(vf_winograd_create(Int32(c), Int32(k), Int32(h), Int32(w), first, nil, 0, 2))
        let b = try XCTUnwrap(vf_winograd_create(Int32(c), Int32(k), Int32(h), Int32(w), first, nil, 0, 2))
        let other = try XCTUnwrap(vf_winograd_create(Int32(c), Int32(k), Int32(h), Int32(w), second, nil, 0, 2))
        defer { vf_winograd_destroy(b); vf_winograd_destroy(other) }
        vf_winograd_destroy(a)
        assertClose(run(b), Reference.conv2d(x, first, nil, g), tol: 1e-4)
        assertClose(run(other), Reference.conv2d(x, second, nil, g), tol: 1e-4)
    }

    func testRefusesChannelsOutsideTheBlock() {
        let weights = [Float](repeating: 0, count: 12 * 8 * 9)
        XCTAssertNil(vf_winograd_create(12, 8, 4, 4, weights, nil, 0, 1))
        XCTAssertNil(vf_winograd_create(8, 12, 4, 4, weights, nil, 0, 1))
        XCTAssertNil(vf_winograd_create(8, 8, 0, 4, weights, nil, 0, 1))
        XCTAssertNil(vf_winograd_create(8, 8, 4, 4, weights, nil, 3, 1), "no such fused activation")
    }

    /// NCHW → nChw8c (channels a multiple of 8).
    static func blocked(_ x: [Float], batch: Int, channels: Int, plane: Int) -> [Float] {
        var y = [Float](repeating: 0, count: x.count)
        for n in 0..<batch {
            for ch in 0..<channels {
                for p in 0..<plane { y[((n * channels / 8 + ch / 8) * plane + p) * 8 + ch % 8] = x[(n * channels + ch) * plane + p] }
            }
        }
        return y
    }

    static func plain(_ y: [Float], batch: Int, channels: Int, plane: Int) -> [Float] {
        var x = [Float](repeating: 0, count: y.count)
        for n in 0..<batch {
            for ch in 0..<channels {
                for p in 0..<plane { x[(n * channels + ch) * plane + p] = y[((n * channels / 8 + ch / 8) * plane + p) * 8 + ch % 8] }
            }
        }
        return x
    }
}
