import XCTest
@testable import Tensors

/// Embedding and metric-learning ops against central finite differences and naive formulas.
final class EmbeddingGradientTests: XCTestCase {
    var rng = RandomState(seed: 21)

    func param(_ shape: [Int]) -> Variable {
        Variable(Tensor(uniform: shape, low: -1, high: 1, rng: &rng), requiresGrad: true)
    }

    func variable(_ values: [Float], _ shape: [Int]) throws -> Variable {
        Variable(try Tensor(shape: shape, values: values), requiresGrad: true)
    }
    func testL2NormalizeGemAndMaxPool() throws {
        let x = param([3, 5])
        try GradientCheck.check(inputs: [x]) { g, v in try g.l2Normalize(v[0]) }
        let positiveValues: [Float] = (0..<(2 * 3 * 4 * 4)).map { _ in 0.2 + rng.nextFloat() }
        let positive = try variable(positiveValues, [2, 3, 4, 4])
        try GradientCheck.check(inputs: [positive], step: 1e-3) { g, v in try g.gemPool(v[0], p: 3) }
        let distinct = param([2, 3, 3, 3])
        for i in 0..<distinct.value.count { distinct.value[i] = Float((i * 7) % 23) * 0.1 + Float(i) * 0.003 }
        try GradientCheck.check(inputs: [distinct], step: 1e-3) { g, v in try g.globalMaxPool(v[0]) }
        // GeM with p = 1 is the mean; unit rows after normalisation.
        let mean = try Graph(recording: false).gemPool(positive, p: 1).value.scalars
        let avg = try Graph(recording: false).globalAvgPool(positive).value.scalars
        for (a, b) in zip(mean, avg) { XCTAssertEqual(a, b, accuracy: 1e-5) }
        let unit = try Graph(recording: false).l2Normalize(x).value.scalars
        for r in 0..<3 {
            var sum: Float = 0
            for j in 0..<5 { sum += unit[r * 5 + j] * unit[r * 5 + j] }
            XCTAssertEqual(sum, 1, accuracy: 1e-5)
        }
    }

    func testArcFaceMarginAndGradient() throws {
        // Cosines on both sides of the fallback threshold cos(π − m) ≈ −0.878.
        var values: [Float] = (0..<12).map { _ in rng.nextFloat() * 1.6 - 0.8 }
        values[4] = -0.95
        let cosine = try variable(values, [3, 4])
        let targets: [Int32] = [2, 0, 3]
        try GradientCheck.check(inputs: [cosine], step: 1e-3) { g, v in try g.arcFace(v[0], targets: targets, scale: 4, margin: 0.5) }
        let out = try Graph(recording: false).arcFace(cosine, targets: targets, scale: 4, margin: 0.5).value.scalars
        let c = values[2]
        XCTAssertEqual(out[2], 4 * cos(acos(c) + 0.5), accuracy: 1e-5)
        XCTAssertEqual(out[3], 4 * values[3], accuracy: 1e-6)
        XCTAssertEqual(out[4], 4 * (values[4] - sin(Float.pi - 0.5) * 0.5), accuracy: 1e-5)  // fallback branch
        XCTAssertThrowsError(try Graph().arcFace(cosine, targets: [0, 1, 9]))
    }

    /// Both similarity losses through sim = E·Eᵀ of normalised embeddings, as they are used.
    func testSimilarityLossesMatchFormulasAndFiniteDifferences() throws {
        let labels: [Int32] = [0, 1, 0, 2, 1, 2, 0]
        let x = param([7, 4])
        func sim(_ g: Graph, _ v: Variable) throws -> Variable {
            let e = try g.l2Normalize(v)
            return try g.linear(e, weight: e, bias: nil)
        }
        try GradientCheck.check(inputs: [x], step: 1e-3) { g, v in try g.supervisedContrastive(try sim(g, v[0]), labels: labels, temperature: 0.5) }
        try GradientCheck.check(inputs: [x], step: 1e-3) { g, v in try g.tripletBatchHard(try sim(g, v[0]), labels: labels, margin: 1.5) }

        // Forward values against direct formulas in Double.
        let s = try sim(Graph(recording: false), x).value.scalars.map(Double.init)
        let n = labels.count
        var supcon = 0.0, anchors = 0
        var triplet = 0.0
        for i in 0..<n {
            let others = (0..<n).filter { $0 != i }
            let positives = others.filter { labels[$0] == labels[i] }
            let negatives = others.filter { labels[$0] != labels[i] }
            let logSum = log(others.map { exp(s[i * n + $0] / 0.5) }.reduce(0, +))
            supcon += positives.map { -(s[i * n + $0] / 0.5 - logSum) }.reduce(0, +) / Double(positives.count)
            anchors += 1
            let d = { (j: Int) in (2 - 2 * s[i * n + j]).squareRoot() }
            triplet += max(0, positives.map(d).max()! - negatives.map(d).min()! + 1.5)
        }
        let g = Graph(recording: false)
        XCTAssertEqual(Double(try g.supervisedContrastive(try sim(g, x), labels: labels, temperature: 0.5).value[0]), supcon / Double(anchors), accuracy: 1e-4)
        XCTAssertEqual(Double(try g.tripletBatchHard(try sim(g, x), labels: labels, margin: 1.5).value[0]), triplet / Double(anchors), accuracy: 1e-4)
    }
}

/// Detection ops against central finite differences.
final class DetectionGradientTests: XCTestCase {
    func testDecodeBoxesAndGatherRows() throws {
        var rng = RandomState(seed: 6)
        let raw = Variable(Tensor(uniform: [5, 7], low: -1, high: 1, rng: &rng), requiresGrad: true)
        let anchors: [Float] = [0, 0, 8, 1, 0, 8, 2, 3, 16, 0, 1, 32, 4, 4, 8]
        try GradientCheck.check(inputs: [raw], step: 1e-3) { g, v in try g.decodeBoxes(v[0], anchors: anchors) }
        try GradientCheck.check(inputs: [raw]) { g, v in try g.gatherRows(v[0], [4, 1, 1, 0]) }
        // tx = ty = 0, tw = th = 0 at cell (2, 3), stride 16: a 16 px box centred at (32, 48).
        let zero = Variable(Tensor(zeros: [1, 5]))
        XCTAssertEqual(try Graph(recording: false).decodeBoxes(zero, anchors: [2, 3, 16]).value.scalars, [24, 40, 40, 56])
        XCTAssertThrowsError(try Graph().gatherRows(raw, [5]))
    }
}
