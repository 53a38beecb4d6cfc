import VigilCore

/// The documented JSON form of an incident (`vigil incidents show --json`, `list --json`);
/// times are RFC 3339 UTC, keys snake_case on the command line. Fields are only ever added.
public struct IncidentView: Codable, Sendable, Equatable {
    /// The response clock: `running`, `met`, `breached` or `none` (scheduled severities).
    public struct SLA: Codable, Sendable, Equatable {
        public var state: String
        public var deadline: String?
        /// Seconds left (negative once breached); nil once acknowledged or without a deadline.
        public var remainingSeconds: Int?
        /// The severity's response time (`15 minutes`), nil for scheduled.
        public var responseTime: String?
        /// When the breach was recorded.
        public var breachedAt: String?

        public init(state: String, deadline: String? = nil, remainingSeconds: Int? = nil, responseTime: String? = nil,
                    breachedAt: String? = nil) {
            self.state = state
            self.deadline = deadline
            self.remainingSeconds = remainingSeconds
            self.responseTime = responseTime
            self.breachedAt = breachedAt
        }
    }

    /// A step still ahead on the escalation path, and who it would reach.
    public struct EscalationStepView: Codable, Sendable, Equatable {
        public var level: Int
        public var step: String
        public var person: String?
        public var due: String

        public init(level: Int, step: String, person: String? = nil, due: String) {
            self.level = level
            self.step = step
            self.person = person
            self.due = due
        }
    }

    public struct Escalation: Codable, Sendable, Equatable {
        /// The escalation-path row (`On-call Engineer`).
        public var responder: String
        /// The table's cell, as the seed writes it.
        public var path: String
        public var level: Int
        public var escalatedAt: String?
        /// Only while unacknowledged: what happens next and when.
        public var upcoming: [EscalationStepView]

        public init(responder: String, path: String, level: Int, escalatedAt: String? = nil,
                    upcoming: [EscalationStepView]) {
            self.responder = responder
            self.path = path
            self.level = level
            self.escalatedAt = escalatedAt
            self.upcoming = upcoming
        }
    }

    public struct StatusUpdates: Codable, Sendable, Equatable {
        public var cadence: String?
        public var nextDue: String?

        public init(cadence: String? = nil, nextDue: String? = nil) {
            self.cadence = cadence
            self.nextDue = nextDue
        }
    }

    public struct RoleView: Codable, Sendable, Equatable {
        public var role: String
        public var roleName: String
        public var person: String
        public var personName: String?

        public init(role: String, roleName: String, person: String, personName: String? = nil) {
            self.role = role
            self.roleName = roleName
            self.person = person
            self.personName = personName
        }
    }

    public struct NotificationView: Codable, Sendable, Equatable {
        public var id: Int64?
        public var channel: String
        public var recipients: [String]
        public var subject: String
        /// `pending`, `sent`, `failed`.
        public var state: String
        public var attempts: Int
        public var lastError: String?

        public init(id: Int64? = nil, channel: String, recipients: [String], subject: String, state: String,
                    attempts: Int, lastError: String? = nil) {
            self.id = id
            self.channel = channel
            self.recipients = recipients
            self.subject = subject
            self.state = state
            self.attempts = attempts
            self.lastError = lastError
        }
    }

    public struct ActionItemView: Codable, Sendable, Equatable {
        public var id: Int64?
        public var kind: String
        public var title: String
        public var owner: String?
        public var dueAt: String?
        public var state: String
        /// The incident it came from.
        public var incident: String?
        public var category: String?
        public var successCriteria: String?
        public var dependsOn: [Int64]?
        public var trackerUrl: String?
        public var note: String?
        public var createdAt: String?
        public var updatedAt: String?
        public var updatedBy: String?
        /// Past its due date and not settled.
        public var overdue: Bool?

