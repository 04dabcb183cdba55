/// An exponential moving average of parameters (and a copy of buffers), the "EMA weights"
/// evaluated instead of the raw ones: ema ← decay·ema + (1−decay)·p, with decay warmed up
/// as min(decay, (1+t)/(10+t)).
public final class ExponentialMovingAverage {
    public let decay: Float
    /// Updates so far (settable to restore a checkpoint).
    public var updates = 0
    public let shadow: [(String, Tensor)]
    private let sources: [(String, Tensor)]

    public init(module: any Module, decay: Float = 0.9999) {
        self.decay = decay
        sources = module.stateDict()
        shadow = sources.map { ($0.0, $0.1.copy()) }
    }

    public func update() {
        updates += 1
        let d = min(decay, Float(1 + updates) / Float(10 + updates))
        for ((_, s), (_, p)) in zip(shadow, sources) {
            for i in 0..<s.count { s.pointer[i] = d * s.pointer[i] + (1 - d) * p.pointer[i] }
        }
    }

    /// The averaged weights by name, ready for `Module.load(stateDict:)`.
    public var stateDict: [String: Tensor] { Dictionary(uniqueKeysWithValues: shadow) }
}
