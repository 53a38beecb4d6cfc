import VigilCore

/// One incident's row of the escalation-path table (seed 000 "Escalation Paths") and its timing.
///
/// Timing for an unacknowledged incident: level 1 is due when the response SLA is breached
/// (the acknowledgement deadline); each further level is due one step interval
/// (`escalation.step_interval` for the severity, else its response time) after the previous
/// level was reached. A P0/P1-Critical on the default configuration therefore pages the team
/// lead at 15 minutes, the engineering manager at 30 and the CTO at 45. Acknowledging stops it.
public struct EscalationPlan: Sendable, Equatable {
    /// The initial responder's role: the table's row (`on_call_engineer`).
    public var responder: String
    public var severityCode: String
    /// The table's cell: `Team Lead -> Engineering Manager -> CTO`, `Assign to Team`, `Add to Backlog`.
    public var steps: [EscalationStep]
    /// The wait between levels after the first; nil for severities without a clock.
    public var interval: Duration?

    public init(policy: IncidentPolicy, responder: String, severity: Severity) {
        self.responder = responder
        self.severityCode = severity.code
        self.steps = policy.escalation.chain(from: responder, severity: severity.code)
        let level = policy.ladder.level(of: severity)
        self.interval = policy.escalation.stepIntervals[severity.code] ?? level?.responseTime
    }

    public init(policy: IncidentPolicy, incident: Incident) {
        self.init(policy: policy, responder: incident.responderRole, severity: incident.severity)
    }

    /// The table says "Add to Backlog": nobody is paged.
    public var goesToBacklog: Bool { steps.first == .backlog }

    /// The step taken to reach `level` (1-based), nil past the end of the path.
    public func step(level: Int) -> EscalationStep? { steps[safe: level - 1] }

    /// When `level` becomes due for `incident` if nobody acknowledges; nil when it never will.
    public func dueTime(ofLevel level: Int, for incident: Incident) -> Timestamp? {
        guard level == incident.escalationLevel + 1, let step = step(level: level), step != .backlog,
              incident.acknowledgedAt == nil, !incident.backlog, incident.state.isOpen,
              let deadline = incident.responseDeadline else { return nil }
        if level == 1 { return deadline }
        guard let interval else { return nil }
        return (incident.escalatedAt ?? deadline) + interval
    }

    /// The levels still ahead and when each will be due if nobody acknowledges, in order.
    public func upcoming(for incident: Incident) -> [(level: Int, step: EscalationStep, due: Timestamp)] {
        var out: [(Int, EscalationStep, Timestamp)] = []
        guard var due = dueTime(ofLevel: incident.escalationLevel + 1, for: incident) else { return [] }
        var level = incident.escalationLevel + 1
        while let step = step(level: level), step != .backlog {
            out.append((level, step, due))
            if case .assignToTeam = step { break }
            guard let interval else { break }
            due = due + interval
            level += 1
        }
        return out
    }

    /// The cell as the seed writes it: `Team Lead -> Engineering Manager -> CTO`.
    public func describe(policy: IncidentPolicy) -> String {
        steps.isEmpty ? "no escalation path" : steps.map { Self.describe($0, policy: policy) }.joined(separator: " -> ")
    }

    /// One step as the seed writes it (`Team Lead`, `Assign to Team`, `Add to Backlog`).
    public static func describe(_ step: EscalationStep, policy: IncidentPolicy) -> String {
        switch step {
        case .role(let r): RoleNames.display(r, policy: policy)
        case .assignToTeam: "Assign to Team"
        case .backlog: "Add to Backlog"
        }
    }
}
