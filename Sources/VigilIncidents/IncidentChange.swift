import VigilCore

/// A message the incident manager wants delivered: "tell these people on this channel this text".
///
/// Notifier plugins deliver it later; until then the daemon stores it as a pending delivery in
/// the same transaction as the incident change that caused it.
public struct OutgoingNotification: Sendable, Equatable {
    /// Why it is sent; notifiers may treat pages differently from stakeholder mail.
    public enum Purpose: String, Sendable, Equatable, CaseIterable {
        case page
        case escalation
        case assignment
        case channel
        case statusReminder = "status-reminder"
        case stakeholderUpdate = "stakeholder-update"
        case resolution
        case backlog
        /// The incident's state for a mirror channel (`notifications.mirrors`): opened,
        /// acknowledged, resolved, reopened. Nobody in particular is addressed.
        case update
        /// An action item coming due, or overdue (its owner; the incident commander when overdue).
        case actionItem = "action-item"
        /// Disaster recovery: a plan started, an RTO warning or breach, the recovery report.
        case disasterRecovery = "disaster-recovery"
    }

    public var purpose: Purpose
    /// `email`, `slack`, `pager`, `webhook`, `chat` (the incident channel), …
    public var channel: String
    /// Addresses on that channel (`alice@example.org`, `#inc-2026-0042`).
    public var recipients: [String]
    /// Roster ids of the people addressed (empty for the incident channel).
    public var people: [String]
    public var subject: String
    public var body: String
    /// The one person this reaches on one of their contact methods (nil for a channel message).
    public var person: String?
    /// That person's other methods, in the order they are tried should this one fail.
    public var fallbacks: [ContactMethod]

    public init(purpose: Purpose, channel: String, recipients: [String], people: [String], subject: String,
                body: String, person: String? = nil, fallbacks: [ContactMethod] = []) {
        self.purpose = purpose
        self.channel = channel
        self.recipients = recipients
        self.people = people
        self.subject = subject
        self.body = body
        self.person = person
        self.fallbacks = fallbacks
    }
}

/// Evidence to attach to the incident (signal batches, response metrics).
public struct EvidenceNote: Sendable, Equatable {
    public var source: String
    public var kind: String
    /// JSON or text, as the kind says.
    public var content: String

    public init(source: String, kind: String, content: String) {
        self.source = source
        self.kind = kind
        self.content = content
    }
}

/// A tracked piece of work that outlives the incident (post-mortem, follow-up, backlog).
public struct FollowUpItem: Sendable, Equatable {
    /// `post-mortem`, `follow-up`, `backlog`.
    public var kind: String
    public var title: String
    /// Roster id of the owner, when one is known.
    public var owner: String?
    public var dueAt: Timestamp?

    public init(kind: String, title: String, owner: String? = nil, dueAt: Timestamp? = nil) {
        self.kind = kind
        self.title = title
        self.owner = owner
        self.dueAt = dueAt
    }
}

/// Everything one decision changes: the incident's new value and what happened, to be stored in
/// one transaction before any of it takes effect.
public struct IncidentChange: Sendable, Equatable {
    public var incident: Incident
    /// New timeline entries, in order (the store numbers them).
    public var timeline: [TimelineEntry]
    public var notifications: [OutgoingNotification]
    public var evidence: [EvidenceNote]
    public var followUps: [FollowUpItem]
    /// The public status page must be regenerated once this change is stored.
    public var statusPageChanged: Bool

    public init(incident: Incident, timeline: [TimelineEntry] = [], notifications: [OutgoingNotification] = [],
                evidence: [EvidenceNote] = [], followUps: [FollowUpItem] = [], statusPageChanged: Bool = false) {
        self.incident = incident
        self.timeline = timeline
        self.notifications = notifications
        self.evidence = evidence
        self.followUps = followUps
        self.statusPageChanged = statusPageChanged
    }

    /// Appends a timeline entry for this incident.
    public mutating func record(_ kind: TimelineKind, at time: Timestamp, by actor: String, _ message: String,
                         _ data: [String: String] = [:]) {
        timeline.append(TimelineEntry(incidentID: incident.id, time: time, actor: actor, kind: kind,
                                      message: message, data: data))
    }
}
