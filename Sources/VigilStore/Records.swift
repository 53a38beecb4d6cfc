import Foundation
import GRDB
import VigilCore

/// An incident row; `Incident` is the value the rest of Vigil uses.
struct IncidentRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "incident"
    var id: String
    var title: String
    var summary: String
    var type: String?
    var severityCode: String
    var severityRank: Int
    var state: String
    var source: String
    var fingerprint: String?
    var occurrences: Int
    var detectedAt: Int64
    var createdAt: Int64
    var updatedAt: Int64
    var lastSeenAt: Int64
    var acknowledgedAt: Int64?
    var resolvedAt: Int64?
    var closedAt: Int64?
    var responseDeadline: Int64?
    var containmentCategory: String?
    var runbook: String?
    var escalationLevel: Int
    var classification: Classification?
    var roles: [String: String]
    var labels: [String: String]
    var extra: [String: String]
    var responderRole: String
    var escalatedAt: Int64?
    var slaBreachedAt: Int64?
    var channel: String?
    var nextStatusUpdateAt: Int64?
    var backlog: Bool
    var conditionClearedAt: Int64?
    var flapCount: Int
    var postMortemDueAt: Int64?
    var resolution: IncidentResolution?

    init(_ i: Incident) {
        id = i.id
        title = i.title
        summary = i.summary
        type = i.type
        severityCode = i.severity.code
        severityRank = i.severity.rank
        state = i.state.rawValue
        source = i.source
        fingerprint = i.fingerprint
        occurrences = i.occurrences
        detectedAt = i.detectedAt.nanoseconds
        createdAt = i.createdAt.nanoseconds
        updatedAt = i.updatedAt.nanoseconds
        lastSeenAt = i.lastSeenAt.nanoseconds
        acknowledgedAt = i.acknowledgedAt?.nanoseconds
        resolvedAt = i.resolvedAt?.nanoseconds
        closedAt = i.closedAt?.nanoseconds
        responseDeadline = i.responseDeadline?.nanoseconds
        containmentCategory = i.containmentCategory
        runbook = i.runbook
        escalationLevel = i.escalationLevel
        classification = i.classification
        roles = i.roles
        labels = i.labels
        extra = [:]
        responderRole = i.responderRole
        escalatedAt = i.escalatedAt?.nanoseconds
        slaBreachedAt = i.slaBreachedAt?.nanoseconds
        channel = i.channel
        nextStatusUpdateAt = i.nextStatusUpdateAt?.nanoseconds
        backlog = i.backlog
        conditionClearedAt = i.conditionClearedAt?.nanoseconds
        flapCount = i.flapCount
        postMortemDueAt = i.postMortemDueAt?.nanoseconds
        resolution = i.resolution
    }

    func incident() throws -> Incident {
        guard let st = IncidentState(rawValue: state) else {
            throw StoreError.corruptRow(table: "incident", id: id, reason: "unknown state \"\(state)\"")
        }
        var i = Incident(id: id, title: title, summary: summary, type: type,
                         severity: Severity(code: severityCode, rank: severityRank), state: st, source: source,
                         fingerprint: fingerprint, occurrences: occurrences,
                         detectedAt: Timestamp(nanoseconds: detectedAt),
                         createdAt: Timestamp(nanoseconds: createdAt),
                         responseDeadline: responseDeadline.map(Timestamp.init(nanoseconds:)),
                         containmentCategory: containmentCategory, runbook: runbook, classification: classification,
                         roles: roles, labels: labels, escalationLevel: escalationLevel)
        i.updatedAt = Timestamp(nanoseconds: updatedAt)
        i.lastSeenAt = Timestamp(nanoseconds: lastSeenAt)
        i.acknowledgedAt = acknowledgedAt.map(Timestamp.init(nanoseconds:))
        i.resolvedAt = resolvedAt.map(Timestamp.init(nanoseconds:))
        i.closedAt = closedAt.map(Timestamp.init(nanoseconds:))
        i.responderRole = responderRole
        i.escalatedAt = escalatedAt.map(Timestamp.init(nanoseconds:))
        i.slaBreachedAt = slaBreachedAt.map(Timestamp.init(nanoseconds:))
        i.channel = channel
        i.nextStatusUpdateAt = nextStatusUpdateAt.map(Timestamp.init(nanoseconds:))
        i.backlog = backlog
        i.conditionClearedAt = conditionClearedAt.map(Timestamp.init(nanoseconds:))
        i.flapCount = flapCount
        i.postMortemDueAt = postMortemDueAt.map(Timestamp.init(nanoseconds:))
        i.resolution = resolution
        return i
    }
}

