import VigilCore

/// `heartbeats:` — dead man's switches, by name:
///
/// ```yaml
/// heartbeats:
///   nightly-backup:
///     interval: 24 hours        # required: the sender promises a beat at least this often
///     grace: 30 minutes         # default 0: extra time before the beat counts as missed
///     incident_type: Service Outage
///     severity: P2              # default Medium
///     component: backups
///     labels: {team: storage}
/// ```
enum HeartbeatSettingsLoader {
    static let keys = ["interval", "grace", "incident_type", "severity", "component", "labels"]
    /// Longer promises are a typo (and keep `last + interval` far from overflow).
    static let maximumInterval: Duration = .seconds(366 * 86_400)
    /// Each heartbeat is a route and a row; thousands are a mistake.
    static let maximumCount = 1024

    static func load(_ node: YAMLNode, policy: IncidentPolicy) -> [HeartbeatDefinition] {
        guard let entries = node.mapping("heartbeats") else { return [] }
        if entries.count > maximumCount {
            node.diagnostics.add(.invalidValue(node.location, key: "heartbeats", found: "\(entries.count) heartbeats",
                                               expected: "at most \(maximumCount)"))
            return []
        }
        var out: [HeartbeatDefinition] = []
        for e in entries {
            guard HeartbeatDefinition.isValidName(e.key) else {
                e.keyNode.diagnostics.add(.invalidValue(e.keyNode.location, key: "heartbeats", found: e.key,
                                                        expected: "a name of letters, digits, '_', '.' and '-' (at most \(HeartbeatDefinition.maximumNameLength))"))
                continue
            }
            guard let f = e.value.fields("heartbeats.\(e.key)", allowed: keys),
                  let intervalNode = f.required("interval"), let interval = intervalNode.duration("interval") else { continue }
            guard interval > .zero, interval <= maximumInterval else {
                intervalNode.diagnostics.add(.invalidValue(intervalNode.location, key: "interval", found: "\(interval)",
                                                           expected: "longer than 0 and at most 366 days"))
                continue
            }
            var d = HeartbeatDefinition(name: e.key, interval: interval)
            if let n = f["grace"], let grace = n.duration("grace") {
                guard grace >= .zero, grace <= maximumInterval else {
                    n.diagnostics.add(.invalidValue(n.location, key: "grace", found: "\(grace)", expected: "0 to 366 days"))
                    continue
                }
                d.grace = grace
            }
            if let n = f["incident_type"], let name = n.string("incident_type") {
                if policy.incidentType(named: name) == nil {
                    n.diagnostics.add(.invalidValue(n.location, key: "incident_type", found: name,
                                                    expected: "one of incident_types (\(policy.incidentTypes.map(\.name).joined(separator: ", ")))"))
                }
                d.incidentType = name
            }
            if let n = f["severity"], let s = n.string("severity") {
                if policy.ladder.level(named: s) == nil {
                    n.diagnostics.add(.unknownSeverity(n.location, found: s, known: policy.ladder.levels.map(\.code)))
                }
                d.severity = s
            }
            d.component = f["component"]?.string("component")
            for l in f["labels"]?.mapping("labels") ?? [] {
                guard LabelName.isValid(l.key), l.key != "heartbeat" else {
                    l.keyNode.diagnostics.add(.invalidValue(l.keyNode.location, key: "labels", found: l.key,
                                                            expected: "a label name ([a-zA-Z_][a-zA-Z0-9_]*) other than heartbeat"))
                    continue
                }
                if let v = l.value.string(l.key) { d.labels[l.key] = v }
            }
            out.append(d)
        }
        return out
    }
}