        public init(id: Int64? = nil, kind: String, title: String, owner: String? = nil, dueAt: String? = nil,
                    state: String, incident: String? = nil, category: String? = nil, successCriteria: String? = nil,
                    dependsOn: [Int64]? = nil, trackerUrl: String? = nil, note: String? = nil, createdAt: String? = nil,
                    updatedAt: String? = nil, updatedBy: String? = nil, overdue: Bool? = nil) {
            self.id = id
            self.kind = kind
            self.title = title
            self.owner = owner
            self.dueAt = dueAt
            self.state = state
            self.incident = incident
            self.category = category
            self.successCriteria = successCriteria
            self.dependsOn = dependsOn
            self.trackerUrl = trackerUrl
            self.note = note
            self.createdAt = createdAt
            self.updatedAt = updatedAt
            self.updatedBy = updatedBy
            self.overdue = overdue
        }
    }

    public var id: String
    public var title: String
    public var summary: String
    public var type: String?
    public var severity: String
    public var severityName: String?
    public var state: String
    public var source: String
    public var fingerprint: String?
    public var occurrences: Int
    public var detectedAt: String
    public var createdAt: String
    public var updatedAt: String
    public var lastSeenAt: String
    public var acknowledgedAt: String?
    public var resolvedAt: String?
    public var closedAt: String?
    public var sla: SLA
    public var containmentCategory: String?
    public var runbook: String?
    public var escalationLevel: Int
    public var escalation: Escalation?
    public var classification: Classification?
    /// Role id → person id.
    public var roles: [String: String]
    public var roleDetails: [RoleView]?
    public var labels: [String: String]
    public var channel: String?
    public var backlog: Bool?
    public var statusUpdates: StatusUpdates?
    public var flapCount: Int?
    public var conditionClearedAt: String?
    public var postMortemDueAt: String?
    public var resolution: IncidentResolution?
    public var timeline: [TimelineView]?
    public var notifications: [NotificationView]?
    public var actionItems: [ActionItemView]?
    /// What was collected for the incident (`incidents.show` only): logs, snapshots, outputs of
    /// containment actions, each with its SHA-256.
    public var evidence: [EvidenceView]?
    /// The incident's latest recovery watch (`incidents.show` only; `incidents.recovery_watch`).
    public var recoveryWatch: RecoveryWatchView?

    public init(id: String, title: String, summary: String = "", type: String? = nil, severity: String,
                severityName: String? = nil, state: String, source: String, fingerprint: String? = nil,
                occurrences: Int = 1, detectedAt: String, createdAt: String, updatedAt: String, lastSeenAt: String,
                acknowledgedAt: String? = nil, resolvedAt: String? = nil, closedAt: String? = nil, sla: SLA,
                containmentCategory: String? = nil, runbook: String? = nil, escalationLevel: Int = 0,
                escalation: Escalation? = nil, classification: Classification? = nil, roles: [String: String] = [:],
                roleDetails: [RoleView]? = nil, labels: [String: String] = [:], channel: String? = nil,
                backlog: Bool? = nil, statusUpdates: StatusUpdates? = nil, flapCount: Int? = nil,
                conditionClearedAt: String? = nil, postMortemDueAt: String? = nil,
                resolution: IncidentResolution? = nil, timeline: [TimelineView]? = nil,
                notifications: [NotificationView]? = nil, actionItems: [ActionItemView]? = nil) {
        self.id = id
        self.title = title
        self.summary = summary
        self.type = type
        self.severity = severity
        self.severityName = severityName
        self.state = state
        self.source = source
        self.fingerprint = fingerprint
        self.occurrences = occurrences
        self.detectedAt = detectedAt
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.lastSeenAt = lastSeenAt
        self.acknowledgedAt = acknowledgedAt
        self.resolvedAt = resolvedAt
        self.closedAt = closedAt
        self.sla = sla
        self.containmentCategory = containmentCategory
        self.runbook = runbook
        self.escalationLevel = escalationLevel
        self.escalation = escalation
        self.classification = classification
        self.roles = roles
        self.roleDetails = roleDetails
        self.labels = labels
        self.channel = channel
        self.backlog = backlog
        self.statusUpdates = statusUpdates
        self.flapCount = flapCount
        self.conditionClearedAt = conditionClearedAt
        self.postMortemDueAt = postMortemDueAt
        self.resolution = resolution
        self.timeline = timeline
        self.notifications = notifications
        self.actionItems = actionItems
    }
}

