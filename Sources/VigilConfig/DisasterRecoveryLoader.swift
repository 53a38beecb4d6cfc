import VigilCore

/// `disaster_recovery:` — seed 000's `disaster_recovery_criteria` and the recovery plans:
///
/// ```yaml
/// disaster_recovery:
///   rto: {tier-1: 1 hour, tier-2: 4 hours}          # RTO_VALUES, most critical tier first
///   rpo: {tier-1: 5 minutes, tier-2: 1 hour}        # RPO_VALUES
///   severity_thresholds: {tier-1: P2, tier-2: P1}   # SEVERITY_THRESHOLDS: this severity or worse
///   components: {api: tier-1, reports: tier-2}
///   default_tier: tier-2
///   warn_before: 15 minutes
///   plans:
///     - name: failover-region
///       title: Fail the API over to the standby region
///       applies_to: {tiers: [tier-1], types: [Service Outage], components: [api]}
///       failover: true
///       steps:
///         - {title: Freeze writes, action: stop_write_operations, expected: 2 minutes}
///         - {title: Promote the standby, expected: 10 minutes}
/// ```
///
/// Every tier needs all three of `rto`, `rpo` and `severity_thresholds`; components, the
/// default tier and plans may name only those tiers; a plan needs at least one step.
enum DisasterRecoveryLoader {
    static let keys = ["rto", "rpo", "severity_thresholds", "components", "default_tier", "warn_before", "plans"]
    static let planKeys = ["name", "title", "applies_to", "failover", "restores_data", "steps"]
    static let appliesKeys = ["tiers", "types", "components"]
    static let stepKeys = ["title", "action", "expected"]
    /// Objectives beyond this are typos (and keep deadline arithmetic far from overflow).
    static let maximumObjective: Duration = .seconds(366 * 86_400)
    static let maximumPlans = 100
    static let maximumSteps = 100

    static func load(_ node: YAMLNode, policy: IncidentPolicy, actions: Set<String>) -> DisasterRecoveryPolicy? {
        guard let f = node.fields("disaster_recovery", allowed: keys) else { return nil }
        let before = node.diagnostics.errors.count
        var out = DisasterRecoveryPolicy()

        func objectives(_ key: String, allowZero: Bool) -> [(name: String, node: YAMLNode, value: Duration)] {
            guard let n = f.required(key), let entries = n.mapping(key) else { return [] }
            var list: [(String, YAMLNode, Duration)] = []
            for e in entries {
                guard isValidName(e.key) else {
                    e.keyNode.diagnostics.add(.invalidValue(e.keyNode.location, key: key, found: e.key,
                                                            expected: "a tier name of letters, digits, '_' and '-'"))
                    continue
                }
                guard let d = e.value.duration("\(key).\(e.key)") else { continue }
                guard allowZero ? d >= .zero : d > .zero, d <= maximumObjective else {
                    e.value.diagnostics.add(.invalidValue(e.value.location, key: "\(key).\(e.key)", found: e.value.scalar ?? "",
                                                          expected: (allowZero ? "0" : "longer than 0") + " and at most 366 days"))
                    continue
                }
                list.append((e.key, e.value, d))
            }
            return list
        }
        let rto = objectives("rto", allowZero: false)
        let rpo = objectives("rpo", allowZero: true)
        var thresholds: [String: String] = [:]
        if let n = f.required("severity_thresholds"), let entries = n.mapping("severity_thresholds") {
            for e in entries {
                guard let s = e.value.string("severity_thresholds.\(e.key)") else { continue }
                guard let level = policy.ladder.level(named: s) else {
                    e.value.diagnostics.add(.unknownSeverity(e.value.location, found: s, known: policy.ladder.levels.map(\.code)))
                    continue
                }
                thresholds[e.key] = level.code
                if !rto.contains(where: { $0.name == e.key }) {
                    e.keyNode.diagnostics.add(.invalidValue(e.keyNode.location, key: "severity_thresholds", found: e.key,
                                                            expected: "a tier that rto names (\(rto.map(\.name).joined(separator: ", ")))"))
                }
            }
        }
        for r in rto {
            guard let p = rpo.first(where: { $0.name == r.name }) else {
                if f["rpo"]?.node.mapping != nil {
                    r.node.diagnostics.add(.invalidValue(r.node.location, key: "rto.\(r.name)", found: r.name,
                                                         expected: "a tier with an rpo too (rpo has \(rpo.map(\.name).joined(separator: ", ")))"))
                }
                continue
            }
            guard let t = thresholds[r.name] else {
                if f["severity_thresholds"]?.node.mapping != nil {
                    r.node.diagnostics.add(.invalidValue(r.node.location, key: "rto.\(r.name)", found: r.name,
                                                         expected: "a tier with a severity_thresholds entry too"))
                }
                continue
            }
            out.tiers.append(RecoveryTier(name: r.name, rto: r.value, rpo: p.value, severityThreshold: t))
        }
        for p in rpo where !rto.contains(where: { $0.name == p.name }) {
            p.node.diagnostics.add(.invalidValue(p.node.location, key: "rpo.\(p.name)", found: p.name,
                                                 expected: "a tier that rto names (\(rto.map(\.name).joined(separator: ", ")))"))
        }
        let tierNames = rto.map(\.name)
        func checkTier(_ n: YAMLNode, _ key: String, _ name: String) -> Bool {
            guard tierNames.contains(name) else {
                n.diagnostics.add(.invalidValue(n.location, key: key, found: name, expected: "one of the tiers (\(tierNames.joined(separator: ", ")))"))
                return false
            }
            return true
        }
        for e in f["components"]?.mapping("components") ?? [] {
            guard let t = e.value.string("components.\(e.key)"), checkTier(e.value, "components.\(e.key)", t) else { continue }
            out.components[e.key] = t
        }
        if let n = f["default_tier"], let t = n.string("default_tier"), checkTier(n, "default_tier", t) { out.defaultTier = t }
        if let n = f["warn_before"], let d = n.duration("warn_before") {
            if d >= .zero, d <= maximumObjective { out.warnBefore = d } else {
                n.diagnostics.add(.invalidValue(n.location, key: "warn_before", found: n.scalar ?? "", expected: "0 to 366 days"))
            }
        }
        if let n = f["plans"], let items = n.sequence("plans") {
            if items.count > maximumPlans {
                n.diagnostics.add(.invalidValue(n.location, key: "plans", found: "\(items.count) plans", expected: "at most \(maximumPlans)"))
            }
            for item in items.prefix(maximumPlans) {
                guard let plan = self.plan(item, tiers: tierNames, policy: policy, actions: actions) else { continue }
                if out.plans.contains(where: { $0.name == plan.name }) {
                    item.diagnostics.add(.invalidValue(item.location, key: "plans.name", found: plan.name, expected: "a name no other plan has"))
                    continue
                }
                out.plans.append(plan)
            }
        }
        return node.diagnostics.errors.count == before ? out : nil
    }

