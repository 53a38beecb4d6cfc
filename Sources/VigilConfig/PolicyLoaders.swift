import VigilCore

/// `severity:` — the ladders and which one is active.
enum SeverityLoader {
    static func load(_ node: YAMLNode) -> (SeverityLadder, [String: SeverityLadder])? {
        guard let f = node.fields("severity", allowed: ["active", "ladders"]),
              let activeNode = f.required("active"), let active = activeNode.string("active"),
              let laddersNode = f.required("ladders"), let entries = laddersNode.mapping("ladders") else { return nil }
        var ladders: [String: SeverityLadder] = [:]
        for entry in entries {
            guard let items = entry.value.sequence(entry.key) else { continue }
            var levels: [SeverityLevel] = []
            for item in items {
                if let level = self.level(item) {
                    if levels.contains(where: { $0.code == level.code }) {
                        item.diagnostics.add(.invalidValue(item.location, key: "code", found: level.code,
                                                           expected: "a code not used twice on one ladder"))
                    }
                    levels.append(level)
                }
            }
            if levels.isEmpty {
                entry.value.diagnostics.add(.invalidValue(entry.value.location, key: entry.key, found: "an empty list",
                                                          expected: "at least one severity level"))
            }
            ladders[entry.key] = SeverityLadder(name: entry.key, levels: levels)
        }
        guard let ladder = ladders[active] else {
            activeNode.diagnostics.add(.invalidValue(activeNode.location, key: "active", found: active,
                                                     expected: "one of the ladders defined below (\(ladders.keys.sorted().joined(separator: ", ")))"))
            return nil
        }
        return (ladder, ladders)
    }

    static func level(_ node: YAMLNode) -> SeverityLevel? {
        let keys = ["code", "name", "description", "response_time", "team_mobilisation", "impact", "user_scope",
                    "service_impact", "status_updates"]
        guard let f = node.fields("severity level", allowed: keys),
              let code = f.required("code")?.string("code"),
              let name = f.required("name")?.string("name"),
              let responseNode = f.required("response_time"), let responseText = responseNode.string("response_time")
        else { return nil }
        var response: Duration?
        if responseText.lowercased() != "scheduled" {
            // A bad duration is reported but the level is kept, so references to it elsewhere
            // do not cascade into "unknown severity" errors; the configuration is refused anyway.
            response = DurationText.parse(responseText)
            if response == nil {
                node.diagnostics.add(.invalidDuration(responseNode.location, found: responseText))
            }
        }
        return SeverityLevel(code: code, name: name, description: f["description"]?.string("description") ?? "",
                             responseTime: response,
                             teamMobilisation: f["team_mobilisation"]?.string("team_mobilisation"),
                             impact: f["impact"]?.string("impact"), userScope: f["user_scope"]?.string("user_scope"),
                             serviceImpact: f["service_impact"]?.string("service_impact"),
                             statusUpdateInterval: f["status_updates"]?.duration("status_updates"))
    }

    /// Resolves a severity reference against the active ladder, recording an error when it names none.
    static func resolve(_ node: YAMLNode, key: String, ladder: SeverityLadder) -> SeverityLevel? {
        guard let text = node.string(key) else { return nil }
        guard let level = ladder.level(named: text) else {
            node.diagnostics.add(.unknownSeverity(node.location, found: text,
                                                  known: ladder.levels.map { "\($0.code) (\($0.name))" }))
            return nil
        }
        return level
    }
}

/// `incident_types:` — seed 000's incident-type table.
enum IncidentTypeLoader {
    static let categories = ["security_breach", "system_overload", "data_corruption"]

    static func load(_ node: YAMLNode, ladder: SeverityLadder) -> [IncidentTypeDefinition]? {
        guard let items = node.sequence("incident_types") else { return nil }
        return items.compactMap { item in
            guard let f = item.fields("incident type", allowed: ["name", "severity", "containment", "runbook",
                                                                 "components", "security", "data_integrity"]),
                  let name = f.required("name")?.string("name"),
                  let sevNode = f.required("severity"),
                  let level = SeverityLoader.resolve(sevNode, key: "severity", ladder: ladder) else { return nil }
            var containment: String?
            if let c = f["containment"], let s = c.string("containment") {
                if categories.contains(s) { containment = s } else {
                    c.diagnostics.add(.invalidValue(c.location, key: "containment", found: s,
                                                    expected: "one of \(categories.joined(separator: ", "))"))
                }
            }
            return IncidentTypeDefinition(name: name, severity: level.code, containment: containment,
                                          runbook: f["runbook"]?.string("runbook"),
                                          components: f["components"]?.strings("components") ?? [],
                                          security: f["security"]?.bool("security") ?? false,
                                          dataIntegrity: f["data_integrity"]?.bool("data_integrity") ?? false)
        }
    }
}

