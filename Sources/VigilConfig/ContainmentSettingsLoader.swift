import VigilCore

/// `containment:` — the seed's rules file and how the response engine runs its actions.
///
/// ```yaml
/// containment:
///   file: containment-rules.yaml
///   start: automatic            # or manual
///   dry_run: false
///   deadline: 60 seconds
///   loop_breaker: { max_runs: 3, within: 1 hour }
///   backup: { directory: backups, paths: [/etc/vigil], keep: 20, reuse_within: 30 seconds }
///   enhanced_logging: { for: 30 minutes, level: debug }
///   circuit_breakers: { failure_rate: 0.5, consecutive_failures: 5, open_for: 60 seconds }
///   reduce_eventbus_throughput: { keep_one_in: 4 }
///   verify_every: 30 seconds
///   actions:
///     disable_external_connections: { mode: approve, params: { allow: [192.0.2.10/32] } }
/// ```
enum ContainmentSettingsLoader {
    static let keys = ["file", "start", "dry_run", "deadline", "loop_breaker", "backup", "enhanced_logging",
                       "circuit_breakers", "reduce_eventbus_throughput", "verify_every", "actions"]

    static func load(_ f: Fields, resolve: (String) -> String) -> ContainmentSettings {
        var s = ContainmentSettings()
        if let n = f["start"], let v = n.string("start") {
            switch v {
            case "automatic": s.automaticStart = true
            case "manual": s.automaticStart = false
            default: n.diagnostics.add(.invalidValue(n.location, key: "start", found: v, expected: "automatic or manual"))
            }
        }
        if let b = f["dry_run"]?.bool("dry_run") { s.dryRun = b }
        if let d = positive(f["deadline"], "deadline") { s.deadline = d }
        if let d = positive(f["verify_every"], "verify_every") { s.verifyEvery = d }
        if let l = f["loop_breaker"]?.fields("loop_breaker", allowed: ["max_runs", "within"]) {
            if let m = l["max_runs"]?.int("max_runs", range: 1...1000) { s.loopMaxRuns = m }
            if let d = positive(l["within"], "within") { s.loopWindow = d }
        }
        if let b = f["backup"]?.fields("backup", allowed: ["directory", "paths", "keep", "reuse_within"]) {
            if let n = b["reuse_within"], let d = n.duration("reuse_within") { s.backupReuseWithin = d }
            if let d = b["directory"]?.string("directory") { s.backupDirectory = resolve(d) }
            if let p = b["paths"]?.strings("paths") {
                for (i, path) in p.enumerated() where !path.hasPrefix("/") {
                    let n = b["paths"]?.node.sequence?[i]
                    let at = SourceLocation(file: b.owner.file, line: n?.mark?.line ?? 1, column: n?.mark?.column ?? 1)
                    b.owner.diagnostics.add(.invalidValue(at, key: "paths", found: path, expected: "an absolute path"))
                }
                s.backupPaths = p.filter { $0.hasPrefix("/") }
            }
            if let k = b["keep"]?.int("keep", range: 1...10_000) { s.keepBackups = k }
        }
        if let e = f["enhanced_logging"]?.fields("enhanced_logging", allowed: ["for", "level"]) {
            if let d = positive(e["for"], "for") { s.enhancedLoggingFor = d }
            if let n = e["level"], let v = n.string("level") {
                let levels = ["trace", "debug", "info"]
                if levels.contains(v) { s.enhancedLogLevel = v } else {
                    n.diagnostics.add(.invalidValue(n.location, key: "level", found: v, expected: "trace, debug or info"))
                }
            }
        }
        if let c = f["circuit_breakers"]?.fields("circuit_breakers",
                                                  allowed: ["failure_rate", "consecutive_failures", "open_for"]) {
            if let n = c["failure_rate"], let t = n.string("failure_rate") {
                if let v = Double(t), v > 0, v <= 1 { s.breakerFailureRate = v } else {
                    n.diagnostics.add(.invalidValue(n.location, key: "failure_rate", found: t, expected: "a fraction above 0, at most 1"))
                }
            }
            if let v = c["consecutive_failures"]?.int("consecutive_failures", range: 1...1000) { s.breakerConsecutiveFailures = v }
            if let d = positive(c["open_for"], "open_for") { s.breakerOpenFor = d }
        }
        if let r = f["reduce_eventbus_throughput"]?.fields("reduce_eventbus_throughput", allowed: ["keep_one_in"]),
           let k = r["keep_one_in"]?.int("keep_one_in", range: 2...1_000_000) {
            s.telemetryKeepOneIn = k
        }
        for e in f["actions"]?.mapping("actions") ?? [] {
            guard let a = e.value.fields(e.key, allowed: ["mode", "dry_run", "deadline", "params"]) else { continue }
            var settings = ActionSettings()
            if let n = a["mode"], let v = n.string("mode") {
                if let m = ActionMode(rawValue: v) { settings.mode = m } else {
                    n.diagnostics.add(.invalidValue(n.location, key: "mode", found: v, expected: "auto, approve or off"))
                }
            }
            settings.dryRun = a["dry_run"]?.bool("dry_run")
            settings.deadline = positive(a["deadline"], "deadline")
            if let p = a["params"] {
                if case .object(let o) = PluginManifestFile.json(p, key: "params") { settings.params = o } else {
                    p.diagnostics.add(.wrongType(p.location, key: "params", expected: "a mapping of parameters"))
                }
            }
            s.actions[e.key] = settings
        }
        return s
    }

    static func positive(_ n: YAMLNode?, _ key: String) -> Duration? {
        guard let n, let d = n.duration(key) else { return nil }
        guard d > .zero else {
            n.diagnostics.add(.invalidValue(n.location, key: key, found: DurationText.format(d), expected: "longer than 0"))
            return nil
        }
        return d
    }
}
