/// Why an incident has the severity, team and SLA it has (seed 000 `classify_incident`).
public struct Classification: Codable, Sendable, Equatable {
    /// `none`, `minor`, `major`, `critical`.
    public var impact: String?
    /// `individual`, `group`, `all`.
    public var userScope: String?
    /// `none`, `degraded`, `partial outage`, `complete outage`.
    public var serviceImpact: String?
    /// Components the incident touches (`plugin system`, `eventbus`, …).
    public var affectedComponents: [String]
    /// Roles or teams to mobilise first.
    public var initialTeam: [String]
    /// Written reasoning, one sentence per factor, stored with the incident.
    public var rationale: [String]
    /// Security implications were detected: the security engineer joins the team.
    public var security: Bool?
    /// Data-integrity concerns were detected (corruption, loss, breach).
    public var dataIntegrity: Bool?
    /// Users see the problem, so the status page shows the incident.
    public var userImpacting: Bool?
    /// The severity's team mobilisation (`Full incident response team`, …).
    public var mobilisation: String?

    public init(impact: String? = nil, userScope: String? = nil, serviceImpact: String? = nil,
                affectedComponents: [String] = [], initialTeam: [String] = [], rationale: [String] = [],
                security: Bool? = nil, dataIntegrity: Bool? = nil, userImpacting: Bool? = nil,
                mobilisation: String? = nil) {
        self.impact = impact
        self.userScope = userScope
        self.serviceImpact = serviceImpact
        self.affectedComponents = affectedComponents
        self.initialTeam = initialTeam
        self.rationale = rationale
        self.security = security
        self.dataIntegrity = dataIntegrity
        self.userImpacting = userImpacting
        self.mobilisation = mobilisation
    }
}

/// How an incident was resolved (seed 000 `resolve_incident`): verified, explained, followed up.
public struct IncidentResolution: Codable, Sendable, Equatable {
    /// How the fix was verified ("error rate back under 0.1% for 30 minutes").
    public var verification: String
    /// What was done, in a sentence people outside the team understand.
    public var summary: String
    /// The root cause in plain words, when known.
    public var rootCause: String?
    /// Key actions taken to resolve it.
    public var actions: [String]
    public var resolvedBy: String
    /// Why it was not an incident, when it was closed as a false positive (`vigil incidents
    /// dismiss`); nil for a real incident.
    public var falsePositive: String?

    public init(verification: String, summary: String, rootCause: String? = nil, actions: [String] = [],
                resolvedBy: String, falsePositive: String? = nil) {
        self.falsePositive = falsePositive
        self.verification = verification
        self.summary = summary
        self.rootCause = rootCause
        self.actions = actions
        self.resolvedBy = resolvedBy
    }
}

/// One incident, as stored and as shown to operators.
public struct Incident: Codable, Sendable, Equatable, Identifiable {
    /// Human-friendly and unique: `INC-2026-0042`.
    public var id: String
    public var title: String
    public var summary: String
    /// A row of the incident-type table (`High CPU utilization`), if known.
    public var type: String?
    public var severity: Severity
    public var state: IncidentState
    /// What detected it: `user-report`, `rule:<id>`, `plugin:<name>`, `alertmanager`.
    public var source: String
    /// Dedup key; signals with the same fingerprint join an open incident.
    public var fingerprint: String?
    /// How many signals this incident has absorbed (1 when opened).
    public var occurrences: Int
    /// When the condition first held (MTTD is measured from here).
    public var detectedAt: Timestamp
    public var createdAt: Timestamp
    public var updatedAt: Timestamp
    public var lastSeenAt: Timestamp
    public var acknowledgedAt: Timestamp?
    public var resolvedAt: Timestamp?
    public var closedAt: Timestamp?
    /// The acknowledgement deadline from the severity's response time; nil for "scheduled".
    public var responseDeadline: Timestamp?
    /// `security_breach`, `system_overload`, `data_corruption` (seed 004 `containment_rules`).
    public var containmentCategory: String?
    public var runbook: String?
    public var classification: Classification?
    /// Role name → person (`incident_commander` → `alice`).
    public var roles: [String: String]
    /// Labels of the triggering series or declaration.
    public var labels: [String: String]
    /// How many escalation levels have been notified so far (0 = initial responders only).
    public var escalationLevel: Int
    /// The initial responder's role: the row of the escalation-path table (`on_call_engineer`).
    public var responderRole: String = "on_call_engineer"
    /// When the current escalation level was reached; the next level is timed from here.
    public var escalatedAt: Timestamp?
    /// When the acknowledgement deadline passed unacknowledged (recorded once).
    public var slaBreachedAt: Timestamp?
    /// Where responders talk (`#inc-2026-0042`); a chat notifier opens it.
    public var channel: String?
    /// When the next status update is due; nil when the severity schedules none.
    public var nextStatusUpdateAt: Timestamp?
    /// Tracked as backlog work ("Add to Backlog" in the escalation-path table): nobody is paged.
    public var backlog: Bool = false
    /// When the triggering condition last cleared; nil while it holds.
    public var conditionClearedAt: Timestamp?
    /// How many times the condition cleared and came back.
    public var flapCount: Int = 0
    /// When the post-mortem is due (top two severities, 48 hours after resolution).
    public var postMortemDueAt: Timestamp?
    public var resolution: IncidentResolution?