/// A resolved incident's recovery watch: the lowered rule, until when, and how it ended.
public struct RecoveryWatchView: Codable, Sendable, Equatable {
    /// `watching`, `following` (caught a recurrence, runs until it clears), `recurred`, `expired`, `ended`.
    public var state: String
    public var rule: String
    public var expression: String
    public var original: String
    public var startedAt: String
    public var until: String
    public var endedAt: String?

    public init(_ w: RecoveryWatch, now: Timestamp) {
        state = w.outcome.map { $0 == .recurred && w.endedAt == nil ? "following" : $0.rawValue }
            ?? (now < w.until ? "watching" : "expired")
        rule = w.ruleID
        expression = w.expression
        original = w.original
        startedAt = w.startedAt.rfc3339
        until = w.until.rfc3339
        endedAt = w.endedAt?.rfc3339
    }
}

/// One piece of evidence kept with an incident.
public struct EvidenceView: Codable, Sendable, Equatable {
    public var time: String
    public var source: String
    public var kind: String
    public var content: String
    public var sha256: String?

    public init(time: String, source: String, kind: String, content: String, sha256: String? = nil) {
        self.time = time
        self.source = source
        self.kind = kind
        self.content = content
        self.sha256 = sha256
    }
}

public struct TimelineView: Codable, Sendable, Equatable {
    public var sequence: Int
    public var time: String
    public var actor: String
    public var kind: String
    public var message: String
    public var data: [String: String]

    public init(sequence: Int, time: String, actor: String, kind: String, message: String, data: [String: String]) {
        self.sequence = sequence
        self.time = time
        self.actor = actor
        self.kind = kind
        self.message = message
        self.data = data
    }
}

/// The documented JSON form of `vigil oncall`: who holds each role at one moment.
public struct OnCallView: Codable, Sendable, Equatable {
    public struct Shift: Codable, Sendable, Equatable {
        public var role: String
        public var roleName: String
        public var person: String
        public var personName: String
        public var contacts: [String: String]
        public var skills: [String]
        public var rotation: String
        public var from: String
        public var until: String
        public var override: Bool

        public init(role: String, roleName: String, person: String, personName: String, contacts: [String: String],
                    skills: [String], rotation: String, from: String, until: String, override: Bool) {
            self.role = role
            self.roleName = roleName
            self.person = person
            self.personName = personName
            self.contacts = contacts
            self.skills = skills
            self.rotation = rotation
            self.from = from
            self.until = until
            self.override = override
        }
    }

    public var at: String
    public var component: String?
    public var shifts: [Shift]

    public init(at: String, component: String? = nil, shifts: [Shift]) {
        self.at = at
        self.component = component
        self.shifts = shifts
    }
}

/// A runbook for `vigil runbooks list|show` (`--json`), with an incident's progress when shown
/// for one.
public struct RunbookView: Codable, Sendable {
    public struct StepView: Codable, Sendable {
        public var number: Int
        public var kind: String
        public var text: String
        /// With an incident: whether it is done, by whom, when, with what note.
        public var done: Bool?
        public var by: String?
        public var at: String?
        public var note: String?

        public init(number: Int, kind: String, text: String, done: Bool? = nil, by: String? = nil, at: String? = nil,
                    note: String? = nil) {
            self.number = number
            self.kind = kind
            self.text = text
            self.done = done
            self.by = by
            self.at = at
            self.note = note
        }
    }

    public var name: String
    public var title: String
    public var incidentTypes: [String]
    public var file: String
    public var incident: String?
    public var done: Int?
    public var next: Int?
    public var steps: [StepView]

    public init(name: String, title: String, incidentTypes: [String], file: String, incident: String? = nil,
                done: Int? = nil, next: Int? = nil, steps: [StepView]) {
        self.name = name
        self.title = title
        self.incidentTypes = incidentTypes
        self.file = file
        self.incident = incident
        self.done = done
        self.next = next
        self.steps = steps
    }
}