struct TimelineRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "timeline"
    var incidentID: String
    var sequence: Int
    var time: Int64
    var actor: String
    var kind: String
    var message: String
    var data: [String: String]

    init(_ e: TimelineEntry) {
        incidentID = e.incidentID
        sequence = e.sequence
        time = e.time.nanoseconds
        actor = e.actor
        kind = e.kind.rawValue
        message = e.message
        data = e.data
    }

    func entry() -> TimelineEntry {
        TimelineEntry(incidentID: incidentID, sequence: sequence, time: Timestamp(nanoseconds: time), actor: actor,
                      kind: TimelineKind(rawValue: kind) ?? .system, message: message, data: data)
    }
}

/// A plugin's stored identity and administrative state.
public struct PluginRecord: Codable, FetchableRecord, PersistableRecord, Sendable, Equatable {
    public static let databaseTableName = "plugin"
    public var name: String
    /// The uid (and gid) the plugin always runs as.
    public var uid: Int64
    public var enabled: Bool
    public var state: String
    public var quarantineReason: String?
    public var quarantinedAt: Int64?
    public var restarts: Int
    public var updatedAt: Int64

    public init(name: String, uid: Int64, enabled: Bool, state: String, quarantineReason: String?, quarantinedAt: Int64?,
                restarts: Int, updatedAt: Int64) {
        self.name = name
        self.uid = uid
        self.enabled = enabled
        self.state = state
        self.quarantineReason = quarantineReason
        self.quarantinedAt = quarantinedAt
        self.restarts = restarts
        self.updatedAt = updatedAt
    }
}

/// A notification waiting for (or done with) delivery; pending ones survive restarts.
public struct NotificationRecord: Codable, FetchableRecord, MutablePersistableRecord, Sendable, Equatable {
    public static let databaseTableName = "notification"
    public var id: Int64?
    public var incidentID: String?
    public var createdAt: Int64
    public var channel: String
    public var recipients: [String]
    /// The roster ids of the people it is for (empty for a channel or a group address).
    public var people: [String]
    public var subject: String
    public var body: String
    /// `pending`, `sent`, `failed`, `silenced` (muted by a silence or maintenance window; never delivered).
    public var state: String
    public var attempts: Int
    public var nextAttemptAt: Int64?
    public var lastError: String?
    /// Why it is sent (`page`, `escalation`, `resolution`, `update`, …; `OutgoingNotification.Purpose`);
    /// nil for notifications stored before purposes were.
    public var purpose: String?
    /// The roster id of the one person it tries to reach on one of their contact methods; nil
    /// for a channel or group message (which has no other method to fall back to).
    public var person: String?
    /// That person's methods still to try, in order, should this one fail: the first is queued
    /// (and the list moves to it) when this one fails for good or after `fallback_after` attempts.
    public var fallbacks: [ContactMethod]
    /// The id of the first notification of the fallback chain this one belongs to; nil for the
    /// first itself and for notifications that fall back from nothing.
    public var chain: Int64?

