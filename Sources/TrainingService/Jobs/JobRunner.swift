import FleetProtos
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Logging
import Synchronization
import SwiftProtobuf

/// Runs queued jobs, `concurrency` at a time, each in a child worker process whose events
/// arrive over a pipe and are persisted; resumes jobs found running after a restart; on a
/// worker's success publishes the package and finishes the job; cancel stops the worker.
public final class JobRunner: Sendable {
    /// Uploads a finished package to the registry and moves the aliases; returns the version.
    public typealias Publisher = @Sendable (_ package: URL, _ job: Visionfleet_V1_Job) async throws -> Int32

    let jobs: TrainingJobs
    let home: URL
    /// The worker command: executable and leading arguments (`--job ID` is appended).
    let worker: [String]
    let publish: Publisher?
    let concurrency: Int
    /// Publishing is tried this many times, waiting `publishBackoff`, then twice that, … between.
    let publishAttempts: Int
    let publishBackoff: Duration
    let logger: Logger
    private let workers = Mutex<[String: Process]>([:])
    /// Set when the service shuts down: its workers are stopped, their jobs stay `running` and resume on restart.
    private let stopping = Mutex(false)
    /// Jobs whose worker was stopped for running past the job's max runtime.
    private let overtime = Mutex<Set<String>>([])

    public init(jobs: TrainingJobs, home: URL, worker: [String], publish: Publisher?, concurrency: Int = 1,
                publishAttempts: Int = 4, publishBackoff: Duration = .seconds(1), logger: Logger = Logger(label: "visionfleet.train")) {
        self.publishAttempts = publishAttempts
        self.publishBackoff = publishBackoff
        self.jobs = jobs
        self.home = home
        self.worker = worker
        self.publish = publish
        self.concurrency = concurrency
        self.logger = logger
        jobs.onCancel.withLock { $0 = { [weak self] id in self?.stop(id) } }
    }

    /// Schedules until the hub closes: resumes running jobs, then starts queued ones as slots free.
    public func run() async {
        for job in (try? jobs.store.list(state: .running, model: "", after: nil, limit: 10_000).jobs) ?? [] {
            resume(job)
        }
        var seen = jobs.hub.latest
        while !jobs.hub.isClosed {
            startQueued()
            await jobs.hub.wait(after: seen)
            seen = jobs.hub.latest
        }
        stopping.withLock { $0 = true }
        for (_, process) in workers.withLock({ $0 }) where process.isRunning { process.terminate() }
    }

    private func startQueued() {
        while workers.withLock({ $0.count }) < concurrency,
              let next = try? jobs.store.list(state: .queued, model: "", after: nil, limit: 1).jobs.first {
            do {
                let (job, sequence) = try jobs.store.transition(next.id, to: .running) {
                    $0.attempts += 1
                    $0.startedAt = Google_Protobuf_Timestamp(date: Date())
                }
                jobs.hub.published(upTo: sequence)
                spawn(job)
            } catch {
                logger.error("cannot start \(next.id): \(error)")
                return
            }
        }
    }

    private func resume(_ job: Visionfleet_V1_Job) {
        do {
            let (resumed, sequence) = try jobs.store.transition(job.id, to: .running) { $0.attempts += 1 }
            jobs.hub.published(upTo: sequence)
            logger.info("resuming \(job.id) (attempt \(resumed.attempts)) from its last checkpoint")
            spawn(resumed)
        } catch {
            logger.error("cannot resume \(job.id): \(error)")
        }
    }

    func stop(_ id: String) {
        workers.withLock { $0[id] }?.terminate()
    }

