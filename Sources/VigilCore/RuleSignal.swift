/// What the rule engine tells the incident manager: a rule's series started or stopped firing.
///
/// Rules (`VigilRules`) produce these; incidents (`VigilIncidents`) consume them. Both modules
/// import only Core, so this value is their whole contract.
public struct RuleSignal: Sendable, Equatable, Codable {
    /// Firing opens or joins an incident; resolved tells the incident its condition cleared.
    public enum Transition: String, Sendable, Equatable, Codable {
        case firing
        case resolved
    }

    public var transition: Transition
    /// The rule's id (`web_cpu_high`, or `system_health.cpu_usage` for a terse seed line; see `RuleIdentifiers`).
    public var ruleID: String
    /// The rule's canonical text (`cpu_usage > 90% for 5 minutes`).
    public var expression: String
    /// The section the rule was written under (`system_health`, `security_events`, …), if any.
    public var section: String?
    /// The series' labels (all of them, strings resolved).
    public var labels: [String: String]
    /// The dedup key: rule id plus the values of its group-by labels (or an explicit key).
    /// Signals with equal fingerprints belong to one incident while it is open.
    public var fingerprint: String
    /// The value that made the transition (the sample, the window count or the ratio).
    public var value: Double
    /// The unit the value is in (`%`, `ms`, ...), empty when none.
    public var unit: String
    /// When the condition first held for this episode: the incident's detection time (MTTD starts here).
    public var firstHeldAt: Timestamp
    /// When this transition happened.
    public var at: Timestamp
    /// What the rule says the incident is, when it says (a row of the incident-type table).
    public var incidentType: String?
    /// A severity reference (`P1`, `Critical`, `P1 - Critical`) when the rule fixes one.
    public var severity: String?
    /// `security_breach`, `system_overload`, `data_corruption` (the seed's `containment_rules`).
    public var containmentCategory: String?
    public var description: String?
    public var runbook: String?

    public init(transition: Transition, ruleID: String, expression: String, section: String? = nil,
                labels: [String: String] = [:], fingerprint: String, value: Double, unit: String = "",
                firstHeldAt: Timestamp, at: Timestamp, incidentType: String? = nil, severity: String? = nil,
                containmentCategory: String? = nil, description: String? = nil, runbook: String? = nil) {
        self.transition = transition
        self.ruleID = ruleID
        self.expression = expression
        self.section = section
        self.labels = labels
        self.fingerprint = fingerprint
        self.value = value
        self.unit = unit
        self.firstHeldAt = firstHeldAt
        self.at = at
        self.incidentType = incidentType
        self.severity = severity
        self.containmentCategory = containmentCategory
        self.description = description
        self.runbook = runbook
    }
}
