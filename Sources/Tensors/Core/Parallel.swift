import CBLAS
import CDNNL
import Foundation

/// Thread settings of the engine. `threads` comes from `VISIONFLEET_THREADS` (default: the
/// core count). Work is split statically into `threads` contiguous chunks, so results do not
/// depend on scheduling: two runs with the same seed give bitwise-equal weights.
public enum Parallel {
    nonisolated(unsafe) private static var configured: Int = {
        let env = ProcessInfo.processInfo.environment["VISIONFLEET_THREADS"].flatMap(Int.init) ?? 0
        let n = env > 0 ? env : ProcessInfo.processInfo.activeProcessorCount
        openblas_set_num_threads(1)  // the engine parallelises around GEMMs, not inside them
        return n
    }()

    public static var threads: Int { configured }

    /// Workers for up to the configured thread count (the caller is the first thread).
    nonisolated(unsafe) private static var workers: WorkerPool?
    private static let poolLock = NSLock()
    static var pool: WorkerPool {
        poolLock.lock()
        defer { poolLock.unlock() }
        if let workers, workers.workerCount >= configured - 1 { return workers }
        let fresh = WorkerPool(workers: max(configured - 1, 1))
        workers = fresh
        return fresh
    }

    /// Smallest streaming pass (in floats) worth a second thread: below it, waking a worker
    /// costs more than it saves.
    public static let elementsPerChunk = 1 << 13

    /// Rows of `rowLength` floats that make one chunk of at least `elementsPerChunk`.
    @inline(__always)
    public static func rowsPerChunk(_ rowLength: Int) -> Int { max(1, elementsPerChunk / max(rowLength, 1)) }

    /// Smallest GEMM (multiply-adds) worth splitting across threads.
    public static let minimumSplitMACs = 1_000_000

    /// Sets the thread count (call before training starts).
    public static func setThreads(_ n: Int) { configured = max(1, n) }

    /// Runs `body(chunk, range)` over 0..<count split into at most `threads` chunks.
    @inline(__always)
    public static func forEachChunk(_ count: Int, minimumPerChunk: Int = 1,
                                    _ body: (_ chunk: Int, _ range: Range<Int>) -> Void) {
        let chunks = max(1, min(threads, count / max(minimumPerChunk, 1)))
        if chunks == 1 {
            body(0, 0..<count)
            return
        }
        if onOpenMP { return runOnOpenMP(count: count, chunks: chunks, body) }
        pool.run(count: count, chunks: chunks, body)
    }

    /// With oneDNN on, regions run on its OpenMP team (`vf_omp_run`): one set of worker threads
    /// for the engine's kernels and oneDNN's primitives. Otherwise the engine's `WorkerPool`.
    static let onOpenMP = DNNLConvolution.enabled && ProcessInfo.processInfo.environment["VISIONFLEET_OPENMP_POOL"] != "0"

    private struct OpenMPJob {
        let body: UnsafePointer<(Int, Range<Int>) -> Void>
        let count: Int
        let chunks: Int
    }

    private static func runOnOpenMP(count: Int, chunks: Int, _ body: (Int, Range<Int>) -> Void) {
        withoutActuallyEscaping(body) { escapable in
            var closure = escapable
            withUnsafePointer(to: &closure) { pointer in
                var job = OpenMPJob(body: pointer, count: count, chunks: chunks)
                withUnsafeMutablePointer(to: &job) { jobPointer in
                    vf_omp_run(Int32(chunks), { context, chunk in
                        let job = context!.assumingMemoryBound(to: OpenMPJob.self).pointee
                        let c = Int(chunk)
                        job.body.pointee(c, job.count * c / job.chunks..<job.count * (c + 1) / job.chunks)
                    }, jobPointer)
                }
            }
        }
    }
}
