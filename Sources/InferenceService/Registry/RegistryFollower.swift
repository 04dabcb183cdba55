import FleetProtos
import Logging
import ServiceLifecycle
import Synchronization

/// Follows the registry's event stream and asks the repository to reconcile each served model an
/// event touches (an alias moved, a version was published or deleted). After a disconnect it
/// reconnects with backoff and resumes after the last sequence it saw, so no event is missed.
public final class RegistryFollower: Service, Sendable {
    let repository: ModelRepository
    let logger: Logger
    private let lastSequence = Mutex<Int64>(0)

    public init(repository: ModelRepository, logger: Logger = Logger(label: "visionfleet.vf-serve")) {
        self.repository = repository
        self.logger = logger
    }

    public var sequence: Int64 { lastSequence.withLock { $0 } }

    public func run() async throws {
        await cancelWhenGracefulShutdown { [self] in await follow() }
    }

    /// Watches until cancelled.
    public func follow() async {
        var delay = repository.settings.retryInitial
        while !Task.isCancelled {
            do {
                try await repository.source.watch(from: sequence) { [self] event in
                    lastSequence.withLock { $0 = max($0, event.sequence) }
                    if let model = Self.model(of: event), repository.serves(model) { repository.reconcile(model) }
                    return !Task.isCancelled
                }
                delay = repository.settings.retryInitial
            } catch {
                if Task.isCancelled { return }
                logger.debug("registry event stream lost; reconnecting in \(delay)", metadata: ["error": "\(error)", "after": "\(sequence)"])
            }
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, repository.settings.retryMax)
        }
    }

    static func model(of event: Visionfleet_V1_RegistryEvent) -> String? {
        switch event.event {
        case .versionCreated(let v)?: v.model
        case .aliasChanged(let a)?: a.model
        case .modelDeleted(let name)?: name
        case .versionDeleted(let v)?: v.model
        case .modelCreated(let m)?: m.name
        case nil: nil
        }
    }
}
