import FleetProtos
import Foundation

/// vf-train's persisted jobs and their events. One transaction per method; every state change
/// goes through `transition`, which checks `JobLifecycle` and records the change as an event
/// in the same transaction. SQLite is the embedded default.
public protocol JobStore: Sendable {
    /// Inserts a new job and its first event, or returns the job already submitted under
    /// `idempotencyKey` (`created` false).
    func insert(_ job: Visionfleet_V1_Job, idempotencyKey: String) throws -> (job: Visionfleet_V1_Job, created: Bool)
    func job(_ id: String) throws -> Visionfleet_V1_Job
    func job(idempotencyKey: String) throws -> Visionfleet_V1_Job?
    func list(state: Visionfleet_V1_JobState, model: String, after: String?, limit: Int) throws -> (jobs: [Visionfleet_V1_Job], total: Int)
    func count(in states: [Visionfleet_V1_JobState]) throws -> Int
    /// Moves a job to `state` (after `update` ran on it); throws `failedPrecondition` when the
    /// lifecycle does not allow the move. Returns the job and its event's sequence.
    func transition(_ id: String, to state: Visionfleet_V1_JobState, update: (inout Visionfleet_V1_Job) -> Void) throws
        -> (job: Visionfleet_V1_Job, sequence: Int64)
    /// Appends events (progress, logs); returns the last sequence.
    func append(_ events: [Visionfleet_V1_JobEvent], to id: String) throws -> Int64
    /// A job's events after `sequence`, in order, at most `limit`.
    func events(of id: String, after sequence: Int64, limit: Int) throws -> [Visionfleet_V1_JobEvent]
    func latestSequence() throws -> Int64
}
