import SwiftProtobuf
import Synchronization

/// How an inline unary call ends: its response bytes or an error. Called once.
struct UnaryCompletion: Sendable {
    let complete: @Sendable (Result<[UInt8], any Error>) -> Void
}

/// Answers one inline unary call (`RPCRouter.unary(_:inline:_:)`) exactly once, from any
/// thread; later answers are ignored, and a responder dropped unanswered fails its call with
/// INTERNAL rather than leaving the client waiting.
public final class UnaryResponder<Response: Message>: Sendable {
    private let completion: UnaryCompletion
    private let answered = Atomic<Bool>(false)

    init(_ completion: UnaryCompletion) {
        self.completion = completion
    }

    public func succeed(_ response: Response) {
        guard claim() else { return }
        do {
            completion.complete(.success(try response.serializedBytes()))
        } catch {
            completion.complete(.failure(RPCError(code: .internal, message: "could not encode the response: \(error)")))
        }
    }

    public func fail(_ error: any Error) {
        guard claim() else { return }
        completion.complete(.failure(error))
    }

    /// The inline handler declined the call (it runs in a task instead): answers nothing.
    func decline() {
        _ = claim()
    }

    private func claim() -> Bool {
        !answered.exchange(true, ordering: .acquiringAndReleasing)
    }

    deinit {
        if claim() {
            completion.complete(.failure(RPCError(code: .internal, message: "the handler dropped the call without answering")))
        }
    }
}
