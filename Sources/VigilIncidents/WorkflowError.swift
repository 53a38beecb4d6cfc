import VigilCore

/// A request the incident workflow refuses, with the sentence the operator sees.
public enum WorkflowError: Error, Sendable, Equatable, CustomStringConvertible {
    case unknownSeverity(found: String, ladder: String, known: [String])
    case unknownIncidentType(found: String, known: [String])
    case illegalTransition(LifecycleError)
    case notOpen(id: String, state: IncidentState, action: String)
    case alreadyAcknowledged(id: String, at: Timestamp)
    case unknownPerson(found: String, known: [String])
    case unknownRole(found: String, known: [String])
    case topOfEscalationPath(id: String, path: String)
    case invalidArgument(field: String, reason: String)

    public var description: String {
        switch self {
        case .unknownSeverity(let found, let ladder, let known):
            "unknown severity \"\(found)\"; the \(ladder) ladder has \(known.joined(separator: ", "))"
        case .unknownIncidentType(let found, let known):
            "unknown incident type \"\(found)\"; known: \(known.joined(separator: ", "))"
        case .illegalTransition(let e): e.description
        case .notOpen(let id, let state, let action):
            "\(id) is \(state) (not open); cannot \(action) it (reopen it first)"
        case .alreadyAcknowledged(let id, let at): "\(id) was already acknowledged at \(at.rfc3339)"
        case .unknownPerson(let found, let known):
            "unknown person \"\(found)\"; the roster has \(known.joined(separator: ", "))"
        case .unknownRole(let found, let known):
            "unknown role \"\(found)\"; known: \(known.joined(separator: ", "))"
        case .topOfEscalationPath(let id, let path):
            "\(id) is already at the top of its escalation path (\(path)); nobody is left to escalate to"
        case .invalidArgument(let field, let reason): "\(field): \(reason)"
        }
    }
}
