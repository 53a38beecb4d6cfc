import VigilCore

/// A person's request to hold a rotation's role for a while (holiday cover, a swap), made at run
/// time rather than in `roster.overrides`.
public struct OnCallOverrideRequest: Sendable, Equatable {
    public var rotation: String
    public var person: String
    /// When it starts; nil (or a moment already past) means now.
    public var from: Timestamp?
    public var until: Timestamp
    /// Why: kept with the override and shown wherever it is listed.
    public var reason: String

    public init(rotation: String, person: String, from: Timestamp?, until: Timestamp, reason: String) {
        self.rotation = rotation
        self.person = person
        self.from = from
        self.until = until
        self.reason = reason
    }

    /// The longest override accepted: a longer change belongs in the configuration's rotations.
    public static let maximumLength: Duration = .seconds(90 * 86_400)
    /// The longest reason accepted, in UTF-8 bytes.
    public static let maximumReasonBytes = 500

    /// The override to store: checked against `roster` at `now`, starting now when `from` is
    /// absent or already past (an override cannot change who was paged before it was made).
    public func validated(roster: Roster, now: Timestamp) throws(OnCallOverrideError) -> RosterOverride {
        guard roster.rotations.contains(where: { $0.id == rotation }) else {
            throw .unknownRotation(found: rotation, known: roster.rotations.map(\.id))
        }
        guard roster.people.contains(where: { $0.id == person }) else {
            throw .unknownPerson(found: person, known: roster.people.map(\.id))
        }
        let start = max(from ?? now, now)
        guard until > now else { throw .untilNotInFuture(until: until, now: now) }
        guard until > start else { throw .fromNotBeforeUntil(from: start, until: until) }
        let (length, overflow) = until.nanoseconds.subtractingReportingOverflow(start.nanoseconds)
        guard !overflow, length <= Self.maximumLength.nanoseconds else {
            throw .tooLong(from: start, until: until, maximum: Self.maximumLength)
        }
        let text = reason.trimmingWhitespace()
        guard !text.isEmpty else { throw .missingReason }
        guard text.utf8.count <= Self.maximumReasonBytes else {
            throw .reasonTooLong(bytes: text.utf8.count, maximum: Self.maximumReasonBytes)
        }
        guard !text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw .reasonHasControlCharacters
        }
        return RosterOverride(rotation: rotation, person: person, from: start, until: until)
    }
}

/// Why an on-call override was refused; each message starts with the argument at fault.
public enum OnCallOverrideError: Error, Equatable, CustomStringConvertible, Sendable {
    case unknownRotation(found: String, known: [String])
    case unknownPerson(found: String, known: [String])
    case untilNotInFuture(until: Timestamp, now: Timestamp)
    case fromNotBeforeUntil(from: Timestamp, until: Timestamp)
    case tooLong(from: Timestamp, until: Timestamp, maximum: Duration)
    case missingReason
    case reasonTooLong(bytes: Int, maximum: Int)
    case reasonHasControlCharacters

    /// The argument the refusal is about.
    public var argument: String {
        switch self {
        case .unknownRotation: "rotation"
        case .unknownPerson: "person"
        case .fromNotBeforeUntil: "from"
        case .untilNotInFuture, .tooLong: "until"
        case .missingReason, .reasonTooLong, .reasonHasControlCharacters: "reason"
        }
    }

    public var description: String {
        let problem = switch self {
        case .unknownRotation(let found, let known):
            "no rotation \"\(found)\" (known: \(known.joined(separator: ", ")))"
        case .unknownPerson(let found, let known):
            "\"\(found)\" is not a person in the roster (known: \(known.joined(separator: ", ")))"
        case .untilNotInFuture(let until, let now):
            "\(until.rfc3339) is not in the future (now is \(now.rfc3339))"
        case .fromNotBeforeUntil(let from, let until):
            "\(from.rfc3339) is not before until (\(until.rfc3339))"
        case .tooLong(let from, let until, let maximum):
            "\(until.rfc3339) is \(Self.days(until - from)) after from (\(from.rfc3339)); an override lasts at most "
                + "\(DurationText.format(maximum)): change the rotation in the configuration instead"
        case .missingReason:
            "missing; say why (it is shown wherever the override is listed)"
        case .reasonTooLong(let bytes, let maximum):
            "\(bytes) bytes; at most \(maximum) are accepted"
        case .reasonHasControlCharacters:
            "contains control characters (newlines, tabs, escapes); write one plain line"
        }
        return "\(argument): \(problem)"
    }

    /// `90.5 days`, to a tenth (rounded up: just over the limit never reads as the limit).
    static func days(_ d: Duration) -> String {
        let tenths = (d.inSeconds / 8_640).rounded(.up)
        return tenths.isFinite && abs(tenths) < 1e12 ? "\(Int(tenths) / 10).\(abs(Int(tenths)) % 10) days" : "too many days"
    }
}
