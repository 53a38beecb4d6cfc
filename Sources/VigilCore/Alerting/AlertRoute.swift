/// A node of the alert route tree (`alerting:` in the configuration; the section itself is the
/// root, which matches every alert). Like Alertmanager's route tree: an alert goes down to the
/// first child whose matchers all match, recursively, and takes the deepest matching node;
/// unset fields are inherited from the parent.
public struct AlertRoute: Sendable {
    /// Shown as the receiver's name in the Alertmanager API (`receivers: [{name}]`).
    public var name: String?
    public var matchers: [AlertMatcher]
    /// Labels whose values make the group (one incident per group); `["..."]` means all labels.
    public var groupBy: [String]?
    /// A row of `incident_types` the incident is classified as.
    public var incidentType: String?
    /// A severity reference (`P1`, `Critical`) that overrides the alert's `severity` label.
    public var severity: String?
    /// The label the severity is read from (default `severity`).
    public var severityLabel: String?
    /// Label value (lower-cased) → severity reference; merged over ``AlertRouting/defaultSeverityMap``.
    public var severityMap: [String: String]
    /// The component the incident is about (else the alert's `component` label).
    public var component: String?
    public var routes: [AlertRoute]

    public init(name: String? = nil, matchers: [AlertMatcher] = [], groupBy: [String]? = nil, incidentType: String? = nil,
                severity: String? = nil, severityLabel: String? = nil, severityMap: [String: String] = [:],
                component: String? = nil, routes: [AlertRoute] = []) {
        self.name = name
        self.matchers = matchers
        self.groupBy = groupBy
        self.incidentType = incidentType
        self.severity = severity
        self.severityLabel = severityLabel
        self.severityMap = severityMap
        self.component = component
        self.routes = routes
    }
}

/// An inhibition rule, as Alertmanager's: while an alert matching `source` fires, alerts
/// matching `target` with the same values of the `equal` labels (a missing label equals the
/// empty value) are suppressed.
public struct InhibitRule: Sendable {
    public var source: [AlertMatcher]
    public var target: [AlertMatcher]
    public var equal: [String]
    public init(source: [AlertMatcher], target: [AlertMatcher], equal: [String]) {
        self.source = source
        self.target = target
        self.equal = equal
    }
}

/// `alerting:` — how posted alerts become incidents.
public struct AlertRouting: Sendable {
    /// How Prometheus' common `severity` label values map onto a ladder, by level *name* so both
    /// seed ladders work: `critical` → Critical (P1 on p1-p4, P0 on p0-p3), `error`/`high` → High,
    /// `warning`/`medium` → Medium, `info`/`low`/`none` → Low. A value that is itself a level's
    /// code or name (`P2`, `High`) names that level.
    public static let defaultSeverityMap: [String: String] = [
        "critical": "Critical", "page": "Critical", "error": "High", "high": "High", "major": "High",
        "warning": "Medium", "warn": "Medium", "medium": "Medium", "minor": "Low", "info": "Low", "low": "Low",
        "none": "Low",
    ]
    /// The severity an alert without a recognised severity gets.
    public static let fallbackSeverity = "Medium"

    public var root: AlertRoute
    public var inhibitRules: [InhibitRule]

    public init(root: AlertRoute = AlertRoute(groupBy: ["alertname"]), inhibitRules: [InhibitRule] = []) {
        self.root = root
        self.inhibitRules = inhibitRules
    }

    /// Where an alert goes: the deepest matching node with inherited fields filled in, and the
    /// path of matchers that led there (part of the group key).
    public struct Match: Sendable {
        public var route: AlertRoute
        public var path: [String]
    }

    public func route(_ labels: [String: String]) -> Match {
        var current = root
        var path = ["{}"]
        var resolved = root
        descend: while true {
            for child in current.routes where child.matchers.matches(labels) {
                var next = child
                next.name = child.name ?? resolved.name
                next.groupBy = child.groupBy ?? resolved.groupBy
                next.incidentType = child.incidentType ?? resolved.incidentType
                next.severity = child.severity ?? resolved.severity
                next.severityLabel = child.severityLabel ?? resolved.severityLabel
                next.severityMap = resolved.severityMap.merging(child.severityMap) { _, new in new }
                next.component = child.component ?? resolved.component
                path.append("{" + child.matchers.map(\.description).joined(separator: ",") + "}")
                resolved = next
                current = child
                continue descend
            }
            break
        }
        return Match(route: resolved, path: path)
    }

    /// Alertmanager's group key: the route path, `:`, then the grouped labels
    /// (`{}/{team="db"}:{alertname="DiskFull", instance="h1"}`).
    public func groupKey(_ labels: [String: String], match: Match) -> (key: String, labels: [String: String]) {
        let grouped = groupLabels(labels, route: match.route)
        let text = grouped.keys.sorted().map { "\($0)=\"\(grouped[$0, default: ""])\"" }.joined(separator: ", ")
        return (match.path.joined(separator: "/") + ":{" + text + "}", grouped)
    }

    func groupLabels(_ labels: [String: String], route: AlertRoute) -> [String: String] {
        let by = route.groupBy ?? []
        if by.contains("...") { return labels }
        var out: [String: String] = [:]
        for name in by { if let v = labels[name] { out[name] = v } }
        return out
    }

    /// The severity reference for an alert on `route`: the route's fixed one, else its severity
    /// label through the map, else ``fallbackSeverity``. The caller resolves it on the ladder.
    public func severity(_ labels: [String: String], route: AlertRoute) -> String {
        if let fixed = route.severity { return fixed }
        guard let raw = labels[route.severityLabel ?? "severity"]?.trimmingWhitespace(), !raw.isEmpty else {
            return Self.fallbackSeverity
        }
        let map = Self.defaultSeverityMap.merging(route.severityMap) { _, configured in configured }
        return map[raw.lowercased()] ?? raw
    }

    /// The fingerprints of the firing alerts inhibiting `target` (empty: not inhibited).
    /// `firing` are the candidate sources (active, not themselves needing to be unmuted).
    public func inhibitors(of target: [String: String], among firing: [(fingerprint: String, labels: [String: String])])
        -> [String] {
        var out: [String] = []
        let targetFingerprint = AlertFingerprint.hex(target)
        for rule in inhibitRules where rule.target.matches(target) {
            // Alertmanager: an alert matching both sides cannot be inhibited by one that also does.
            let targetIsSource = rule.source.matches(target)
            for source in firing where source.fingerprint != targetFingerprint && rule.source.matches(source.labels) {
                if targetIsSource, rule.target.matches(source.labels) { continue }
                if rule.equal.allSatisfy({ (source.labels[$0] ?? "") == (target[$0] ?? "") }),
                   !out.contains(source.fingerprint) {
                    out.append(source.fingerprint)
                }
            }
        }
        return out
    }
}
