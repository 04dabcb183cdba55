import XCTest
@testable import Tensors

/// Checks a graph function's analytic gradients against central finite differences.
/// The scalar checked is L = Σ f(inputs) ⊙ R for a fixed random R, evaluated in Double.
enum GradientCheck {
    static func check(inputs: [Variable], step h: Float = 1e-2, tolerance: Float = 2e-2, samples: Int = 24,
                      seed: UInt64 = 3, file: StaticString = #filePath, line: UInt = #line,
                      _ f: (Graph, [Variable]) throws -> Variable) throws {
        var rng = RandomState(seed: seed)
        let probe = try f(Graph(recording: false), inputs)
        let r = randomArray(probe.value.count, &rng)
        func loss() throws -> Double {
            let y = try f(Graph(recording: false), inputs)
            var s: Double = 0
            for i in 0..<y.value.count { s += Double(y.value[i]) * Double(r[i]) }
            return s
        }
        // Analytic: backward with seed gradient R.
        let graph = Graph()
        let y = try f(graph, inputs)
        for v in inputs { v.grad = nil }
        let seedGrad = graph.gradient(of: y)
        for i in 0..<r.count { seedGrad[i] = r[i] }
        // backward(seed:) fills with a constant; drive the steps by hand instead.
        graph.backwardFromSeededGradient()
        for (k, v) in inputs.enumerated() where v.requiresGrad {
            guard let g = v.grad else { XCTFail("input \(k) got no gradient", file: file, line: line); continue }
            let n = v.value.count
            for s in 0..<min(samples, n) {
                let i = n <= samples ? s : rng.nextInt(n)
                let saved = v.value[i]
                v.value[i] = saved + h
                let up = try loss()
                v.value[i] = saved - h
                let down = try loss()
                v.value[i] = saved
                let numeric = Float((up - down) / Double(2 * h))
                let analytic = g[i]
                let err = abs(numeric - analytic) / max(abs(numeric), abs(analytic), 1e-2)
                if err > tolerance {
                    XCTFail("input \(k)[\(i)]: analytic \(analytic) vs numeric \(numeric)", file: file, line: line)
                    return
                }
            }
        }
    }
}

extension Graph {
    /// Runs the backward steps with whatever gradient the output already holds.
    func backwardFromSeededGradient() { runRecordedSteps() }
}
