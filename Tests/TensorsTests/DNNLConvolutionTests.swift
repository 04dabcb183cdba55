import XCTest
@testable import Tensors

/// Training convolutions on oneDNN against the engine's own kernels (the reference): outputs
/// and every gradient, for the configurations the models use — 3×3 and 1×1, strides, padding,
/// groups and depthwise, dilation, with and without bias, odd sizes. (GradientTests' finite
/// differences run through the same oneDNN path, the graph's default.)
final class DNNLConvolutionTests: XCTestCase {
    struct Case {
        var batch = 2, channels = 4, height = 9, width = 7, out = 6, kernel = (3, 3)
        var stride = (1, 1), padding = (1, 1), dilation = (1, 1), groups = 1, bias = true
    }

    func testMatchesTheEngineKernelsForwardAndBackward() throws {
        let cases: [Case] = [
            Case(),
            Case(bias: false),
            Case(stride: (2, 2)),
            Case(kernel: (1, 1), padding: (0, 0)),
            Case(kernel: (1, 1), stride: (2, 2), padding: (0, 0), bias: false),
            Case(channels: 6, out: 6, groups: 6),                      // depthwise (MobileNetV2, YOLOX-nano)
            Case(channels: 4, out: 8, groups: 2, bias: false),
            Case(padding: (2, 2), dilation: (2, 2)),
            Case(batch: 3, channels: 3, height: 16, width: 16, out: 16, kernel: (5, 5), stride: (2, 2), padding: (2, 2)),
            Case(batch: 1, channels: 16, height: 8, width: 8, out: 32, kernel: (3, 3), stride: (2, 2)),
        ]
        var rng = RandomState(seed: 7)
        for c in cases {
            let x = Tensor(uniform: [c.batch, c.channels, c.height, c.width], low: -1, high: 1, rng: &rng)
            let w = Tensor(uniform: [c.out, c.channels / c.groups, c.kernel.0, c.kernel.1], low: -1, high: 1, rng: &rng)
            let b = Tensor(uniform: [c.out], low: -1, high: 1, rng: &rng)
            let g = ConvGeometry(batch: c.batch, inChannels: c.channels, height: c.height, width: c.width, outChannels: c.out,
                                 kernel: c.kernel, stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups)
            let upstream = Tensor(uniform: [c.batch, c.out, g.outHeight, g.outWidth], low: -1, high: 1, rng: &rng)
            let conv = try XCTUnwrap(DNNLConvolution.shared(g, hasBias: c.bias), "oneDNN has no convolution for \(c)")
            XCTAssertFalse(conv.implementations.contains("?"), "\(conv.implementations)")
            func run(dnnl: Bool) throws -> [[Float]] {
                let graph = Graph()
                graph.useDNNL = dnnl
                let xv = Variable(x.copy(), requiresGrad: true), wv = Variable(w.copy(), requiresGrad: true)
                let bv = c.bias ? Variable(b.copy(), requiresGrad: true) : nil
                let y = try graph.conv2d(xv, weight: wv, bias: bv, stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups)
                // A random upstream gradient: loss = Σ y · upstream.
                let loss = try graph.mul(y, Variable(upstream))
                graph.backward(loss)
                return [y.value.scalars, xv.grad!.scalars, wv.grad!.scalars] + (bv.map { [$0.grad!.scalars] } ?? [])
            }
            let fast = try run(dnnl: true), reference = try run(dnnl: false)
            for (name, (a, r)) in zip(["output", "dx", "dw", "db"], zip(fast, reference)) {
                let scale = max(1, r.map(abs).max() ?? 1)
                let worst = zip(a, r).map { abs($0 - $1) }.max() ?? 0
                XCTAssertLessThan(worst / scale, 1e-4, "\(name) of \(c)")
            }
        }
    }

    func testRepeatedRunsAreBitwiseEqual() throws {
        var rng = RandomState(seed: 3)
        let x = Tensor(uniform: [8, 16, 16, 16], low: -1, high: 1, rng: &rng)
        let w = Tensor(uniform: [32, 16, 3, 3], low: -1, high: 1, rng: &rng)
        func gradients() throws -> [Float] {
            let graph = Graph()
            let xv = Variable(x.copy(), requiresGrad: true), wv = Variable(w.copy(), requiresGrad: true)
            let y = try graph.conv2d(xv, weight: wv, bias: nil, stride: (1, 1), padding: (1, 1))
            graph.backward(y)
            return y.value.scalars + xv.grad!.scalars + wv.grad!.scalars
        }
        let first = try gradients()
        for _ in 0..<3 { XCTAssertEqual(try gradients(), first) }
    }
}
