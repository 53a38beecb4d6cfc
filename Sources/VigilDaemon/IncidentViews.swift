import VigilCore
import VigilIncidents
import VigilStore

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
    }

    /// A step still ahead on the escalation path, and who it would reach.
    public struct EscalationStepView: Codable, Sendable, Equatable {
        public var level: Int
        public var step: String
        public var person: String?
        public var due: String
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
    }

    public struct StatusUpdates: Codable, Sendable, Equatable {
        public var cadence: String?
        public var nextDue: String?
    }

    public struct RoleView: Codable, Sendable, Equatable {
        public var role: String
        public var roleName: String
        public var person: String
        public var personName: String?
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
    }

    public struct ActionItemView: Codable, Sendable, Equatable {
        public var id: Int64?
        public var kind: String
        public var title: String
        public var owner: String?
        public var dueAt: String?
        public var state: String
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

    /// The view with only the ladder known (no roster names, escalation targets from an empty policy).
    public init(_ i: Incident, ladder: SeverityLadder, now: Timestamp, timeline: [TimelineEntry]? = nil) {
        self.init(i, policy: IncidentPolicy(ladder: ladder), now: now, timeline: timeline)
    }

    public init(_ i: Incident, policy: IncidentPolicy, now: Timestamp, timeline: [TimelineEntry]? = nil,
                notifications: [NotificationRecord]? = nil, actionItems: [ActionItemRecord]? = nil) {
        let ladder = policy.ladder
        id = i.id
        title = i.title
        summary = i.summary
        type = i.type
        severity = i.severity.code
        severityName = ladder.level(of: i.severity)?.name
        state = i.state.rawValue
        source = i.source
        fingerprint = i.fingerprint
        occurrences = i.occurrences
        detectedAt = i.detectedAt.rfc3339
        createdAt = i.createdAt.rfc3339
        updatedAt = i.updatedAt.rfc3339
        lastSeenAt = i.lastSeenAt.rfc3339
        acknowledgedAt = i.acknowledgedAt?.rfc3339
        resolvedAt = i.resolvedAt?.rfc3339
        closedAt = i.closedAt?.rfc3339
        let clock = ResponseClock(i, now: now)
        sla = SLA(state: clock.state.rawValue, deadline: clock.deadline?.rfc3339,
                  remainingSeconds: clock.remaining.map { Int($0.inSeconds.rounded(.down)) },
                  responseTime: ladder.level(of: i.severity)?.responseTime.map(DurationText.format),
                  breachedAt: i.slaBreachedAt?.rfc3339)
        containmentCategory = i.containmentCategory
        runbook = i.runbook
        escalationLevel = i.escalationLevel
        let plan = EscalationPlan(policy: policy, incident: i)
        let schedule = OnCallSchedule(roster: policy.roster)
        let component = i.classification?.affectedComponents.first
        escalation = Escalation(
            responder: RoleNames.display(i.responderRole, policy: policy), path: plan.describe(policy: policy),
            level: i.escalationLevel, escalatedAt: i.escalatedAt?.rfc3339,
            upcoming: plan.upcoming(for: i).map { level, step, due in
                var person: String?
                if case .role(let r) = step { person = schedule.shift(role: r, component: component, at: due)?.person.id }
                return EscalationStepView(level: level, step: EscalationPlan.describe(step, policy: policy),
                                          person: person, due: due.rfc3339)
            })
        classification = i.classification
        roles = i.roles
        roleDetails = i.roles.sorted { $0.key < $1.key }.map {
            RoleView(role: $0.key, roleName: RoleNames.display($0.key, policy: policy), person: $0.value,
                     personName: schedule.person($0.value)?.name)
        }
        labels = i.labels
        channel = i.channel
        backlog = i.backlog
        statusUpdates = StatusUpdates(cadence: ladder.level(of: i.severity)?.statusUpdateInterval.map(DurationText.format),
                                      nextDue: i.nextStatusUpdateAt?.rfc3339)
        flapCount = i.flapCount
        conditionClearedAt = i.conditionClearedAt?.rfc3339
        postMortemDueAt = i.postMortemDueAt?.rfc3339
        resolution = i.resolution
        self.timeline = timeline?.map(TimelineView.init)
        self.notifications = notifications?.map {
            NotificationView(id: $0.id, channel: $0.channel, recipients: $0.recipients, subject: $0.subject,
                             state: $0.state, attempts: $0.attempts, lastError: $0.lastError)
        }
        self.actionItems = actionItems?.map {
            ActionItemView(id: $0.id, kind: $0.kind, title: $0.title, owner: $0.owner,
                           dueAt: $0.dueAt.map { Timestamp(nanoseconds: $0).rfc3339 }, state: $0.state)
        }
    }
}

/// The documented JSON form of one timeline entry.
public struct TimelineView: Codable, Sendable, Equatable {
    public var sequence: Int
    public var time: String
    public var actor: String
    public var kind: String
    public var message: String
    public var data: [String: String]

    public init(_ e: TimelineEntry) {
        sequence = e.sequence
        time = e.time.rfc3339
        actor = e.actor
        kind = e.kind.rawValue
        message = e.message
        data = e.data
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
    }

    public var at: String
    public var component: String?
    public var shifts: [Shift]

    public init(at: Timestamp, component: String?, shifts: [OnCallShift], policy: IncidentPolicy) {
        self.at = at.rfc3339
        self.component = component
        self.shifts = shifts.map {
            Shift(role: $0.role, roleName: RoleNames.display($0.role, policy: policy), person: $0.person.id,
                  personName: $0.person.name, contacts: $0.person.contacts, skills: $0.person.skills,
                  rotation: $0.rotation, from: $0.from.rfc3339, until: $0.until.rfc3339, override: $0.isOverride)
        }
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
    }

    public var name: String
    public var title: String
    public var incidentTypes: [String]
    public var file: String
    public var incident: String?
    public var done: Int?
    public var next: Int?
    public var steps: [StepView]

    public init(_ r: Runbook, incident: String? = nil, progress: RunbookProgress? = nil) {
        name = r.name
        title = r.title
        incidentTypes = r.incidentTypes
        file = r.file
        self.incident = incident
        done = progress?.doneCount
        next = progress?.nextStep
        steps = r.steps.enumerated().map { i, s in
            let tick = progress?.ticks[i + 1]
            let text = switch s { case .action(let name): name; case .check(let text): text }
            return StepView(number: i + 1, kind: s.kind, text: text, done: progress.map { _ in tick?.done == true },
                            by: tick?.actor, at: tick?.time.rfc3339, note: tick?.note)
        }
    }
}
