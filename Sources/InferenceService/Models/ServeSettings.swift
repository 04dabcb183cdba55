import Foundation

/// vf-serve's settings that apply to every model.
public struct ServeSettings: Sendable {
    /// Packages are cached under `home/models/NAME/VERSION`, gallery changes under `home/galleries`.
    public var home: URL
    public var batching: BatchingConfig
    /// Per model name: an override of `batching` ("max_batch=16,delay_us=500").
    public var modelBatching: [String: String]
    /// The most pixels an encoded image may have (checked before decoding).
    public var maxImagePixels: Int
    /// Backoff between attempts to load a model while the registry is unreachable.
    public var retryInitial: Duration
    public var retryMax: Duration
    /// Where Triton-style request traces go (nil: tracing cannot be switched on).
    public var traceFile: String?

    public init(home: URL, batching: BatchingConfig = BatchingConfig(), modelBatching: [String: String] = [:],
                maxImagePixels: Int = 40_000_000, retryInitial: Duration = .milliseconds(250), retryMax: Duration = .seconds(10),
                traceFile: String? = nil) {
        self.traceFile = traceFile
        self.home = home
        self.batching = batching
        self.modelBatching = modelBatching
        self.maxImagePixels = maxImagePixels
        self.retryInitial = retryInitial
        self.retryMax = retryMax
    }

    func batching(for name: String) throws(ServeError) -> BatchingConfig {
        guard let text = modelBatching[name] else { return try batching.validated(for: name) }
        return try batching.overridden(by: text, for: name)
    }
}