/// `escalation:` — seed 000's escalation-path table and the time each level waits.
enum EscalationLoader {
    static func load(_ node: YAMLNode, ladder: SeverityLadder) -> EscalationPaths? {
        guard let f = node.fields("escalation", allowed: ["paths", "step_interval"]) else { return nil }
        var chains: [String: [String: [EscalationStep]]] = [:]
        if let paths = f["paths"]?.mapping("paths") {
            for responder in paths {
                guard let bySeverity = responder.value.mapping(responder.key) else { continue }
                var row: [String: [EscalationStep]] = [:]
                for cell in bySeverity {
                    guard let level = SeverityLoader.resolve(cell.keyNode, key: "severity", ladder: ladder) else {
                        continue
                    }
                    row[level.code] = steps(cell.value)
                }
                chains[roleIdentifier(responder.key)] = row
            }
        }
        var intervals: [String: Duration] = [:]
        if let si = f["step_interval"]?.mapping("step_interval") {
            for e in si {
                if let level = SeverityLoader.resolve(e.keyNode, key: "severity", ladder: ladder),
                   let d = e.value.duration("step_interval") {
                    intervals[level.code] = d
                }
            }
        }
        return EscalationPaths(chains: chains, stepIntervals: intervals)
    }

    /// `Team Lead -> Engineering Manager -> CTO` as the seed writes it, or a list of the same.
    static func steps(_ node: YAMLNode) -> [EscalationStep] {
        let parts: [String]
        if let s = node.scalar {
            parts = s.components(separatedBy: "->").map { $0.trimmingWhitespace() }.filter { !$0.isEmpty }
        } else {
            parts = node.strings("chain") ?? []
        }
        return parts.map { part in
            switch roleIdentifier(part) {
            case "add_to_backlog", "backlog": .backlog
            case "assign_to_team": .assignToTeam
            case let id: .role(id)
            }
        }
    }
}

/// `roles:` and `roster:`.
enum RosterLoader {
    static func roles(_ node: YAMLNode) -> [RoleDefinition]? {
        guard let items = node.sequence("roles") else { return nil }
        return items.compactMap { item in
            guard let f = item.fields("role", allowed: ["id", "name", "responsibilities"]),
                  let name = f.required("name")?.string("name") else { return nil }
            let id = f["id"]?.string("id") ?? roleIdentifier(name)
            return RoleDefinition(id: id, name: name,
                                  responsibilities: f["responsibilities"]?.string("responsibilities") ?? "")
        }
    }

    static func roster(_ node: YAMLNode) -> Roster? {
        guard let f = node.fields("roster", allowed: ["people", "rotations", "overrides"]) else { return nil }
        var roster = Roster()
        for item in f["people"]?.sequence("people") ?? [] {
            guard let p = item.fields("person", allowed: ["id", "name", "contacts", "skills", "contact_order"]),
                  let id = p.required("id")?.string("id") else { continue }
            var contacts: [String: String] = [:]
            for c in p["contacts"]?.mapping("contacts") ?? [] { contacts[c.key] = c.value.string(c.key) }
            let order = p["contact_order"].flatMap { NotificationSettingsLoader.contactOrder($0, known: Set(contacts.keys)) }
            roster.people.append(Person(id: id, name: p["name"]?.string("name") ?? id, contacts: contacts,
                                        skills: p["skills"]?.strings("skills") ?? [], contactOrder: order))
        }
        let known = Set(roster.people.map(\.id))
        for item in f["rotations"]?.sequence("rotations") ?? [] {
            guard let r = item.fields("rotation", allowed: ["id", "role", "components", "members", "start", "period"]),
                  let id = r.required("id")?.string("id"), let role = r.required("role")?.string("role"),
                  let membersNode = r.required("members"), let members = membersNode.strings("members"),
                  let start = r.required("start")?.timestamp("start"),
                  let period = r.required("period")?.duration("period") else { continue }
            for m in members where !known.contains(m) {
                item.diagnostics.add(.invalidValue(membersNode.location, key: "members", found: m,
                                                   expected: "the id of a person listed under roster.people"))
            }
            roster.rotations.append(Rotation(id: id, role: roleIdentifier(role),
                                             components: r["components"]?.strings("components") ?? [],
                                             members: members, start: start, period: period))
        }
        for item in f["overrides"]?.sequence("overrides") ?? [] {
            guard let o = item.fields("override", allowed: ["rotation", "person", "from", "until"]),
                  let rotation = o.required("rotation")?.string("rotation"),
                  let person = o.required("person")?.string("person"),
                  let from = o.required("from")?.timestamp("from"),
                  let until = o.required("until")?.timestamp("until") else { continue }
            if !known.contains(person), let n = o["person"] {
                n.diagnostics.add(.invalidValue(n.location, key: "person", found: person,
                                                expected: "the id of a person listed under roster.people"))
            }
            if !roster.rotations.contains(where: { $0.id == rotation }), let n = o["rotation"] {
                n.diagnostics.add(.invalidValue(n.location, key: "rotation", found: rotation,
                                                expected: "the id of a rotation listed under roster.rotations"))
            }
            if until <= from, let n = o["until"] {
                n.diagnostics.add(.invalidValue(n.location, key: "until", found: until.rfc3339,
                                                expected: "a time after \"from\" (\(from.rfc3339))"))
            }
            roster.overrides.append(RosterOverride(rotation: rotation, person: person, from: from, until: until))
        }
        return roster
    }
}

