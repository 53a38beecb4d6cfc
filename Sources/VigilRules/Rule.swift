import VigilCore

/// A detection rule with its identity and what it means for the incident it opens.
///
/// Rule files (loaded by `VigilConfig.RuleFileLoader`) produce these; ``RuleEngine`` evaluates them.
public struct Rule: Sendable, Hashable {
    /// Unique among loaded rules: an operator's own (`web_cpu_high`) or, for a terse seed line, the
    /// section and the metric (`system_health.cpu_usage`; see ``RuleIdentifiers``).
    public var id: String
    public var expression: RuleExpression
    /// The section the rule was written under (`system_health`), if any.
    public var section: String?
    /// Which labels make one alert (one fingerprint).
    public var groupBy: GroupBy
    /// A row of the incident-type table (`High CPU utilization`), or nil to leave it to classification.
    public var incidentType: String?
    /// A severity reference (`P2`, `High`, `P2 - High`), or nil to take the incident type's.
    public var severity: String?
    /// `security_breach`, `system_overload` or `data_corruption` (the seed's containment rules).
    public var containmentCategory: String?
    public var description: String?
    /// A runbook name (`performance-degradation`).
    public var runbook: String?
    /// Where the rule's text is, for messages about it.
    public var location: SourceLocation?

    public init(id: String, expression: RuleExpression, section: String? = nil, groupBy: GroupBy = .identityLabels,
                incidentType: String? = nil, severity: String? = nil, containmentCategory: String? = nil,
                description: String? = nil, runbook: String? = nil, location: SourceLocation? = nil) {
        self.id = id
        self.expression = expression
        self.section = section
        self.groupBy = groupBy
        self.incidentType = incidentType
        self.severity = severity
        self.containmentCategory = containmentCategory
        self.description = description
        self.runbook = runbook
        self.location = location
    }
}

/// Which labels of a series decide the alert (and incident fingerprint) it belongs to.
public enum GroupBy: Sendable, Hashable {
    /// The default: the identity labels in ``identityLabelNames`` that the series has, so there is
    /// one alert per host, plugin, disk, lane…, while detail labels (user, syscall, pid) are folded in.
    case identityLabels
    /// Exactly these labels (`[]` makes one alert for the whole rule).
    case labels([String])
    /// Every label: one alert per series, as in Prometheus.
    case series

    /// Labels that name *what* is in trouble rather than a detail of it.
    public static let identityLabelNames = ["host", "instance", "plugin", "component", "disk", "device", "mountpoint",
                                            "interface", "lane", "service", "database"]
}

/// The rules to evaluate and the two durations the language leaves to configuration.
public struct RuleSet: Sendable, Hashable {
    public var rules: [Rule]
    /// What `consistently` means (`rules.consistently`, default 5 minutes).
    public var consistently: Duration
    /// How long a series may go without a sample before its value is no longer known
    /// (`rules.stale_after`, default 5 minutes, as Prometheus's lookback).
    public var staleAfter: Duration

    public init(rules: [Rule] = [], consistently: Duration = .seconds(300), staleAfter: Duration = .seconds(300)) {
        self.rules = rules
        self.consistently = consistently
        self.staleAfter = staleAfter
    }

    /// The rule with `id`, if loaded.
    public func rule(id: String) -> Rule? { rules.first { $0.id == id } }
}

/// How terse rules (a bare line of text, as in the seed) get their ids.
///
/// The id is the section and the selector's words joined by `_`: `cpu_usage > 90% for 5 minutes`
/// under `system_health` is `system_health.cpu_usage`, `terminal_renderer fps < 10 …` is
/// `application_health.terminal_renderer_fps`. A second terse rule on the same selector in the
/// same section gets `.2`, a third `.3`, in file order. Ids do not depend on line numbers, so
/// adding a rule elsewhere never renames one.
public enum RuleIdentifiers {
    public static func terseID(section: String?, expression: RuleExpression, taken: Set<String>) -> String {
        let base = ((expression.selector.component.map { [$0] } ?? []) + [expression.selector.name]).joined(separator: "_")
        let stem = section.map { "\($0).\(base)" } ?? base
        if !taken.contains(stem) { return stem }
        var n = 2
        while taken.contains("\(stem).\(n)") { n += 1 }
        return "\(stem).\(n)"
    }

    /// Whether `id` is acceptable for an operator's rule: letters, digits, `_`, `-`, `.` and `:`.
    public static func isValid(_ id: String) -> Bool {
        !id.isEmpty && id.unicodeScalars.allSatisfy {
            ($0 >= "a" && $0 <= "z") || ($0 >= "A" && $0 <= "Z") || ($0 >= "0" && $0 <= "9")
                || $0 == "_" || $0 == "-" || $0 == "." || $0 == ":"
        }
    }
}
