import VigilCore

/// `alerting:` — the route tree from posted alerts to incidents, and the inhibition rules.
/// The section is the root route (it matches every alert); `routes:` nest below it.
enum AlertingSettingsLoader {
    static let routeKeys = ["name", "matchers", "group_by", "incident_type", "severity", "severity_label",
                            "severity_map", "component", "routes"]
    static let keys = routeKeys.filter { $0 != "matchers" } + ["inhibit_rules"]
    /// Deep trees are a typo or an attack; Alertmanager configurations rarely pass 4 levels.
    static let maximumDepth = 16

    static func load(_ node: YAMLNode, policy: IncidentPolicy) -> AlertRouting {
        guard let f = node.fields("alerting", allowed: keys) else { return AlertRouting() }
        var root = route(f, depth: 0, policy: policy)
        if root.groupBy == nil { root.groupBy = ["alertname"] }
        var rules: [InhibitRule] = []
        for item in f["inhibit_rules"]?.sequence("inhibit_rules") ?? [] {
            guard let r = item.fields("inhibit_rules", allowed: ["source_matchers", "target_matchers", "equal"]) else { continue }
            let source = matchers(r.required("source_matchers"), "source_matchers")
            let target = matchers(r.required("target_matchers"), "target_matchers")
            let equal = r["equal"]?.strings("equal") ?? []
            for (i, name) in equal.enumerated() where !LabelName.isValid(name) {
                let at = r["equal"]?.node.sequence.flatMap { i < $0.count ? $0[i] : nil }
                let location = at.map { SourceLocation(file: item.file, line: $0.mark?.line ?? 1, column: $0.mark?.column ?? 1) }
                    ?? item.location
                item.diagnostics.add(.invalidValue(location, key: "equal", found: name, expected: "a label name ([a-zA-Z_][a-zA-Z0-9_]*)"))
            }
            rules.append(InhibitRule(source: source, target: target, equal: equal))
        }
        return AlertRouting(root: root, inhibitRules: rules)
    }

    static func route(_ f: Fields, depth: Int, policy: IncidentPolicy) -> AlertRoute {
        var r = AlertRoute()
        r.name = f["name"]?.string("name")
        r.matchers = matchers(f["matchers"], "matchers")
        if let n = f["group_by"], let names = n.strings("group_by") {
            for name in names where name != "..." && !LabelName.isValid(name) {
                n.diagnostics.add(.invalidValue(n.location, key: "group_by", found: name,
                                                expected: "label names ([a-zA-Z_][a-zA-Z0-9_]*) or \"...\" for all labels"))
            }
            r.groupBy = names
        }
        if let n = f["incident_type"], let name = n.string("incident_type") {
            if policy.incidentType(named: name) == nil {
                n.diagnostics.add(.invalidValue(n.location, key: "incident_type", found: name,
                                                expected: "one of incident_types (\(policy.incidentTypes.map(\.name).joined(separator: ", ")))"))
            }
            r.incidentType = name
        }
        if let n = f["severity"], let s = severity(n, "severity", policy: policy) { r.severity = s }
        if let n = f["severity_label"], let s = n.string("severity_label") {
            if LabelName.isValid(s) { r.severityLabel = s } else {
                n.diagnostics.add(.invalidValue(n.location, key: "severity_label", found: s, expected: "a label name"))
            }
        }
        for e in f["severity_map"]?.mapping("severity_map") ?? [] {
            if let s = severity(e.value, e.key, policy: policy) { r.severityMap[e.key.lowercased()] = s }
        }
        r.component = f["component"]?.string("component")
        if let n = f["routes"] {
            if depth + 1 >= maximumDepth {
                n.diagnostics.add(.invalidValue(n.location, key: "routes", found: "more than \(maximumDepth) levels",
                                                expected: "a shallower route tree"))
            } else {
                for item in n.sequence("routes") ?? [] {
                    guard let child = item.fields("routes", allowed: routeKeys) else { continue }
                    if child["matchers"] == nil { item.diagnostics.add(.missingKey(item.location, key: "matchers")) }
                    r.routes.append(route(child, depth: depth + 1, policy: policy))
                }
            }
        }
        return r
    }

    static func severity(_ n: YAMLNode, _ key: String, policy: IncidentPolicy) -> String? {
        guard let s = n.string(key) else { return nil }
        guard policy.ladder.level(named: s) != nil else {
            n.diagnostics.add(.unknownSeverity(n.location, found: s, known: policy.ladder.levels.map(\.code)))
            return nil
        }
        return s
    }

    static func matchers(_ node: YAMLNode?, _ key: String) -> [AlertMatcher] {
        guard let node, let items = node.sequence(key) else { return [] }
        var out: [AlertMatcher] = []
        for item in items {
            guard let text = item.string(key) else { continue }
            do { out.append(try AlertMatcher.parse(text)) } catch {
                item.diagnostics.add(.invalidValue(item.location, key: key, found: text,
                                                   expected: "a matcher like alertname=\"DiskFull\" or severity=~\"critical|page\" (\(error))"))
            }
        }
        return out
    }
}
