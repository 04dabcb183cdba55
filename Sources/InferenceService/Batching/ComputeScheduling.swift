import Foundation
import Glibc
import Synchronization

/// How vf-serve's threads share the cores. A model instance computes its batches on its own
/// thread under Linux's normal policy. The other threads of the process — gRPC's completion
/// queue, executor and timer threads, the task API's, HTTP and metrics — are helpers: each
/// request wakes a few of them (a read, a completion), and under the normal policy a waking
/// helper preempts a running batch (on two cores, each instance ~1,600 times a second at 32
/// requests in flight). As `SCHED_BATCH` threads they still get their fair share of CPU time,
/// but never preempt a batch: they run on an idle core, or when the batch's time slice ends.
///
/// That helps only while the batcher is saturated (its next batch is already full): then a
/// request read late still waits for an instance. Below that, a late read is latency the client
/// sees, and a batch-policy helper woken on a busy core can wait there while the other core
/// idles. So `adaptive` (vf-serve's default) moves the helpers to `SCHED_BATCH` after a run of
/// saturated batches and back after a run of unsaturated ones; `batch` keeps them there;
/// `normal` never moves them.
///
/// A move sets the policy of every thread of the process but the compute threads: those named
/// `vf-compute …`, the instances' (`enterCompute`) and the OpenMP teams they start for a wide
/// batch (a thread starts with its creator's name). Threads created later inherit their
/// creator's policy until the next move.
public enum ComputeScheduling {
    public enum HelperPolicy: String, CaseIterable, Sendable {
        case adaptive, batch, normal
    }

    /// The lifecycle of the helpers' policy, written down here and nowhere else:
    ///
    ///     preempting ──`switchAfter` saturated batches in a row (adaptive), or at start (batch)──▶ yielding
    ///     yielding ──`switchAfter` unsaturated batches in a row (adaptive)──▶ preempting
    struct State {
        var mode = HelperPolicy.normal
        var yielding = false
        /// Batches in a row that pointed the other way.
        var streak = 0
        var moves = 0
    }

    /// Batches in a row, over every instance, before the helpers move.
    static let switchAfter = 8
    /// Linux's `SCHED_BATCH` (glibc defines it only with `_GNU_SOURCE`).
    static let schedBatch: Int32 = 3
    private static let state = Mutex(State())

    /// Applies `policy` to the process; returns a message naming why it could not (the process
    /// then keeps the normal policy).
    public static func apply(_ policy: HelperPolicy) -> SchedulingError? {
        guard policy != .normal else { return nil }
        // Checked on the calling thread first: a container may forbid it.
        var param = sched_param()
        guard sched_setscheduler(0, schedBatch, &param) == 0 else {
            return SchedulingError(message: "sched_setscheduler(SCHED_BATCH): \(String(cString: strerror(errno)))")
        }
        _ = sched_setscheduler(0, SCHED_OTHER, &param)
        state.withLock { s in
            s.mode = policy
            if policy == .batch { move(&s, yielding: true) }
        }
        return nil
    }

    /// Whether the helpers yield now, and how many moves there were (`ServeMetrics`).
    static var current: (yielding: Bool, moves: Int) { state.withLock { ($0.yielding, $0.moves) } }

    static let computeName = "vf-compute"

    /// A model instance's thread, as it starts: named `vf-compute <instance>` (which also marks it
    /// for `top -H` and perf), and under the normal policy.
    static func enterCompute(instance: Int) {
        // pthread_setname_np needs _GNU_SOURCE; the thread's comm file is the same name.
        try? Data("\(computeName) \(instance)".utf8).write(to: URL(fileURLWithPath: "/proc/thread-self/comm"))
        state.withLock { s in
            var param = sched_param()
            // Its creator may be a helper that yields.
            if s.mode != .normal { _ = sched_setscheduler(0, SCHED_OTHER, &param) }
        }
    }

    /// An instance formed a batch: `saturated` when it took a full batch and more requests wait.
    static func observe(saturated: Bool) {
        state.withLock { s in
            guard s.mode == .adaptive else { return }
            guard saturated != s.yielding else {
                s.streak = 0
                return
            }
            s.streak += 1
            if s.streak >= switchAfter { move(&s, yielding: saturated) }
        }
    }

    /// Every thread but the compute threads to `SCHED_BATCH` (yielding) or the normal policy.
    private static func move(_ s: inout State, yielding: Bool) {
        s.yielding = yielding
        s.streak = 0
        s.moves += 1
        var param = sched_param()
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        for task in tasks {
            guard let tid = Int32(task),
                  let name = try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8),
                  !name.hasPrefix(computeName) else { continue }
            // A thread that exited meanwhile (ESRCH) needs nothing.
            _ = sched_setscheduler(tid, yielding ? schedBatch : SCHED_OTHER, &param)
        }
    }

    public struct SchedulingError: Error, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }
}
