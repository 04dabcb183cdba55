import FleetProtos

/// A training job's lifecycle, written down here and nowhere else:
///
///     queued ──a worker starts it──▶ running ──training done──▶ evaluating ──▶ publishing ──▶ succeeded
///     queued | running | evaluating | publishing ──CancelJob──▶ cancelled
///     running | evaluating | publishing ──an error, NaN, a worker that keeps dying──▶ failed
///     running ──the service restarted──▶ running (attempts + 1, from the last checkpoint)
///     failed (while publishing) ──RetryPublish──▶ publishing
///
/// succeeded, failed and cancelled are final (but for RetryPublish); a final job's events
/// end with its last state change.
enum JobLifecycle {
    static func isFinal(_ state: Visionfleet_V1_JobState) -> Bool {
        [.succeeded, .failed, .cancelled].contains(state)
    }

    static func canMove(from: Visionfleet_V1_JobState, to: Visionfleet_V1_JobState) -> Bool {
        switch (from, to) {
        case (.queued, .running), (.running, .evaluating), (.evaluating, .publishing), (.publishing, .succeeded): true
        case (.running, .running): true  // resumed after a restart
        case (.queued, .cancelled), (.running, .cancelled), (.evaluating, .cancelled), (.publishing, .cancelled): true
        case (.running, .failed), (.evaluating, .failed), (.publishing, .failed), (.queued, .failed): true
        case (.failed, .publishing): true  // RetryPublish
        default: false
        }
    }

    static func name(_ state: Visionfleet_V1_JobState) -> String {
        switch state {
        case .queued: "queued"
        case .running: "running"
        case .evaluating: "evaluating"
        case .publishing: "publishing"
        case .succeeded: "succeeded"
        case .failed: "failed"
        case .cancelled: "cancelled"
        default: "unspecified"
        }
    }
}
