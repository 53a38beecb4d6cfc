import VigilCore

/// `plugins.policy:` — the operator's ceiling over plugin manifests (`default:`) and the
/// per-plugin grants on top of it (`grants:`, by plugin name). Paths are resolved against the
/// configuration file's folder. Asking the policy for something no policy may grant
/// (`CAP_SYS_ADMIN`, `unshare`, …) is an error of the configuration itself.
enum PluginPolicyLoader {
    static let ceilingKeys = ["limits", "networks", "capabilities", "syscalls", "executables", "groups", "read_paths", "write_paths", "nftables", "emits", "egress"]

    /// A list of names an operator grants, normalized; names that can never be granted are
    /// errors at their place.
    static func grantable(_ node: YAMLNode?, _ key: String, noun: String, never: Set<String>,
                          normalize: (String) -> String = { $0 }) -> Set<String>? {
        guard let node, let items = node.sequence(key) else { return nil }
        return Set(items.compactMap { item -> String? in
            guard let s = item.string(key) else { return nil }
            let name = normalize(s)
            if never.contains(name) {
                item.diagnostics.add(.invalidValue(item.location, key: key, found: s,
                                                   expected: "\(noun) (\(name) can never be granted)"))
                return nil
            }
            return name
        })
    }

    static func load(_ node: YAMLNode, resolve: (String) -> String) -> PluginPolicy {
        var policy = PluginPolicy.builtIn
        guard let f = node.fields("policy", allowed: ["default", "grants"]) else { return policy }
        if let d = f["default"] {
            policy.defaultCeiling = ceiling(d, "default", base: PluginCeiling(), resolve: resolve)
        }
        for entry in f["grants"]?.mapping("grants") ?? [] {
            let empty = PluginCeiling(limits: .init(memoryBytes: nil, cpuSeconds: nil, openFiles: nil, processes: nil, dataBytes: nil),
                                      networks: [], emits: [], egress: [])
            policy.grants[entry.key] = ceiling(entry.value, entry.key, base: empty, resolve: resolve)
        }
        return policy
    }

    /// One ceiling; keys it leaves out keep `base` (the built-in default for `default:`,
    /// nothing for a grant).
    static func ceiling(_ node: YAMLNode, _ name: String, base: PluginCeiling, resolve: (String) -> String) -> PluginCeiling {
        var c = base
        guard let f = node.fields(name, allowed: ceilingKeys) else { return c }
        if let l = f["limits"], let lf = l.fields("limits", allowed: PluginManifestFile.limitKeys) {
            if let m = lf["memory"] { c.limits.memoryBytes = PluginManifestFile.bytes(m, "memory") }
            if let n = lf["cpu"] {
                if let s = n.scalar, let whole = UInt64(s), whole > 0 { c.limits.cpuSeconds = whole }
                else if let d = n.duration("cpu") { c.limits.cpuSeconds = UInt64(max(1, d.components.seconds)) }
            }
            if let o = lf["open_files"], let v = o.int("open_files", range: 8...1_048_576) { c.limits.openFiles = UInt64(v) }
            if let p = lf["processes"], let v = p.int("processes", range: 1...65_536) { c.limits.processes = UInt64(v) }
            if let d = lf["data"] { c.limits.dataBytes = PluginManifestFile.dataBytes(d) }
        }
        if let n = f["networks"], let items = n.sequence("networks") {
            c.networks = Set(items.compactMap { PluginManifestFile.choice($0, "networks", PluginNetwork.self) })
        }
        if let set = grantable(f["capabilities"], "capabilities", noun: "a capability a plugin may hold",
                               never: PluginPolicy.neverGrantableCapabilities, normalize: {
                                   let upper = $0.uppercased()
                                   return upper.hasPrefix("CAP_") ? upper : "CAP_" + upper
                               }) { c.capabilities = set }
        if let set = grantable(f["syscalls"], "syscalls", noun: "a syscall a plugin may be given",
                               never: PluginPolicy.neverGrantableSyscalls) { c.syscalls = set }
        if let n = f["executables"], let items = n.sequence("executables") {
            c.executables = Set(items.compactMap { item -> String? in
                guard let s = item.string("executables") else { return nil }
                guard let path = PolicyPath.normalize(s) else {
                    item.diagnostics.add(.invalidValue(item.location, key: "executables", found: s, expected: "an absolute path of a program"))
                    return nil
                }
                return path
            })
        }
        if let set = grantable(f["groups"], "groups", noun: "a group a plugin may join",
                               never: PluginPolicy.neverGrantableGroups) { c.groups = set }
        if let b = f["nftables"]?.bool("nftables") { c.nftables = b }
        if let n = f["emits"] { c.emits = emits(n) }
        if let n = f["egress"], let items = n.sequence("egress") {
            c.egress = items.compactMap { item -> String? in
                guard let s = item.string("egress") else { return nil }
                guard PluginCeiling.isEgressPattern(s) else {
                    item.diagnostics.add(.invalidValue(item.location, key: "egress", found: s,
                                                       expected: "host:port, with * for any host or port, *.domain:port, or *"))
                    return nil
                }
                return s
            }
        }
        if let n = f["read_paths"] { c.readPaths = paths(n, "read_paths", resolve: resolve) }
        if let n = f["write_paths"] { c.writePaths = paths(n, "write_paths", resolve: resolve) }
        return c
    }

    /// `emits:` of a ceiling: event names and prefixes (`app_*`, `*`); the daemon's own names
    /// can never be granted.
    static func emits(_ node: YAMLNode) -> [String] {
        var out: [String] = []
        for item in node.sequence("emits") ?? [] {
            guard let s = item.string("emits") else { continue }
            let entry = EmittedEvent(name: s)
            let stem = String(entry.stem)
            guard s == "*" || (!stem.isEmpty && EventName.isValid(stem)) else {
                item.diagnostics.add(.invalidValue(item.location, key: "emits", found: s,
                                                   expected: "an event name (letters, digits, '_', ':'), or a prefix ending in '*'"))
                continue
            }
            guard s == "*" || !EventName.isReservedForDaemon(stem) else {
                item.diagnostics.add(.invalidValue(item.location, key: "emits", found: s,
                                                   expected: "a name outside the daemon's own (\(s) can never be granted)"))
                continue
            }
            if !out.contains(s) { out.append(s) }
        }
        return out
    }

    static func paths(_ node: YAMLNode, _ key: String, resolve: (String) -> String) -> [String] {
        (node.sequence(key) ?? []).compactMap { item -> String? in
            guard let s = item.string(key) else { return nil }
            guard !s.isEmpty, let path = PolicyPath.normalize(resolve(s)), path != "/" else {
                item.diagnostics.add(.invalidValue(item.location, key: key, found: s,
                                                   expected: "a folder or file below / (relative paths start at this file's folder)"))
                return nil
            }
            return path
        }
    }
}