/// `incidents:` — id prefix, initial responder, reopen window and post-mortem policy.
enum IncidentSettingsLoader {
    static func load(_ node: YAMLNode, into policy: inout IncidentPolicy, escalation: EscalationPaths) {
        guard let f = node.fields("incidents", allowed: ["id_prefix", "initial_responder", "reopen_window",
                                                         "post_mortem", "when_condition_clears", "targets",
                                                         "recovery_watch"]) else { return }
        if let w = f["recovery_watch"] { RecoveryWatchLoader.load(w, into: &policy.handling.recoveryWatch) }
        if let t = f["targets"] { policy.handling.targets = ResponseTargetLoader.load(t, ladder: policy.ladder) }
        if let p = f["id_prefix"]?.string("id_prefix") { policy.idPrefix = p }
        if let n = f["initial_responder"], let text = n.string("initial_responder") {
            let id = roleIdentifier(text)
            let rows = escalation.chains.keys.sorted()
            if rows.isEmpty || rows.contains(id) {
                policy.handling.initialResponder = id
            } else {
                n.diagnostics.add(.invalidValue(n.location, key: "initial_responder", found: text,
                                                expected: "a row of escalation.paths (\(rows.joined(separator: ", ")))"))
            }
        }
        if let d = f["reopen_window"]?.duration("reopen_window") { policy.handling.reopenWindow = d }
        if let clears = f["when_condition_clears"]?.fields("when_condition_clears", allowed: ["move_to", "after"]) {
            if let n = clears["move_to"], let text = n.string("move_to") {
                if let action = ConditionClearedAction(rawValue: text) {
                    policy.handling.whenConditionClears = action
                } else {
                    n.diagnostics.add(.invalidValue(n.location, key: "move_to", found: text,
                                                    expected: ConditionClearedAction.allCases.map(\.rawValue)
                                                        .joined(separator: ", ")))
                }
            }
            if let d = clears["after"]?.duration("after") { policy.handling.clearedHold = d }
        }
        if let pm = f["post_mortem"]?.fields("post_mortem", allowed: ["severities", "within", "cause_lookback", "cause_limit",
                                                                      "self_approval"]) {
            if let d = pm["within"]?.duration("within") { policy.handling.postMortemWithin = d }
            if let b = pm["self_approval"]?.bool("self_approval") { policy.handling.postMortemSelfApproval = b }
            // Root-cause help: how far before detection the possible causes are looked for, and how many are listed.
            if let n = pm["cause_lookback"], let d = n.duration("cause_lookback") {
                if d >= .seconds(60) && d <= ChangeLimits.maximumAge { policy.components.lookback = d } else {
                    n.diagnostics.add(.invalidValue(n.location, key: "cause_lookback", found: DurationText.format(d),
                                                    expected: "between 1 minute and 30 days"))
                }
            }
            if let n = pm["cause_limit"], let limit = n.int("cause_limit", range: 1...50) { policy.components.limit = limit }
            if let list = pm["severities"]?.sequence("severities") {
                policy.handling.postMortemSeverities = list.compactMap {
                    SeverityLoader.resolve($0, key: "severities", ladder: policy.ladder)?.code
                }
            }
        }
    }
}

/// `incidents.targets`: the response-time goals `vigil report metrics` checks. An empty list
/// checks none; leaving the key out keeps seed 004's (MTTD under 5 minutes for the two most
/// severe levels).
enum ResponseTargetLoader {
    static let maximumTargets = 50

