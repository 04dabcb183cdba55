import Tensors

/// Timing of an inference plan, shared by the engine benchmarks.
enum PlanTiming {
    /// Median milliseconds of `runs` calls on `input`, after `warmups`.
    static func medianMilliseconds(_ plan: InferencePlan, _ input: Tensor, warmups: Int, runs: Int) throws -> Double {
        let clock = ContinuousClock()
        for _ in 0..<warmups { _ = try plan.run(input) }
        var samples: [Double] = []
        for _ in 0..<runs {
            let t0 = clock.now
            _ = try plan.run(input)
            samples.append((clock.now - t0).seconds * 1000)
        }
        samples.sort()
        return samples[samples.count / 2]
    }

    /// Images per second over `runs` calls on the batch `input`, after `warmups`.
    static func imagesPerSecond(_ plan: InferencePlan, _ input: Tensor, warmups: Int, runs: Int) throws -> Double {
        let clock = ContinuousClock()
        for _ in 0..<warmups { _ = try plan.run(input) }
        let start = clock.now
        for _ in 0..<runs { _ = try plan.run(input) }
        return Double(runs * input.shape[0]) / (clock.now - start).seconds
    }
}