    public init(id: String, title: String, summary: String = "", type: String? = nil, severity: Severity,
                state: IncidentState = .detected, source: String, fingerprint: String? = nil,
                occurrences: Int = 1, detectedAt: Timestamp, createdAt: Timestamp? = nil,
                responseDeadline: Timestamp? = nil, containmentCategory: String? = nil, runbook: String? = nil,
                classification: Classification? = nil, roles: [String: String] = [:],
                labels: [String: String] = [:], escalationLevel: Int = 0) {
        self.id = id
        self.title = title
        self.summary = summary
        self.type = type
        self.severity = severity
        self.state = state
        self.source = source
        self.fingerprint = fingerprint
        self.occurrences = occurrences
        self.detectedAt = detectedAt
        self.createdAt = createdAt ?? detectedAt
        self.updatedAt = createdAt ?? detectedAt
        self.lastSeenAt = detectedAt
        self.responseDeadline = responseDeadline
        self.containmentCategory = containmentCategory
        self.runbook = runbook
        self.classification = classification
        self.roles = roles
        self.labels = labels
        self.escalationLevel = escalationLevel
    }
}

/// What kind of step a timeline entry records.
public enum TimelineKind: String, Codable, Sendable, CaseIterable {
    case detected
    case declared
    case classified
    case transition
    case acknowledged
    case assigned
    case escalated
    case slaBreached = "sla-breached"
    case comment
    case occurrence
    case evidence
    case notification
    case action
    case statusUpdate = "status-update"
    case resolved
    case reopened
    /// The public status page was changed.
    case statusPage = "status-page"
    /// A post-mortem was scheduled or held.
    case postMortem = "post-mortem"
    /// A follow-up item was created.
    case followUp = "follow-up"
    /// A runbook step was ticked off (or unticked).
    case runbook
    /// A containment verification check and its result.
    case verification
    /// A recovery watch started, caught a recurrence, or ended (`incidents.recovery_watch`).
    case recoveryWatch = "recovery-watch"
    /// Disaster recovery: an assessment, a plan started, a step, an RTO/RPO clock notice, the report.
    case disasterRecovery = "disaster-recovery"
    case system
}

/// One line of an incident's timeline: who did what, when, and why.
public struct TimelineEntry: Codable, Sendable, Equatable {
    public var incidentID: String
    /// Position within the incident's timeline, assigned by the store (1, 2, …).
    public var sequence: Int
    public var time: Timestamp
    /// `vigild`, `rule:<id>`, a person's name, `plugin:<name>`.
    public var actor: String
    public var kind: TimelineKind
    public var message: String
    /// Structured detail (from/to states, evidence keys, delivery targets).
    public var data: [String: String]

    public init(incidentID: String, sequence: Int = 0, time: Timestamp, actor: String, kind: TimelineKind,
                message: String, data: [String: String] = [:]) {
        self.incidentID = incidentID
        self.sequence = sequence
        self.time = time
        self.actor = actor
        self.kind = kind
        self.message = message
        self.data = data
    }
}
