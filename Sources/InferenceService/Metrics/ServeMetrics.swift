import Prometheus
import Synchronization

/// vf-serve's Prometheus metrics, with Triton's names where they exist, labelled by model and
/// version, plus a batch-size histogram. Counters are updated as requests and batches finish;
/// the helper threads' scheduling (`ComputeScheduling`) is read at each scrape.
public final class ServeMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    static let batchBuckets: [Double] = [1, 2, 4, 8, 16, 32, 64, 128, 256]
    private let helpersYielding: Gauge
    private let helperMoves: Counter
    private let movesCounted = Mutex(0)

    public init() {
        helpersYielding = registry.makeGauge(descriptor: Self.name(
            "vf_serve_helpers_yielding", "1 while vf-serve's helper threads run as SCHED_BATCH (the batcher is saturated), else 0"))
        helperMoves = registry.makeCounter(descriptor: Self.name(
            "vf_serve_helper_moves", "Times the helper threads changed scheduling policy"))
    }

    /// The counters of one model version.
    func model(_ name: String, version: Int32) -> ModelMetrics {
        let labels = [("model", name), ("version", String(version))]
        return ModelMetrics(
            success: registry.makeCounter(descriptor: Self.name("nv_inference_request_success", "Number of successful inference requests, all batch sizes"), labels: labels),
            failure: registry.makeCounter(descriptor: Self.name("nv_inference_request_failure", "Number of failed inference requests, all batch sizes"), labels: labels),
            inferences: registry.makeCounter(descriptor: Self.name("nv_inference_count", "Number of inferences performed (a batch of n counts n)"), labels: labels),
            executions: registry.makeCounter(descriptor: Self.name("nv_inference_exec_count", "Number of model executions performed (a batch counts once)"), labels: labels),
            requestMicroseconds: registry.makeCounter(descriptor: Self.name("nv_inference_request_duration_us", "Cumulative inference request duration in microseconds"), labels: labels),
            queueMicroseconds: registry.makeCounter(descriptor: Self.name("nv_inference_queue_duration_us", "Cumulative inference queuing duration in microseconds"), labels: labels),
            computeInferMicroseconds: registry.makeCounter(descriptor: Self.name("nv_inference_compute_infer_duration_us", "Cumulative compute inference duration in microseconds"), labels: labels),
            batchSize: registry.makeValueHistogram(descriptor: Self.name("vf_inference_batch_size", "Images per model execution"), labels: labels, buckets: Self.batchBuckets))
    }

    static func name(_ metric: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: metric, unitName: "", helpText: help)
    }

    /// The Prometheus text exposition.
    public func text() -> String {
        let (yielding, moves) = ComputeScheduling.current
        helpersYielding.set(to: yielding ? 1.0 : 0.0)
        movesCounted.withLock { counted in
            if moves > counted { helperMoves.increment(by: Int64(moves - counted)) }
            counted = max(counted, moves)
        }
        return registry.emitToString()
    }
}

/// One model version's metric handles.
struct ModelMetrics: Sendable {
    let success: Counter
    let failure: Counter
    let inferences: Counter
    let executions: Counter
    let requestMicroseconds: Counter
    let queueMicroseconds: Counter
    let computeInferMicroseconds: Counter
    let batchSize: ValueHistogram
}