    static func plan(_ item: YAMLNode, tiers: [String], policy: IncidentPolicy, actions: Set<String>) -> RecoveryPlan? {
        guard let f = item.fields("plans[]", allowed: planKeys), let nameNode = f.required("name"),
              let name = nameNode.string("name") else { return nil }
        guard isValidName(name) else {
            nameNode.diagnostics.add(.invalidValue(nameNode.location, key: "name", found: name,
                                                   expected: "a plan name of letters, digits, '_' and '-'"))
            return nil
        }
        var plan = RecoveryPlan(name: name, title: f["title"]?.string("title") ?? name, steps: [])
        if let a = f["applies_to"]?.fields("applies_to", allowed: appliesKeys) {
            for n in a["tiers"]?.sequence("tiers") ?? [] {
                if let t = n.string("tiers"), checkTier(n, t, tiers) { plan.tiers.append(t) }
            }
            for n in a["types"]?.sequence("types") ?? [] {
                guard let t = n.string("types") else { continue }
                guard policy.incidentType(named: t) != nil else {
                    n.diagnostics.add(.invalidValue(n.location, key: "types", found: t,
                                                    expected: "one of incident_types (\(policy.incidentTypes.map(\.name).joined(separator: ", ")))"))
                    continue
                }
                plan.types.append(t)
            }
            plan.components = a["components"]?.strings("components") ?? []
        }
        plan.failover = f["failover"]?.bool("failover") ?? false
        plan.restoresData = f["restores_data"]?.bool("restores_data") ?? false
        guard let stepsNode = f.required("steps"), let steps = stepsNode.sequence("steps") else { return nil }
        guard !steps.isEmpty, steps.count <= maximumSteps else {
            stepsNode.diagnostics.add(.invalidValue(stepsNode.location, key: "plans.\(name).steps", found: "\(steps.count) steps",
                                                    expected: "1 to \(maximumSteps) steps (a plan with no steps recovers nothing)"))
            return nil
        }
        for s in steps {
            guard let sf = s.fields("steps[]", allowed: stepKeys), let tn = sf.required("title"), let title = tn.string("title") else { continue }
            guard !title.trimmingWhitespace().isEmpty else {
                tn.diagnostics.add(.invalidValue(tn.location, key: "title", found: title, expected: "the step in words"))
                continue
            }
            var step = RecoveryPlan.Step(title: title)
            if let an = sf["action"], let action = an.string("action") {
                if actions.contains(action) { step.action = action } else {
                    an.diagnostics.add(.invalidValue(an.location, key: "action", found: action,
                                                     expected: "a containment action (\(actions.sorted().joined(separator: ", ")))"))
                }
            }
            if let en = sf["expected"], let d = en.duration("expected") {
                if d > .zero, d <= maximumObjective { step.expected = d } else {
                    en.diagnostics.add(.invalidValue(en.location, key: "expected", found: en.scalar ?? "",
                                                     expected: "longer than 0 and at most 366 days"))
                }
            }
            plan.steps.append(step)
        }
        return plan
    }

    static func checkTier(_ n: YAMLNode, _ name: String, _ tiers: [String]) -> Bool {
        guard tiers.contains(name) else {
            n.diagnostics.add(.invalidValue(n.location, key: "tiers", found: name, expected: "one of the tiers (\(tiers.joined(separator: ", ")))"))
            return false
        }
        return true
    }

    static func isValidName(_ s: String) -> Bool {
        !s.isEmpty && s.count <= 64 && s.allSatisfy { ($0.isASCII && ($0.isLetter || $0.isNumber)) || $0 == "-" || $0 == "_" }
    }
}
