/// What a unit measures; values convert only within one dimension.
public enum UnitDimension: Sendable, Hashable {
    /// Shares: `%` on a rule; `%` or `ratio` (0…1) on an event.
    case ratio
    /// Base: seconds.
    case time
    /// Base: bytes.
    case bytes
    /// Things counted (`messages`); a count converts only to the same noun.
    case count
}

/// The unit written after a rule's threshold (`90%`, `5000ms`, `1000 messages`, `512 MiB`).
///
/// Each case has one canonical spelling, which the printer writes; the parser also accepts the
/// other spellings listed in ``spellings``.
public enum ThresholdUnit: String, Sendable, Hashable, CaseIterable {
    case percent = "%"
    case nanoseconds = "ns"
    case microseconds = "us"
    case milliseconds = "ms"
    case seconds = "s"
    case minutes
    case hours
    case bytes
    case kilobytes = "kB"
    case megabytes = "MB"
    case gigabytes = "GB"
    case terabytes = "TB"
    case petabytes = "PB"
    case kibibytes = "KiB"
    case mebibytes = "MiB"
    case gibibytes = "GiB"
    case tebibytes = "TiB"
    case pebibytes = "PiB"
    case messages
    case events
    case requests
    case errors
    case failures
    case connections

    public var dimension: UnitDimension {
        switch self {
        case .percent: .ratio
        case .nanoseconds, .microseconds, .milliseconds, .seconds, .minutes, .hours: .time
        case .bytes, .kilobytes, .megabytes, .gigabytes, .terabytes, .petabytes,
             .kibibytes, .mebibytes, .gibibytes, .tebibytes, .pebibytes: .bytes
        case .messages, .events, .requests, .errors, .failures, .connections: .count
        }
    }

    /// One unit in its dimension's base (a fraction, seconds, bytes, one thing).
    public var scale: Double {
        switch self {
        case .percent: 0.01
        case .nanoseconds: 1e-9
        case .microseconds: 1e-6
        case .milliseconds: 1e-3
        case .seconds: 1
        case .minutes: 60
        case .hours: 3600
        case .bytes: 1
        case .kilobytes: 1e3
        case .megabytes: 1e6
        case .gigabytes: 1e9
        case .terabytes: 1e12
        case .petabytes: 1e15
        case .kibibytes: 1024
        case .mebibytes: 1_048_576
        case .gibibytes: 1_073_741_824
        case .tebibytes: 1_099_511_627_776
        case .pebibytes: 1_125_899_906_842_624
        case .messages, .events, .requests, .errors, .failures, .connections: 1
        }
    }

    /// Every accepted spelling, canonical first.
    public var spellings: [String] {
        switch self {
        case .percent: ["%", "percent"]
        case .nanoseconds: ["ns", "nanosecond", "nanoseconds"]
        case .microseconds: ["us", "µs", "microsecond", "microseconds"]
        case .milliseconds: ["ms", "millisecond", "milliseconds"]
        case .seconds: ["s", "sec", "second", "seconds"]
        case .minutes: ["minutes", "minute", "min"]
        case .hours: ["hours", "hour", "h"]
        case .bytes: ["bytes", "byte", "B"]
        case .messages: ["messages", "message"]
        case .events: ["events", "event"]
        case .requests: ["requests", "request"]
        case .errors: ["errors", "error"]
        case .failures: ["failures", "failure"]
        case .connections: ["connections", "connection"]
        default: [rawValue]
        }
    }

    /// Whether the canonical spelling is a symbol written against the number (`90%`, `5000ms`).
    var isSymbol: Bool {
        switch self {
        case .percent, .nanoseconds, .microseconds, .milliseconds, .seconds: true
        default: false
        }
    }

    /// The spelling for `value`: symbols as they are, words singular for exactly 1 (`1 minute`).
    func spelling(for value: Double) -> String {
        guard !isSymbol, value == 1 else { return rawValue }
        switch self {
        case .minutes, .hours, .bytes, .messages, .events, .requests, .errors, .failures, .connections:
            return String(rawValue.dropLast())
        default:
            return rawValue
        }
    }

    private static let bySpelling: [String: ThresholdUnit] = {
        var table: [String: ThresholdUnit] = [:]
        for unit in allCases { for s in unit.spellings { table[s] = unit } }
        return table
    }()

    /// The unit a word names, or nil.
    public init?(spelling: String) {
        guard let unit = Self.bySpelling[spelling] else { return nil }
        self = unit
    }

    /// Spellings refused on purpose, with what to write instead.
    static func refusal(for word: String) -> String? {
        switch word {
        case "KB", "Kb", "kb": "write kB (1000 bytes) or KiB (1024 bytes)"
        case "mb", "Mb": "write MB (10^6 bytes) or MiB (2^20 bytes)"
        case "gb", "Gb": "write GB (10^9 bytes) or GiB (2^30 bytes)"
        case "m": "write ms (milliseconds) or minutes"
        case "mins", "secs", "hrs": "write the unit in full (minutes, seconds, hours) or as ms, s"
        default: nil
        }
    }
}

/// How the unit on an event relates to the units rules are written in.
///
/// Sources name their unit freely; Vigil recognises the threshold spellings plus `ratio` (a share
/// from 0 to 1). Any other word is kept as it is and compares only with a rule written in no unit
/// or in that same word.
public struct EventUnit: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        /// No unit on the event: the value is taken in the rule's unit.
        case none
        /// A recognised unit: converts within its dimension.
        case known(UnitDimension, scale: Double, noun: ThresholdUnit?)
        /// A word Vigil does not know.
        case opaque
    }

    public var kind: Kind

    public init(_ text: String) {
        if text.isEmpty {
            kind = .none
        } else if text == "ratio" || text == "fraction" {
            kind = .known(.ratio, scale: 1, noun: nil)
        } else if let unit = ThresholdUnit(spelling: text) {
            kind = .known(unit.dimension, scale: unit.scale, noun: unit.dimension == .count ? unit : nil)
        } else {
            kind = .opaque
        }
    }
}

/// Prints thresholds the way people write them: integers without `.0`, others in the shortest exact form.
enum NumberText {
    static func format(_ v: Double) -> String {
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        return "\(v)"
    }
}
