import Foundation
import VigilCore
import VigilMatchers

/// The set of silences and Alertmanager's rules for changing it, without I/O: a caller plans a
/// change (``plan(_:now:newID:)``, ``planExpiry(_:now:)``), stores it, and only then applies it
/// (``apply(_:)``), so nothing is answered or acted on before it is durable.
public struct SilenceBook: Sendable {
    /// Pending and active silences allowed at once (a bound on hostile clients; Alertmanager has none).
    public static let maxLive = 10_000
    /// Silences kept in all (expired ones included, until their retention ends).
    public static let maxStored = 50_000
    /// Longest `createdBy`, in bytes.
    public static let maxCreatedByBytes = 1024
    /// Longest `comment`, in bytes.
    public static let maxCommentBytes = 16 * 1024
    /// How long an expired silence is kept (Alertmanager's `--data.retention` default, 120 h).
    public static let retention: Duration = .seconds(120 * 3600)

    public private(set) var silences: [UUID: Silence] = [:]

    public init(_ silences: [Silence] = []) {
        for s in silences { self.silences[s.id] = s }
    }

    /// The rows one request writes: the silence it creates or updates, and the one it expires
    /// when an edit cannot be made in place.
    public struct Change: Sendable, Equatable {
        public var silence: Silence
        public var expired: Silence?
        /// True when `silence` is new (a fresh id), false when an existing one was updated.
        public var created: Bool
    }

    /// Checks `draft` as Alertmanager's `POST /api/v2/silences` does, in its order, and says what
    /// to store. An update keeps its id only when the matchers are unchanged and the times may be
    /// changed in its state (`canUpdate`); otherwise the old silence is expired and a new id issued.
    /// Unlike Alertmanager, an invalid replacement does not expire the silence it would replace.
    public func plan(_ draft: SilenceDraft, now: Timestamp, newID: UUID) throws(SilenceError) -> Change {
        if draft.startsAt >= draft.endsAt {
            throw SilenceError("Failed to create silence: start time must be before end time")
        }
        if draft.endsAt < now { throw SilenceError("Failed to create silence: end time can't be in the past") }
        var previous: Silence?
        if draft.unparsableID != nil { throw .notFound }
        if let id = draft.id {
            guard let found = silences[id] else { throw .notFound }
            previous = found
        }
        let matchers = try Self.validate(draft)
        var silence = Silence(id: draft.id ?? newID, matchers: matchers, startsAt: draft.startsAt, endsAt: draft.endsAt,
                              updatedAt: now, createdBy: draft.createdBy, comment: draft.comment)
        if let previous, Self.canUpdate(previous, silence, now: now) {
            return Change(silence: silence, expired: nil, created: false)
        }
        let live = silences.values.lazy.filter { $0.state(at: now) != .expired }.count
        guard live < Self.maxLive || (previous.map { $0.state(at: now) != .expired } ?? false) else {
            throw SilenceError("silence invalid: \(live) silences are pending or active; at most \(Self.maxLive) are kept")
        }
        guard silences.count < Self.maxStored else {
            throw SilenceError("silence invalid: \(silences.count) silences are stored; at most \(Self.maxStored) are kept "
                + "(expired ones are forgotten \(Self.retention.components.seconds / 3600) hours after they end)")
        }
        silence.id = newID
        if silence.startsAt < now { silence.startsAt = now }
        let expired = previous.flatMap { $0.state(at: now) == .expired ? nil : Self.expiring($0, now: now) }
        return Change(silence: silence, expired: expired, created: true)
    }

    /// The matchers of `draft`, or Alertmanager's `silence invalid: …` error.
    public static func validate(_ draft: SilenceDraft) throws(SilenceError) -> LabelMatchers {
        guard !draft.matchers.isEmpty else { throw SilenceError("silence invalid: at least one matcher required") }
        guard draft.matchers.count <= LabelMatchers.maxCount else {
            throw SilenceError("silence invalid: \(draft.matchers.count) matchers; at most \(LabelMatchers.maxCount) are accepted")
        }
        var out: [LabelMatcher] = []
        for (i, m) in draft.matchers.enumerated() {
            do { out.append(try LabelMatcher(name: m.name, type: m.type, value: m.value)) } catch {
                throw SilenceError("silence invalid: invalid label matcher \(i): \(error)")
            }
        }
        if out.allSatisfy(matchesOnlyEmpty) {
            throw SilenceError("silence invalid: at least one matcher must not match the empty string")
        }
        if draft.createdBy.utf8.count > maxCreatedByBytes {
            throw SilenceError("silence invalid: createdBy is \(draft.createdBy.utf8.count) bytes; at most \(maxCreatedByBytes) are accepted")
        }
        if draft.comment.utf8.count > maxCommentBytes {
            throw SilenceError("silence invalid: comment is \(draft.comment.utf8.count) bytes; at most \(maxCommentBytes) are accepted")
        }
        return LabelMatchers(out)
    }

    /// Alertmanager's `matchesEmpty` check: `=""` and a regex matching "" count; negative matchers
    /// never do (Alertmanager accepts a silence of only `a!~"b.*"`, though it mutes sets without `a`).
    public static func matchesOnlyEmpty(_ m: LabelMatcher) -> Bool {
        switch m.type {
        case .equal, .regexp: return m.matchesEmpty
        case .notEqual, .notRegexp: return false
        }
    }

    /// Alertmanager's `canUpdate`: same matchers; an active silence keeps its start and may not
    /// end in the past; a pending one may not start in the past; an expired one never changes.
    static func canUpdate(_ a: Silence, _ b: Silence, now: Timestamp) -> Bool {
        guard a.matchers == b.matchers else { return false }
        switch a.state(at: now) {
        case .active: return b.startsAt == a.startsAt && !(b.endsAt < now)
        case .pending: return !(b.startsAt < now)
        case .expired: return false
        }
    }

    /// The silence as expiring it now leaves it (a pending one ends before it began).
    static func expiring(_ s: Silence, now: Timestamp) -> Silence {
        var out = s
        if s.state(at: now) == .pending { out.startsAt = now }
        out.endsAt = now
        out.updatedAt = now
        return out
    }

    /// What expiring `id` stores: nil when it is already expired (Alertmanager answers 200 and
    /// changes nothing); ``SilenceError/notFound`` for an unknown id.
    public func planExpiry(_ id: UUID, now: Timestamp) throws(SilenceError) -> Silence? {
        guard let s = silences[id] else { throw .notFound }
        return s.state(at: now) == .expired ? nil : Self.expiring(s, now: now)
    }

    /// Records stored rows.
    public mutating func apply(_ stored: [Silence]) {
        for s in stored { silences[s.id] = s }
    }

    /// Forgets silences that ended more than ``retention`` before `now`; returns their ids.
    public mutating func purge(now: Timestamp) -> [UUID] {
        let old = silences.values.filter { now - $0.endsAt > Self.retention }.map(\.id)
        for id in old { silences[id] = nil }
        return old
    }

    /// Every silence, newest update first.
    public var all: [Silence] { silences.values.sorted { ($0.updatedAt, $0.idText) > ($1.updatedAt, $1.idText) } }

    /// The active silences that mute `labels` at `now`, oldest start first.
    public func muting(_ labels: [String: String], at now: Timestamp) -> [Silence] {
        silences.values.filter { $0.mutes(labels, at: now) }.sorted { ($0.startsAt, $0.idText) < ($1.startsAt, $1.idText) }
    }
}
