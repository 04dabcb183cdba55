import FleetProtos
import Foundation
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
    let logger: Logger
    private let workers = Mutex<[String: Process]>([:])
    /// Set when the service shuts down: its workers are stopped, their jobs stay `running` and resume on restart.
    private let stopping = Mutex(false)

    public init(jobs: TrainingJobs, home: URL, worker: [String], publish: Publisher?, concurrency: Int = 1,
                logger: Logger = Logger(label: "visionfleet.train")) {
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
        do {
            try process.run()
        } catch {
            finish(job.id, status: -1, reason: "cannot start the worker: \(error)", best: [])
            return
        }
        workers.withLock { $0[job.id] = process }
        logger.info("started \(job.id) in worker \(process.processIdentifier)")
        let jobs = jobs
        let reader = Thread {
            var best: [Visionfleet_V1_Metric] = []
            EventFrames.read(events.fileHandleForReading) { event in
                if case .epoch(let summary)? = event.event, summary.isBest { best = summary.metrics }
                if let sequence = try? jobs.store.append([event], to: job.id) { jobs.hub.published(upTo: sequence) }
            }
            let tail = String(decoding: errors.fileHandleForReading.readDataToEndOfFile().suffix(2000), as: UTF8.self)
            process.waitUntilExit()
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
        guard status == 0 else {
            finish(id, status: status, reason: reason.isEmpty ? "the worker exited with status \(status)" : reason, best: best)
            return
        }
        do {
            _ = try jobs.store.transition(id, to: .evaluating) { $0.bestMetrics = best }
            _ = try jobs.store.transition(id, to: .publishing) { _ in }
            jobs.hub.published(upTo: try jobs.store.latestSequence())
            var version: Int32 = 0
            if let publish {
                version = try await publish(JobWorker.packageFolder(of: id, home: home), job)
            }
            _ = try jobs.store.transition(id, to: .succeeded) {
                $0.publishedVersion = version
                $0.finishedAt = Google_Protobuf_Timestamp(date: Date())
            }
            logger.info("\(id) succeeded\(version > 0 ? ", published \(job.modelName)@\(version)" : "")")
        } catch {
            finish(id, status: 0, reason: "publishing: \(error)", best: best)
        }
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
