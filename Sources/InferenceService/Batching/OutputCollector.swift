import Synchronization

/// Gathers the outputs of one request's images, which the batcher answers one by one (maybe on
/// different instances' threads), and hands them over in order once the last arrives — or the
/// first failure at once (later answers are then ignored).
final class OutputCollector: Sendable {
    private struct State {
        var outputs: [DynamicBatcher.Output?]
        var remaining: Int
        var answered = false
    }
    private let state: Mutex<State>
    private let done: @Sendable (Result<[DynamicBatcher.Output], any Error>) -> Void

    init(count: Int, done: @escaping @Sendable (Result<[DynamicBatcher.Output], any Error>) -> Void) {
        precondition(count > 0, "a request has at least one image")
        state = Mutex(State(outputs: Array(repeating: nil, count: count), remaining: count))
        self.done = done
    }

    /// The answer for image `index`.
    func deliver(_ index: Int, _ result: Result<DynamicBatcher.Output, any Error>) {
        let finished = state.withLock { s -> Result<[DynamicBatcher.Output], any Error>? in
            guard !s.answered else { return nil }
            switch result {
            case .failure(let error):
                s.answered = true
                return .failure(error)
            case .success(let output):
                s.outputs[index] = output
                s.remaining -= 1
                guard s.remaining == 0 else { return nil }
                s.answered = true
                return .success(s.outputs.map { $0! })
            }
        }
        if let finished { done(finished) }
    }
}
