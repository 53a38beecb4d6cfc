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

    public init(impact: String? = nil, userScope: String? = nil, serviceImpact: String? = nil,
                affectedComponents: [String] = [], initialTeam: [String] = [], rationale: [String] = []) {
        self.impact = impact
        self.userScope = userScope
        self.serviceImpact = serviceImpact
        self.affectedComponents = affectedComponents
        self.initialTeam = initialTeam
        self.rationale = rationale
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
