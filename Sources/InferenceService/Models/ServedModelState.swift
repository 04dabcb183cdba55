/// A served model's lifecycle, in one place (DESIGN.md: loading → warming → ready → draining →
/// unloaded). A swap loads the next version beside the current one, which stays `ready` and
/// answers requests until the next is warm; the old version then drains in the background.
///
///     loading ──▶ warming ──▶ ready ──▶ draining ──▶ unloaded
///        │           │          ▲ │                     │
///        └──▶ failed ◀┘          │ └── (swap: the next version loads beside it)
///              │  ▲              │                      │
///              └──┴── retry ─────┘◀──── load again ─────┘
public enum ServedModelState: String, Sendable, Equatable {
    /// Resolving the reference and downloading the package; nothing served yet.
    case loading = "LOADING"
    /// Built; running warm-up batches.
    case warming = "WARMING"
    /// Answering requests.
    case ready = "READY"
    /// Unloading: no new requests, finishing the ones it holds.
    case draining = "DRAINING"
    case unloaded = "UNAVAILABLE"
    /// The last load failed and nothing is served; a retry or a registry event tries again.
    case failed = "FAILED"

    /// The moves allowed from each state.
    static let transitions: [ServedModelState: Set<ServedModelState>] = [
        .loading: [.warming, .failed, .ready, .draining],
        .warming: [.ready, .failed, .draining],
        .ready: [.ready, .draining],
        .draining: [.unloaded, .loading],
        .unloaded: [.loading],
        .failed: [.loading, .draining, .unloaded],
    ]

    func canMove(to next: ServedModelState) -> Bool { Self.transitions[self]?.contains(next) ?? false }
}
