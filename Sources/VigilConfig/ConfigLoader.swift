import Foundation
import VigilCore

/// Loads and validates a Vigil configuration file and the files it names.
///
/// Every problem is collected and reported together with its `file:line:column`; a
/// configuration with any error is refused whole, so a reload never half-applies.
public enum ConfigLoader {
    static let topLevelKeys = [
        "state_dir", "log_level", "control", "severity", "incident_types", "escalation", "roles", "roster",
        "rules", "containment", "templates", "runbooks", "plugins", "bus", "incidents", "http", "alerting",
        "maintenance_windows", "heartbeats", "notifications", "disaster_recovery",
        "components", "agent", "agents",
    ]

    /// Loads the configuration at `path`; throws ``ConfigErrors`` listing every problem.
    public static func load(path: String) throws(ConfigErrors) -> VigilConfiguration {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigErrors([.unreadableFile(SourceLocation(file: path, line: 1, column: 1), path: path,
                                                reason: Self.reason(error))])
        }
        return try load(text: text, file: path)
    }

    /// Loads configuration text as if read from `file` (relative paths resolve against its folder).
    public static func load(text: String, file: String) throws(ConfigErrors) -> VigilConfiguration {
        let diagnostics = Diagnostics()
        let config = parse(text: text, file: file, diagnostics: diagnostics)
        if var config, diagnostics.errors.isEmpty {
            config.sourceText = text
            return config
        }
        throw ConfigErrors(diagnostics.errors)
    }

    static func reason(_ error: any Error) -> String {
        let ns = error as NSError
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        return ns.localizedDescription
    }

    static func parse(text: String, file: String, diagnostics: Diagnostics) -> VigilConfiguration? {
        guard let root = YAMLNode.parse(text, file: file, diagnostics: diagnostics),
              let top = root.fields("configuration", allowed: topLevelKeys) else { return nil }
        let base = (absolute(file) as NSString).deletingLastPathComponent
        func path(_ p: String) -> String { p.hasPrefix("/") ? p : (base as NSString).appendingPathComponent(p) }

        guard let severityNode = top.required("severity"),
              let (ladder, ladders) = SeverityLoader.load(severityNode) else { return nil }
        let types = top["incident_types"].flatMap { IncidentTypeLoader.load($0, ladder: ladder) } ?? []
        let escalation = top["escalation"].flatMap { EscalationLoader.load($0, ladder: ladder) }
            ?? EscalationPaths(chains: [:])
        let roles = top["roles"].flatMap { RosterLoader.roles($0) } ?? []
        let roster = top["roster"].flatMap { RosterLoader.roster($0) } ?? Roster()

        var config = VigilConfiguration(sourceFile: file, baseDirectory: base,
                                        policy: IncidentPolicy(ladder: ladder, ladders: ladders))
        config.policy.incidentTypes = types
        config.policy.escalation = escalation
        config.policy.roles = roles
        config.policy.roster = roster
        if let s = top["state_dir"]?.string("state_dir") { config.stateDirectory = s }
        if let n = top["log_level"], let s = n.string("log_level") {
            let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
            if levels.contains(s) { config.logLevel = s } else {
                diagnostics.add(.invalidValue(n.location, key: "log_level", found: s,
                                              expected: "one of \(levels.joined(separator: ", "))"))
            }
        }
        if let c = top["control"]?.fields("control", allowed: ["allowed_group"]) {
            config.control.allowedGroup = c["allowed_group"]?.string("allowed_group")
        }
        if let r = top["rules"]?.fields("rules", allowed: ["files", "consistently", "stale_after", "own_change_approval", "recording"]) {
            if let rec = r["recording"] { config.sampleRecording = SampleRecordingLoader.load(rec) }
            if let d = r["own_change_approval"]?.duration("own_change_approval") {
                if d >= .zero && d <= .seconds(86_400) { config.ownChangeApproval = d } else {
                    r["own_change_approval"]?.diagnostics.add(.invalidValue(r["own_change_approval"]?.location ?? r.owner.location,
                                                                           key: "own_change_approval", found: "\(d)",
                                                                           expected: "between 0 seconds and 24 hours"))
                }
            }
            config.ruleFiles = (r["files"]?.strings("files") ?? []).map(path)
            if let d = r["consistently"]?.duration("consistently") { config.consistentlyDuration = d }
            if let d = r["stale_after"]?.duration("stale_after") {
                if d > .zero { config.ruleStaleAfter = d } else {
                    r["stale_after"]?.diagnostics.add(.invalidValue(r["stale_after"]?.location ?? r.owner.location,
                                                                   key: "stale_after", found: "\(d)", expected: "longer than 0"))
                }
            }
        }
        if let c = top["containment"]?.fields("containment", allowed: ContainmentSettingsLoader.keys) {
            if let f = c["file"]?.string("file") {
                config.containmentFile = path(f)
                config.policy.containment = ContainmentFileLoader.load(path: path(f), from: c.values["file"],
                                                                      diagnostics: diagnostics)
            }
            config.containment = ContainmentSettingsLoader.load(c, resolve: path)
            let known = Set(config.policy.containment.values.joined()).union(ContainmentCatalog.actions.map(\.name))
            for e in c["actions"]?.node.mapping ?? [:] {
                guard let name = e.key.string, !known.contains(name) else { continue }
                diagnostics.add(.unknownKey(SourceLocation(file: file, line: e.key.mark?.line ?? 1, column: e.key.mark?.column ?? 1),
                                            key: name, allowed: known.sorted()))
            }
        }
        if let t = top["templates"]?.fields("templates", allowed: ["directory"]),
           let d = t["directory"]?.string("directory") {
            config.templatesDirectory = path(d)
        }
        if let t = top["runbooks"]?.fields("runbooks", allowed: ["directory"]),
           let d = t["directory"]?.string("directory") {
            config.runbooksDirectory = path(d)
            let actions = Set(config.policy.containment.values.joined())
            let before = diagnostics.errors.count
            config.runbooks = RunbookLoader.load(directory: path(d), actions: actions, from: t["directory"],
                                                 diagnostics: diagnostics)
            config.policy.runbooks = config.runbooks
            // Every incident type's runbook must be one of them (rules' runbooks are checked with the rules).
            // (Only when the folder loaded cleanly: a broken runbook is already reported where it is.)
            if diagnostics.errors.count == before, let types = top["incident_types"], let items = types.node.sequence {
                for item in items {
                    guard let value = item.mapping?["runbook"], let name = value.string,
                          config.runbooks[name] == nil else { continue }
                    let at = SourceLocation(file: types.file, line: value.mark?.line ?? 1, column: value.mark?.column ?? 1)
                    diagnostics.add(.invalidValue(at, key: "runbook", found: name,
                                                  expected: "a runbook of \(d) (\(config.runbooks.keys.sorted().joined(separator: ", ")))"))
                }
            }
        }
        if let c = top["components"] { ComponentsLoader.load(c, into: &config.policy.components) }
        if let i = top["incidents"] {
            IncidentSettingsLoader.load(i, into: &config.policy, escalation: escalation)
        }
        if let p = top["plugins"] { config.plugins = PluginSettingsLoader.load(p, resolve: path) }
        if let b = top["bus"] { config.bus = BusSettingsLoader.load(b) }
        if let w = top["maintenance_windows"] { config.maintenanceWindows = MaintenanceWindowLoader.load(w) }
        if let h = top["http"] { config.http = HTTPSettingsLoader.load(h, resolve: path) }
        if let a = top["alerting"] { config.alerting = AlertingSettingsLoader.load(a, policy: config.policy) }
        if let h = top["heartbeats"] { config.heartbeats = HeartbeatSettingsLoader.load(h, policy: config.policy) }
        if let a = top["agent"] { config.agent = AgentSettingsLoader.agent(a, resolve: path) }
        if let a = top["agents"] { config.agents = AgentSettingsLoader.watch(a, policy: config.policy) }
        if let n = top["notifications"] { config.notifications = NotificationSettingsLoader.load(n, into: &config.policy) }
        if let d = top["disaster_recovery"] {
            let actions = Set(config.policy.containment.values.joined()).union(ContainmentCatalog.actions.map(\.name))
            config.policy.disasterRecovery = DisasterRecoveryLoader.load(d, policy: config.policy, actions: actions) ?? .init()
        }
        // Rules are part of the configuration: a reload with a bad rule is refused whole, like any other error.
        config.rules = RuleFileLoader.load(paths: config.ruleFiles, consistently: config.consistentlyDuration,
                                           staleAfter: config.ruleStaleAfter, policy: config.policy,
                                           incidentTypeNames: top["incident_types"]?.node.sequence?.compactMap { $0["name"]?.string },
                                           from: top["rules"] ?? root, diagnostics: diagnostics)
        // A recovery-watch threshold for a rule that is not loaded would silently never apply.
        if !config.policy.handling.recoveryWatch.thresholds.isEmpty,
           let watch = top["incidents"]?.mapping("incidents")?.first(where: { $0.key == "recovery_watch" })?.value,
           let thresholds = watch.mapping("recovery_watch")?.first(where: { $0.key == "thresholds" })?.value,
           let entries = thresholds.mapping("thresholds") {
            let ids = Set(config.rules.rules.map(\.id))
            for (key, keyNode, _) in entries where !ids.contains(key) {
                keyNode.diagnostics.add(.invalidValue(keyNode.location, key: "thresholds", found: key,
                                                      expected: "the id of a loaded rule (see vigil rules check --list)"))
            }
        }
        // A detector may declare what these rules listen for only when its grant says so.
        config.plugins.policy.ruleNames = Set(config.rules.rules.map(\.expression.selector.name))
        return config
    }

    /// `path` made absolute against the current directory.
    public static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return (path as NSString).standardizingPath }
        return ((FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(path) as NSString)
            .standardizingPath
    }
}

/// Turns a role or responder as people write it (`On-call Engineer`) into its id (`on_call_engineer`).
public func roleIdentifier(_ text: String) -> String {
    var out = ""
    var pendingSeparator = false
    for ch in text.lowercased() {
        if ch.isLetter || ch.isNumber {
            if pendingSeparator, !out.isEmpty { out.append("_") }
            pendingSeparator = false
            out.append(ch)
        } else {
            pendingSeparator = true
        }
    }
    return out
}
