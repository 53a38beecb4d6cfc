import Logging
import Synchronization

/// The daemon's log level, changeable while it runs (enable_enhanced_logging raises it and puts
/// it back). `vigild` bootstraps swift-log with ``AdjustableLogHandler``s that read it.
public final class AdjustableLogLevel: Sendable {
    public static let shared = AdjustableLogLevel()
    private let raw = Atomic<Int>(Logger.Level.info.ordinal)

    public var level: Logger.Level {
        get { Logger.Level.allCases[raw.load(ordering: .relaxed)] }
        set { raw.store(newValue.ordinal, ordering: .relaxed) }
    }
}

extension Logger.Level {
    var ordinal: Int { Logger.Level.allCases.firstIndex(of: self) ?? 2 }
}

/// A stream handler whose level is ``AdjustableLogLevel/shared`` (a `logLevel` set on a logger
/// value sets the shared level too).
public struct AdjustableLogHandler: LogHandler {
    var inner: StreamLogHandler
    let control: AdjustableLogLevel

    public init(label: String, control: AdjustableLogLevel = .shared) {
        inner = StreamLogHandler.standardError(label: label)
        inner.logLevel = .trace
        self.control = control
    }

    public var logLevel: Logger.Level {
        get { control.level }
        set { control.level = newValue }
    }

    public var metadata: Logger.Metadata {
        get { inner.metadata }
        set { inner.metadata = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { inner[metadataKey: key] }
        set { inner[metadataKey: key] = newValue }
    }

    public func log(event: LogEvent) {
        guard event.level >= control.level else { return }
        inner.log(event: event)
    }
}
