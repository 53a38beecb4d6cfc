import VigilCore

/// The acknowledgement clock of one incident, computed from stored times only (so it reads the
/// same after a restart): running until the deadline, then breached; met or breached once
/// acknowledged (or resolved or closed without an acknowledgement); none for "scheduled" severities.
public struct ResponseClock: Sendable, Equatable {
    public enum State: String, Sendable, Equatable {
        case running, met, breached, none
    }

    public var state: State
    public var deadline: Timestamp?
    /// Time left (negative once breached); nil once acknowledged or without a deadline.
    public var remaining: Duration?

    public init(_ incident: Incident, now: Timestamp) {
        deadline = incident.responseDeadline
        guard let deadline else {
            state = .none
            remaining = nil
            return
        }
        if let ack = incident.acknowledgedAt {
            state = ack <= deadline ? .met : .breached
            remaining = nil
        } else if let over = incident.resolvedAt ?? incident.closedAt {
            // Over without a formal acknowledgement (resolved, or closed as a false positive):
            // on time if it ended before the deadline, and the clock stops either way.
            state = over <= deadline && incident.slaBreachedAt == nil ? .met : .breached
            remaining = nil
        } else {
            state = now > deadline || incident.slaBreachedAt != nil ? .breached : .running
            remaining = deadline - now
        }
    }
}