    static func load(_ node: YAMLNode, ladder: SeverityLadder) -> [ResponseTarget] {
        guard let items = node.sequence("targets") else { return [.seedDetection] }
        if items.count > maximumTargets {
            node.diagnostics.add(.invalidValue(node.location, key: "targets", found: "\(items.count) targets",
                                               expected: "at most \(maximumTargets)"))
        }
        var out: [ResponseTarget] = []
        for item in items.prefix(maximumTargets) {
            guard let f = item.fields("targets", allowed: ["name", "phase", "statistic", "below", "severities"]) else { continue }
            var ok = true
            func choice<T: RawRepresentable & CaseIterable>(_ key: String, _ fallback: T?) -> T? where T.RawValue == String {
                guard let n = f[key] else {
                    if fallback == nil { _ = f.required(key); ok = false }
                    return fallback
                }
                guard let text = n.string(key) else { ok = false; return nil }
                guard let value = T(rawValue: text.lowercased()) else {
                    n.diagnostics.add(.invalidValue(n.location, key: key, found: text,
                                                    expected: T.allCases.map(\.rawValue).joined(separator: ", ")))
                    ok = false
                    return nil
                }
                return value
            }
            let phase: ResponseTarget.Phase? = choice("phase", nil)
            let statistic: ResponseTarget.Statistic? = choice("statistic", .mean)
            var below: Duration?
            if let n = f.required("below") {
                below = n.duration("below", atLeast: .milliseconds(1))
            }
            var severities: [String]?
            if let n = f["severities"], let list = n.sequence("severities") {
                let codes = list.compactMap { SeverityLoader.resolve($0, key: "severities", ladder: ladder)?.code }
                if codes.count != list.count { ok = false }
                if list.isEmpty {
                    n.diagnostics.add(.invalidValue(n.location, key: "severities", found: "[]",
                                                    expected: "at least one severity, or leave the key out for the two most severe"))
                    ok = false
                }
                severities = codes
            }
            guard ok, let phase, let statistic, let below else { continue }
            let name = f["name"]?.string("name") ?? "\(statistic.rawValue) time to \(phase.rawValue) under \(DurationText.format(below))"
                + (severities.map { " for " + $0.joined(separator: "/") } ?? " for the two most severe levels")
            out.append(ResponseTarget(name: name, phase: phase, statistic: statistic, below: below, severities: severities))
        }
        return out
    }
}

/// `incidents.recovery_watch`: how long resolved rule incidents are watched, and how much more
/// sensitive their rules are meanwhile.
enum RecoveryWatchLoader {
    static func load(_ node: YAMLNode, into policy: inout RecoveryWatchPolicy) {
        guard let f = node.fields("recovery_watch", allowed: ["enabled", "duration", "factor", "thresholds"]) else { return }
        if let b = f["enabled"]?.bool("enabled") { policy.enabled = b }
        if let n = f["duration"], let d = n.duration("duration", atLeast: RecoveryWatchPolicy.minimumDuration) {
            if d > RecoveryWatchPolicy.maximumDuration {
                n.diagnostics.add(.invalidValue(n.location, key: "duration", found: DurationText.format(d),
                                                expected: "at most \(DurationText.format(RecoveryWatchPolicy.maximumDuration)) "
                                                    + "(seed 004 watches for 24 to 72 hours)"))
            } else {
                policy.duration = d
            }
        }
        if let n = f["factor"], let v = number(n, key: "factor") {
            if v > 0, v <= 1 {
                policy.factor = v
            } else {
                n.diagnostics.add(.invalidValue(n.location, key: "factor", found: n.scalar ?? "",
                                                expected: "a number above 0 and at most 1 (0.8 makes > 90 into > 72)"))
            }
        }
        if let n = f["thresholds"], let entries = n.mapping("thresholds") {
            if entries.count > RecoveryWatchPolicy.maximumThresholds {
                n.diagnostics.add(.invalidValue(n.location, key: "thresholds", found: "\(entries.count) rules",
                                                expected: "at most \(RecoveryWatchPolicy.maximumThresholds)"))
                return
            }
            var thresholds: [String: Double] = [:]
            for (key, _, value) in entries {
                if let v = number(value, key: key) { thresholds[key] = v }
            }
            policy.thresholds = thresholds
        }
    }

    /// A finite number, or an error naming the key.
    private static func number(_ node: YAMLNode, key: String) -> Double? {
        guard let text = node.string(key) else { return nil }
        guard let v = Double(text.trimmingWhitespace()), v.isFinite else {
            node.diagnostics.add(.invalidValue(node.location, key: key, found: text, expected: "a finite number"))
            return nil
        }
        return v
    }
}
