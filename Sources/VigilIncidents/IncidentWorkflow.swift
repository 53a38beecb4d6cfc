import VigilCore

/// The incident manager's decisions: every request (open, absorb signals, acknowledge, escalate,
/// transition, resolve, …) takes the current incident and returns an ``IncidentChange``.
///
/// Pure: no I/O, time from the injected clock. The daemon stores each change in one
/// transaction, then lets its effects (deliveries, status page) run. Each concept lives in its
/// own folder: `Classification/`, `Initiation/`, `Dedup/`, `Lifecycle/`, `SLA/`, `Escalation/`,
/// `Roster/`, `Communications/`, `Resolution/`.
public struct IncidentWorkflow: Sendable {
    /// The actor named in timeline entries the daemon writes on its own.
    public static let systemActor = "vigild"

    public var policy: IncidentPolicy
    public var templates: CommunicationTemplates
    public let clock: any VigilClock

    public init(policy: IncidentPolicy, templates: CommunicationTemplates = .builtIn, clock: any VigilClock) {
        self.policy = policy
        self.templates = templates
        self.clock = clock
    }

    var ladder: SeverityLadder { policy.ladder }
    var schedule: OnCallSchedule { OnCallSchedule(roster: policy.roster) }

    /// The level of `severity` on the active ladder, or the nearest one by rank after a ladder switch.
    func level(of severity: Severity) -> SeverityLevel? {
        ladder.level(of: severity) ?? ladder.levels[safe: min(severity.rank, ladder.levels.count - 1)]
    }

    /// `P1 (Critical)`.
    func label(_ severity: Severity) -> String {
        level(of: severity).map { "\(severity.code) (\($0.name))" } ?? severity.code
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