    private func spawn(_ job: Visionfleet_V1_Job) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: worker[0])
        process.arguments = Array(worker.dropFirst()) + ["--job", job.id]
        let events = Pipe(), errors = Pipe()
        process.standardOutput = events
        process.standardError = errors
        // The worker's stdin is its lifeline: the service holds the write end (never writing)
        // until the worker exits; when the service dies, even by SIGKILL, the worker reads
        // end-of-file and exits (PR_SET_PDEATHSIG follows the spawning thread, not the process).
        let lifeline = Pipe()
        process.standardInput = lifeline
        do {
            try process.run()
        } catch {
            finish(job.id, status: -1, reason: "cannot start the worker: \(error)", best: [])
            return
        }
        workers.withLock { $0[job.id] = process }
        logger.info("started \(job.id) in worker \(process.processIdentifier)")
        if job.maxRuntimeSeconds > 0 {
            let elapsed = job.hasStartedAt ? Date().timeIntervalSince(job.startedAt.date) : 0
            let left = max(0, Double(job.maxRuntimeSeconds) - elapsed)
            Task { [weak self] in
                try? await Task.sleep(for: .seconds(left))
                guard let self, self.workers.withLock({ $0[job.id] === process }), process.isRunning else { return }
                _ = self.overtime.withLock { $0.insert(job.id) }
                process.terminate()
            }
        }
        let jobs = jobs
        let reader = Thread {
            var best: [Visionfleet_V1_Metric] = []
            EventFrames.read(events.fileHandleForReading) { event in
                if case .epoch(let summary)? = event.event, summary.isBest { best = summary.metrics }
                if let sequence = try? jobs.store.append([event], to: job.id) { jobs.hub.published(upTo: sequence) }
            }
            let tail = String(decoding: errors.fileHandleForReading.readDataToEndOfFile().suffix(2000), as: UTF8.self)
            process.waitUntilExit()
            try? lifeline.fileHandleForWriting.close()
            let status = process.terminationReason == .uncaughtSignal ? -Int(process.terminationStatus) : Int(process.terminationStatus)
            let lastLine = tail.split(separator: "\n").last.map(String.init) ?? ""
            Task { await self.complete(job.id, status: status, reason: lastLine, best: best) }
        }
        reader.start()
    }

    private func complete(_ id: String, status: Int, reason: String, best: [Visionfleet_V1_Metric]) async {
        _ = workers.withLock { $0.removeValue(forKey: id) }
        if stopping.withLock({ $0 }) { return }
        defer { jobs.hub.published(upTo: (try? jobs.store.latestSequence()) ?? 0) }
        guard let job = try? jobs.store.job(id), job.state == .running else { return }  // cancelled meanwhile
        if overtime.withLock({ $0.remove(id) }) != nil {
            finish(id, status: status, reason: "ran past its max runtime of \(job.maxRuntimeSeconds) s", best: best)
            return
        }
        if status == -Int(SIGKILL), job.attempts < Self.maxAttempts {
            // Killed from outside (the OOM killer, an operator): resumed from its last checkpoint.
            logger.warning("\(id)'s worker was killed; resuming")
            resume(job)
            return
        }
        guard status == 0 else {
            let why = status < 0 ? "the worker was killed by signal \(-status)" : "the worker exited with status \(status)"
            finish(id, status: status, reason: reason.isEmpty ? why : reason, best: best)
            return
        }
        do {
            _ = try jobs.store.transition(id, to: .evaluating) { $0.bestMetrics = best }
            _ = try jobs.store.transition(id, to: .publishing) { _ in }
            jobs.hub.published(upTo: try jobs.store.latestSequence())
            try await publishJob(id)
        } catch {
            finish(id, status: 0, reason: "publishing: \(error)", best: best)
        }
    }

    /// A worker killed by a signal this many times fails the job.
    static let maxAttempts: Int32 = 3

    /// Uploads the package (retrying with backoff while the registry does not answer) and
    /// finishes the job; throws when every try failed (the job then fails, its package kept
    /// for RetryPublish).
    func publishJob(_ id: String) async throws {
        let job = try jobs.store.job(id)
        var version: Int32 = 0
        if let publish {
            var delay = publishBackoff
            for attempt in 1...max(1, publishAttempts) {
                do {
                    version = try await publish(JobWorker.packageFolder(of: id, home: home), job)
                    break
                } catch {
                    guard attempt < publishAttempts else { throw error }
                    if let sequence = try? jobs.store.append([.with { $0.log = "publishing failed (\(error)); retrying in \(delay)" }], to: id) {
                        jobs.hub.published(upTo: sequence)
                    }
                    try await Task.sleep(for: delay)
                    delay *= 2
                }
            }
        }
        do {
            if version > 0 { _ = try jobs.store.append([.with { $0.publishedVersion = version }], to: id) }
            let (_, sequence) = try jobs.store.transition(id, to: .succeeded) {
                $0.publishedVersion = version
                $0.finishedAt = Google_Protobuf_Timestamp(date: Date())
            }
            jobs.hub.published(upTo: sequence)
            logger.info("\(id) succeeded\(version > 0 ? ", published \(job.modelName)@\(version)" : "")")
        }
    }

    /// RetryPublish: a job that failed while publishing publishes its kept package again.
    public func retryPublish(_ id: String) async throws -> Visionfleet_V1_Job {
        let job = try jobs.store.job(id)
        guard job.state == .failed, job.failureReason.hasPrefix("publishing"),
              FileManager.default.fileExists(atPath: JobWorker.packageFolder(of: id, home: home).appendingPathComponent("manifest.json").path) else {
            throw TrainingError.failedPrecondition("job \(id) is \(JobLifecycle.name(job.state)); only a job that failed while publishing (its package kept) can retry")
        }
        let (_, sequence) = try jobs.store.transition(id, to: .publishing) { $0.failureReason = "" }
        jobs.hub.published(upTo: sequence)
        do { try await publishJob(id) } catch {
            finish(id, status: 0, reason: "publishing: \(error)", best: [])
            throw TrainingError.unavailable("publishing \(id) failed again: \(error)")
        }
        return try jobs.store.job(id)
    }

    private func finish(_ id: String, status: Int, reason: String, best: [Visionfleet_V1_Metric]) {
        _ = workers.withLock { $0.removeValue(forKey: id) }
        if let (_, sequence) = try? jobs.store.transition(id, to: .failed, update: {
            $0.failureReason = reason
            if !best.isEmpty { $0.bestMetrics = best }
            $0.finishedAt = Google_Protobuf_Timestamp(date: Date())
        }) {
            jobs.hub.published(upTo: sequence)
        }
        logger.warning("\(id) failed: \(reason)")
    }
}
