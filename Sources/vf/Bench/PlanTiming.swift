import Tensors

/// Timing of an inference plan, shared by the engine benchmarks.
enum PlanTiming {
    /// Median milliseconds of `runs` calls on `input`, after `warmups`.
    static func medianMilliseconds(_ plan: InferencePlan, _ input: Tensor, warmups: Int, runs: Int) throws -> Double {
        for _ in 0..<warmups { _ = try plan.run(input) }
        let samples = try milliseconds(plan, input, runs: runs).sorted()
        return samples[samples.count / 2]
    }

    /// Milliseconds of each of `runs` calls on `input`, in order.
    static func milliseconds(_ plan: InferencePlan, _ input: Tensor, runs: Int) throws -> [Double] {
        let clock = ContinuousClock()
        var samples: [Double] = []
        samples.reserveCapacity(runs)
        for _ in 0..<runs {
            let t0 = clock.now
            _ = try plan.run(input)
            samples.append((clock.now - t0).seconds * 1000)
        }
        return samples
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
