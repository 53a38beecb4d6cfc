import Foundation
import VigilCore
import VigilMatchers

/// Where a silence stands at a given time (Alertmanager's three states).
public enum SilenceState: String, Sendable, Codable, CaseIterable {
    /// Starts in the future.
    case pending
    /// Mutes what it matches now.
    case active
    /// Ended (or was expired); kept for the record.
    case expired
}

/// A silence: while active, it mutes paging and automated containment for every incident (and
/// alert) whose labels its matchers all match. The fields are Alertmanager's.
public struct Silence: Sendable, Equatable, Identifiable {
    public var id: UUID
    public var matchers: LabelMatchers
    public var startsAt: Timestamp
    public var endsAt: Timestamp
    public var updatedAt: Timestamp
    public var createdBy: String
    public var comment: String

    public init(id: UUID, matchers: LabelMatchers, startsAt: Timestamp, endsAt: Timestamp, updatedAt: Timestamp,
                createdBy: String, comment: String) {
        self.id = id
        self.matchers = matchers
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.updatedAt = updatedAt
        self.createdBy = createdBy
        self.comment = comment
    }

    /// Pending before `startsAt`, expired from `endsAt` on, active in between. (Alertmanager counts
    /// the `endsAt` instant as active; Vigil does not, so a silence expired "now" is expired at once
    /// and a second request in the same instant cannot expire it again.)
    public func state(at now: Timestamp) -> SilenceState {
        if now < startsAt { return .pending }
        if now >= endsAt { return .expired }
        return .active
    }

    /// Whether the silence mutes `labels` at `now`.
    public func mutes(_ labels: [String: String], at now: Timestamp) -> Bool {
        state(at: now) == .active && matchers.matches(labels)
    }

    /// The id as Alertmanager prints it (lowercase).
    public var idText: String { id.uuidString.lowercased() }
}

/// One matcher as a client sends it, before it is checked (`isRegex`/`isEqual` or an operator).
public struct MatcherInput: Sendable, Equatable, Codable {
    public var name: String
    public var value: String
    public var type: LabelMatcher.MatchType

    public init(name: String, value: String, type: LabelMatcher.MatchType) {
        self.name = name
        self.value = value
        self.type = type
    }
}

/// A silence as a client asks for it: new when `id` is nil, else an update of that silence.
public struct SilenceDraft: Sendable, Equatable {
    public var id: UUID?
    /// An id that is not a UUID was given: Alertmanager answers "silence not found".
    public var unparsableID: String?
    public var matchers: [MatcherInput]
    public var startsAt: Timestamp
    public var endsAt: Timestamp
    public var createdBy: String
    public var comment: String

    public init(id: UUID? = nil, unparsableID: String? = nil, matchers: [MatcherInput], startsAt: Timestamp,
                endsAt: Timestamp, createdBy: String, comment: String) {
        self.id = id
        self.unparsableID = unparsableID
        self.matchers = matchers
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.createdBy = createdBy
        self.comment = comment
    }
}

/// Why a silence request was refused. ``message`` is Alertmanager's text; ``isNotFound`` maps to
/// HTTP 404, everything else to 400.
public struct SilenceError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var isNotFound: Bool

    public init(_ message: String, notFound: Bool = false) {
        self.message = message
        self.isNotFound = notFound
    }

    public var description: String { message }

    public static let notFound = SilenceError("silence not found", notFound: true)
}
