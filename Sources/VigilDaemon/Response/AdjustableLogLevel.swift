import Logging
import Synchronization
import VigilPluginHost

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
        inner.log(event: Self.oneLine(event))
    }

    /// Every entry is one line of plain text, whatever went into it: text from plugins, alert
    /// senders and configuration reaches messages and metadata (rule labels, alert names,
    /// versions), so control characters, escape sequences, line and paragraph separators and
    /// bidirectional overrides are written as `\u{1B}`, `\n`… — nothing can forge a line that
    /// reads as another entry or rewrite an operator's terminal. Backslashes are left alone, so
    /// text escaped before (``LogText``) reads the same.
    static func oneLine(_ event: LogEvent) -> LogEvent {
        var e = event
        let message = e.message.description
        if needsEscape(message) { e.message = Logger.Message(stringLiteral: escaped(message)) }
        if let metadata = e.metadata, metadata.values.contains(where: needsEscape) {
            e.metadata = metadata.mapValues(escaped)
        }
        return e
    }

    static func needsEscape(_ value: Logger.MetadataValue) -> Bool {
        switch value {
        case .string(let s): needsEscape(s)
        case .stringConvertible(let c): needsEscape(c.description)
        case .array(let items): items.contains(where: needsEscape)
        case .dictionary(let d): d.keys.contains(where: needsEscape) || d.values.contains(where: needsEscape)
        }
    }

    static func escaped(_ value: Logger.MetadataValue) -> Logger.MetadataValue {
        switch value {
        case .string(let s): .string(escaped(s))
        case .stringConvertible(let c): .string(escaped(c.description))
        case .array(let items): .array(items.map(escaped))
        case .dictionary(let d): .dictionary(Dictionary(d.map { (escaped($0.key), escaped($0.value)) }, uniquingKeysWith: { a, _ in a }))
        }
    }

    static func needsEscape(_ text: String) -> Bool {
        text.unicodeScalars.contains(where: isUnsafe)
    }

    static func isUnsafe(_ scalar: Unicode.Scalar) -> Bool { LogText.isControl(scalar) }

    /// ``LogText/controlsEscaped(_:limit:)`` without a length limit (the daemon's own entries are
    /// not cut; plugin text was cut where it entered).
    static func escaped(_ text: String) -> String { LogText.controlsEscaped(text, limit: .max) }
}
