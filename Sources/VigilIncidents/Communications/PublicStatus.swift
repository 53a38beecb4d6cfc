import VigilCore

/// The status word people outside the team see (seed 004 template: Investigating / Contained /
/// Resolving, then RESOLVED), derived from the lifecycle state.
public enum PublicStatus: String, Sendable, Equatable, Codable {
    case investigating = "Investigating"
    case contained = "Contained"
    case resolving = "Resolving"
    case resolved = "Resolved"

    public init(_ state: IncidentState) {
        switch state {
        case .detected, .classified, .mobilised, .containing: self = .investigating
        case .contained, .investigating, .remediating: self = .contained
        case .recovering, .validating: self = .resolving
        case .resolved, .postMortem, .closed: self = .resolved
        }
    }

    /// The sentence the status page shows when an incident enters this status.
    public var publicMessage: String {
        switch self {
        case .investigating: "We are investigating this problem and will post updates here."
        case .contained: "The problem is contained; we are working on a permanent fix."
        case .resolving: "A fix is in place and being verified."
        case .resolved: "This incident has been resolved; all services are operating normally."
        }
    }
}

/// How bad things look from outside, as status pages usually say it.
public enum PublicImpact: String, Sendable, Equatable, Codable, Comparable {
    case operational
    case degradedPerformance = "degraded_performance"
    case partialOutage = "partial_outage"
    case majorOutage = "major_outage"

    private var order: Int {
        switch self {
        case .operational: 0
        case .degradedPerformance: 1
        case .partialOutage: 2
        case .majorOutage: 3
        }
    }

    public static func < (a: PublicImpact, b: PublicImpact) -> Bool { a.order < b.order }

    /// From the classified service impact; without one, from the severity's position.
    public init(_ incident: Incident) {
        switch incident.classification?.serviceImpact.flatMap(ServiceImpact.init(text:)) {
        case .completeOutage: self = .majorOutage
        case .partialOutage: self = .partialOutage
        case .degraded: self = .degradedPerformance
        case .none?: self = .operational
        case nil:
            switch incident.severity.rank {
            case 0: self = .majorOutage
            case 1: self = .partialOutage
            default: self = .degradedPerformance
            }
        }
    }
}

extension IncidentWorkflow {
    /// Records a status-page change when a user-impacting incident's public status moves.
    func notePublicStatusChange(from before: Incident, to change: inout IncidentChange, at now: Timestamp,
                                actor: String) {
        guard change.incident.classification?.userImpacting == true else { return }
        let old = PublicStatus(before.state)
        let new = PublicStatus(change.incident.state)
        guard old != new else { return }
        publishStatus(new, message: new.publicMessage, to: &change, at: now, actor: actor)
    }

    /// Puts `message` on the public status page for this incident (user-impacting incidents only).
    func publishStatus(_ status: PublicStatus, message: String, to change: inout IncidentChange, at now: Timestamp,
                       actor: String) {
        guard change.incident.classification?.userImpacting == true else { return }
        change.statusPageChanged = true
        change.record(.statusPage, at: now, by: actor, "Status page: \(status.rawValue) — \(message)",
                      ["public_status": status.rawValue, "public_message": message,
                       "impact": PublicImpact(change.incident).rawValue])
    }
}