    public init(id: Int64? = nil, incidentID: String?, createdAt: Timestamp, channel: String, recipients: [String],
                people: [String] = [], subject: String, body: String, state: String = "pending", attempts: Int = 0,
                nextAttemptAt: Timestamp? = nil, lastError: String? = nil, purpose: String? = nil,
                person: String? = nil, fallbacks: [ContactMethod] = [], chain: Int64? = nil) {
        self.id = id
        self.incidentID = incidentID
        self.createdAt = createdAt.nanoseconds
        self.channel = channel
        self.recipients = recipients
        self.people = people
        self.subject = subject
        self.body = body
        self.state = state
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt?.nanoseconds
        self.lastError = lastError
        self.purpose = purpose
        self.person = person
        self.fallbacks = fallbacks
        self.chain = chain
    }

    /// The id every notification of its fallback chain shares (its first one's).
    public var chainRoot: Int64? { chain ?? id }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// A piece of evidence attached to an incident (breach details, logs, command output).
public struct EvidenceRecord: Codable, FetchableRecord, MutablePersistableRecord, Sendable, Equatable {
    public static let databaseTableName = "evidence"
    public var id: Int64?
    public var incidentID: String
    public var time: Int64
    public var source: String
    public var kind: String
    public var content: String
    public var sha256: String?

    public init(incidentID: String, time: Timestamp, source: String, kind: String, content: String,
                sha256: String? = nil) {
        self.incidentID = incidentID
        self.time = time.nanoseconds
        self.source = source
        self.kind = kind
        self.content = content
        self.sha256 = sha256
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// A follow-up or improvement item (seed 000 "Improvement Tracking").
public struct ActionItemRecord: Codable, FetchableRecord, MutablePersistableRecord, Sendable, Equatable {
    public static let databaseTableName = "actionItem"
    public var id: Int64?
    public var incidentID: String?
    /// `follow-up`, `post-mortem`, `improvement`.
    public var kind: String
    public var title: String
    public var owner: String?
    public var dueAt: Int64?
    /// An ``ActionItemState`` (`open`, `in-progress`, `done`, `verified`, `dropped`).
    public var state: String
    public var createdAt: Int64
    /// An ``ActionItemCategory`` (`prevent`, `detect`, `mitigate`, `process`).
    public var category: String?
    /// How to tell it worked ("no disk-full page in 30 days").
    public var successCriteria: String?
    /// Ids of the items that must be settled before this one is done.
    public var dependsOn: [Int64] = []
    /// The issue in a tracker that carries the work.
    public var trackerURL: String?
    /// The last change's note (why it was dropped, what was checked).
    public var note: String?
    public var updatedAt: Int64?
    public var updatedBy: String?
    /// When its owner was reminded that it comes due; when it was escalated as overdue.
    public var remindedAt: Int64?
    public var escalatedAt: Int64?

    public init(incidentID: String?, kind: String, title: String, owner: String? = nil, dueAt: Timestamp? = nil,
                state: String = "open", createdAt: Timestamp) {
        self.incidentID = incidentID
        self.kind = kind
        self.title = title
        self.owner = owner
        self.dueAt = dueAt?.nanoseconds
        self.state = state
        self.createdAt = createdAt.nanoseconds
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// Store failures, named for the operator.
public enum StoreError: Error, CustomStringConvertible, Sendable {
    case corruptRow(table: String, id: String, reason: String)
    case notFound(what: String, id: String)
    case idRangeExhausted(range: ClosedRange<UInt32>)
    case conflict(String)
    /// The write gate (enable_read_only_mode) refuses non-incident writes.
    case readOnly(String)

    public var description: String {
        switch self {
        case .corruptRow(let table, let id, let reason): "corrupt row \(id) in \(table): \(reason)"
        case .notFound(let what, let id): "no \(what) \(id)"
        case .idRangeExhausted(let r): "every plugin id in \(r.lowerBound)-\(r.upperBound) is taken"
        case .conflict(let m): m
        case .readOnly(let what): "the store is read-only except incident records (enable_read_only_mode); not written: \(what)"
        }
    }
}
