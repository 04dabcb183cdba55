import Logging
import Synchronization

/// Which log messages a server writes, changeable while it runs (Triton's LogSettings: info,
/// warning and error each on or off, a verbose level for debug (1) and trace (2 and up)). Every
/// logger of the process consults the one shared instance through `SwitchableLogHandler`.
public final class RuntimeLogSettings: Sendable {
    public struct Values: Sendable, Equatable {
        public var info: Bool
        public var warning: Bool
        public var error: Bool
        public var verboseLevel: UInt32

        /// The settings that write `level` and everything above it.
        public init(level: Logger.Level) {
            info = level <= .info
            warning = level <= .warning
            error = level <= .error
            verboseLevel = level == .trace ? 2 : level == .debug ? 1 : 0
        }

        /// Whether a message at `level` is written.
        public func writes(_ level: Logger.Level) -> Bool {
            switch level {
            case .trace: verboseLevel >= 2
            case .debug: verboseLevel >= 1
            case .info, .notice: info
            case .warning: warning
            case .error, .critical: error
            }
        }

        /// The lowest level written (loggers skip building messages below it).
        public var threshold: Logger.Level {
            Logger.Level.allCases.first(where: writes) ?? .critical
        }
    }

    public static let shared = RuntimeLogSettings()
    private let state: Mutex<Values>

    public init(level: Logger.Level = .info) { state = Mutex(Values(level: level)) }

    public var values: Values {
        get { state.withLock { $0 } }
        set { state.withLock { $0 = newValue } }
    }
}

/// Writes to standard error what `RuntimeLogSettings.shared` lets through.
public struct SwitchableLogHandler: LogHandler {
    private var stream: StreamLogHandler
    private let settings: RuntimeLogSettings

    public init(label: String, settings: RuntimeLogSettings = .shared) {
        stream = StreamLogHandler.standardError(label: label)
        self.settings = settings
        stream.logLevel = .trace
    }

    public var metadata: Logger.Metadata {
        get { stream.metadata }
        set { stream.metadata = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { stream[metadataKey: key] }
        set { stream[metadataKey: key] = newValue }
    }

    /// The shared settings' threshold; setting it sets the shared settings.
    public var logLevel: Logger.Level {
        get { settings.values.threshold }
        set { settings.values = .init(level: newValue) }
    }

    public func log(event: LogEvent) {
        guard settings.values.writes(event.level) else { return }
        stream.log(event: event)
    }
}
