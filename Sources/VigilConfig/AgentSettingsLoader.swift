import Foundation
import VigilCore

/// `agent:` (this daemon is a host agent) and `agents:` (how a central daemon watches its agents).
/// See ``AgentModeSettings`` and ``AgentWatchSettings``.
enum AgentSettingsLoader {
    static let agentKeys = ["central", "token_file", "call_in", "batch", "spool_limit", "timeout", "ca_file"]
    static let watchKeys = ["missing_after", "severity", "incident_type", "component"]

    static func agent(_ node: YAMLNode, resolve: (String) -> String) -> AgentModeSettings? {
        guard let f = node.fields("agent", allowed: agentKeys) else { return nil }
        var central: [String] = []
        if let n = f.required("central") {
            let urls = n.node.sequence != nil ? (n.strings("central") ?? []) : (n.string("central").map { [$0] } ?? [])
            if urls.isEmpty, n.node.sequence != nil {
                n.diagnostics.add(.invalidValue(n.location, key: "central", found: "an empty list",
                                                expected: "the central daemons' URLs (http://HOST:PORT or https://HOST:PORT)"))
            }
            for url in urls {
                if let problem = Self.urlProblem(url) {
                    n.diagnostics.add(.invalidValue(n.location, key: "central", found: url, expected: problem))
                } else {
                    central.append(url.hasSuffix("/") ? String(url.dropLast()) : url)
                }
            }
            if urls.count > 16 {
                n.diagnostics.add(.invalidValue(n.location, key: "central", found: "\(urls.count) URLs", expected: "at most 16"))
            }
        }
        // Every key is checked even when token_file is missing, so one run names every problem.
        let token = f.required("token_file")?.string("token_file")
        var settings = AgentModeSettings(central: central, tokenFile: token.map(resolve) ?? "")
        if let n = f["call_in"], let d = n.duration("call_in", atLeast: .seconds(1)) {
            if d > .seconds(3600) {
                n.diagnostics.add(.invalidValue(n.location, key: "call_in", found: DurationText.format(d), expected: "at most 1 hour"))
            } else {
                settings.callIn = d
            }
        }
        if let n = f["batch"], let v = n.int("batch", range: 1...AgentModeSettings.maximumBatch) { settings.batch = v }
        if let n = f["spool_limit"], let v = n.int("spool_limit", range: 1000...100_000_000) { settings.spoolLimit = v }
        if let n = f["timeout"], let d = n.duration("timeout", atLeast: .milliseconds(100)) {
            if d > .seconds(300) {
                n.diagnostics.add(.invalidValue(n.location, key: "timeout", found: DurationText.format(d), expected: "at most 5 minutes"))
            } else {
                settings.timeout = d
            }
        }
        if let n = f["ca_file"], let path = n.string("ca_file") { settings.caFile = resolve(path) }
        return token == nil ? nil : settings
    }

    /// Why `url` cannot be a central daemon's base URL, or nil when it can.
    static func urlProblem(_ url: String) -> String? {
        let expected = "a URL like http://HOST:PORT or https://HOST:PORT (no query, no fragment)"
        guard url.utf8.count <= 2048, let c = URLComponents(string: url), let scheme = c.scheme?.lowercased(),
              scheme == "http" || scheme == "https", let host = c.host, !host.isEmpty,
              c.query == nil, c.fragment == nil, c.user == nil, c.password == nil else { return expected }
        if let port = c.port, !(1...65535).contains(port) { return expected }
        return nil
    }

    static func watch(_ node: YAMLNode, policy: IncidentPolicy) -> AgentWatchSettings {
        var settings = AgentWatchSettings()
        guard let f = node.fields("agents", allowed: watchKeys) else { return settings }
        if let n = f["missing_after"], let d = n.duration("missing_after", atLeast: .seconds(5)) {
            if d > .seconds(7 * 86_400) {
                n.diagnostics.add(.invalidValue(n.location, key: "missing_after", found: DurationText.format(d), expected: "at most 7 days"))
            } else {
                settings.missingAfter = d
            }
        }
        if let n = f["severity"], let s = n.string("severity") {
            if policy.ladder.level(named: s) == nil {
                n.diagnostics.add(.unknownSeverity(n.location, found: s, known: policy.ladder.levels.map(\.code)))
            }
            settings.severity = s
        }
        if let n = f["incident_type"], let name = n.string("incident_type") {
            if policy.incidentType(named: name) == nil {
                n.diagnostics.add(.invalidValue(n.location, key: "incident_type", found: name,
                                                expected: "one of incident_types (\(policy.incidentTypes.map(\.name).joined(separator: ", ")))"))
            }
            settings.incidentType = name
        }
        settings.component = f["component"]?.string("component")
        return settings
    }
}
