import VigilCore

/// What is known about a new incident when it is classified (seed 000 `classify_incident`,
/// seed 004 "Severity Classification"): from a declaration, a rule signal or an alert.
public struct ClassificationInput: Sendable, Equatable {
    public var title: String
    public var summary: String
    /// A severity reference fixed by a person or a rule (`P1`, `Critical`, `P1 - Critical`).
    public var severity: String?
    /// Who fixed ``severity`` (`declared by alice`, `rule cpu_usage_high`), for the rationale.
    public var severitySource: String?
    /// A row of the incident-type table.
    public var incidentType: String?
    public var impact: UserImpact?
    public var userScope: UserScope?
    public var serviceImpact: ServiceImpact?
    public var components: [String]
    public var security: Bool
    public var dataIntegrity: Bool
    public var containmentCategory: String?
    public var runbook: String?
    /// Refuse unknown severities and incident types (a person typed them) instead of noting them.
    public var strict: Bool

    public init(title: String, summary: String = "", severity: String? = nil, severitySource: String? = nil,
                incidentType: String? = nil, impact: UserImpact? = nil, userScope: UserScope? = nil,
                serviceImpact: ServiceImpact? = nil, components: [String] = [], security: Bool = false,
                dataIntegrity: Bool = false, containmentCategory: String? = nil, runbook: String? = nil,
                strict: Bool = false) {
        self.title = title
        self.summary = summary
        self.severity = severity
        self.severitySource = severitySource
        self.incidentType = incidentType
        self.impact = impact
        self.userScope = userScope
        self.serviceImpact = serviceImpact
        self.components = components
        self.security = security
        self.dataIntegrity = dataIntegrity
        self.containmentCategory = containmentCategory
        self.runbook = runbook
        self.strict = strict
    }

    /// What a rule signal says: its severity and type when the rule fixes them, `component`,
    /// `impact`, `user_scope` and `service_impact` labels when the series carries them, security
    /// for the `security_events` section and `security_breach` containment, data integrity for
    /// `data_corruption`.
    public init(signal s: RuleSignal) {
        let valueText = s.unit.isEmpty ? Self.number(s.value) : "\(Self.number(s.value))\(s.unit)"
        let labelText = s.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
        self.init(title: s.description ?? (s.expression + (labelText.isEmpty ? "" : " (\(labelText))")),
                  summary: "Rule \(s.ruleID) fired: \(s.expression); value \(valueText).",
                  severity: s.severity, severitySource: s.severity == nil ? nil : "rule \(s.ruleID)",
                  incidentType: s.incidentType,
                  impact: s.labels["impact"].flatMap(UserImpact.init(text:)),
                  userScope: s.labels["user_scope"].flatMap(UserScope.init(text:)),
                  serviceImpact: s.labels["service_impact"].flatMap(ServiceImpact.init(text:)),
                  components: (s.labels["component"] ?? s.labels["components"] ?? "")
                      .split(separator: ",").map { $0.trimmingWhitespace() }.filter { !$0.isEmpty },
                  security: s.section == "security_events" || s.containmentCategory == "security_breach",
                  dataIntegrity: s.containmentCategory == "data_corruption",
                  containmentCategory: s.containmentCategory, runbook: s.runbook)
    }

    static func number(_ v: Double) -> String {
        v.rounded() == v && abs(v) < 1e15 ? String(Int64(v)) : String(v)
    }
}
