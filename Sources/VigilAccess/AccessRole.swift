/// What an API token is for; the role decides which requests it may make (``AccessPolicy``).
public enum AccessRole: String, Codable, Sendable, CaseIterable, CustomStringConvertible {
    /// Reads everything, changes nothing.
    case viewer
    /// Reads, and works incidents: acknowledge, comment, assign, escalate, transition, resolve,
    /// runbook steps, action approval, silences.
    case responder
    /// Everything, including tokens, plugins and configuration.
    case admin
    /// A machine that only sends: alerts and heartbeats (Prometheus' `authorization` credentials).
    case sender
    /// A host agent (`vigild` with `agent:`): forwards its host's signals and calls in. The token's
    /// person is the agent's name; it may do nothing else, not even read.
    case agent

    public var description: String { rawValue }
}
