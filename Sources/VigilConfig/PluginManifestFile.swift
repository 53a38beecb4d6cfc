import Foundation
import VigilCore
import Yams

/// Loads a plugin's `plugin.yaml` into a ``PluginManifest``, reporting every problem with its
/// `file:line:column` (see `Docs/plugin-authoring.md` for the format).
public enum PluginManifestFile {
    static let topKeys = ["name", "kind", "version", "description", "exec", "args", "protocol", "sandbox",
                          "timeouts", "critical", "config", "emits"]
    /// A POSIX group name: a letter or `_`, then letters, digits, `_`, `-` (at most 32).
    static func isGroupName(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first, s.utf8.count <= 32 else { return false }
        func ok(_ c: Unicode.Scalar, first: Bool) -> Bool {
            (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || c == "_" || (!first && ((c >= "0" && c <= "9") || c == "-"))
        }
        return ok(first, first: true) && s.unicodeScalars.dropFirst().allSatisfy { ok($0, first: false) }
    }

    static let sandboxKeys = ["profile", "network", "ports", "egress", "capabilities", "read_paths", "write_paths",
                              "limits", "env", "syscalls", "executables", "groups",
                              "optional_executables", "optional_groups", "optional_read_paths"]
    static let limitKeys = ["memory", "cpu", "open_files", "processes", "data"]
    static let timeoutKeys = ["handshake", "heartbeat", "action_deadline"]

    /// Loads `DIRECTORY/plugin.yaml`; throws ``ConfigErrors`` listing every problem.
    public static func load(directory: String) throws(ConfigErrors) -> PluginManifest {
        let dir = directory.hasPrefix("/") ? directory
            : (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(directory)
        let file = (dir as NSString).appendingPathComponent("plugin.yaml")
        let text: String
        do {
            text = try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            throw ConfigErrors([.unreadableFile(SourceLocation(file: file, line: 1, column: 1), path: file,
                                                reason: ConfigLoader.reason(error))])
        }
        return try load(text: text, file: file, directory: (dir as NSString).standardizingPath)
    }

    /// Loads manifest text as if read from `file` in the plugin folder `directory`.
    public static func load(text: String, file: String, directory: String) throws(ConfigErrors) -> PluginManifest {
        let diagnostics = Diagnostics()
        let manifest = parse(text: text, file: file, directory: directory, diagnostics: diagnostics)
        if let manifest, diagnostics.errors.isEmpty { return manifest }
        throw ConfigErrors(diagnostics.errors)
    }

    static func parse(text: String, file: String, directory: String, diagnostics: Diagnostics) -> PluginManifest? {
        guard let root = YAMLNode.parse(text, file: file, diagnostics: diagnostics),
              let top = root.fields("plugin", allowed: topKeys) else { return nil }
        let name = top.required("name").flatMap { n -> String? in
            guard let s = n.string("name") else { return nil }
            guard !s.isEmpty, s.count <= 64, s.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
                diagnostics.add(.invalidValue(n.location, key: "name", found: s,
                                              expected: "1 to 64 letters, digits, '-' or '_'"))
                return nil
            }
            return s
        }
        let kind = top.required("kind").flatMap { n in choice(n, "kind", PluginKind.self) }
        let exec = top.required("exec").flatMap { n -> String? in
            guard let s = n.string("exec") else { return nil }
            let path = s.hasPrefix("/") ? s : (directory as NSString).appendingPathComponent(s)
            let standardized = (path as NSString).standardizingPath
            guard standardized.hasPrefix(directory + "/") else {
                diagnostics.add(.invalidValue(n.location, key: "exec", found: s, expected: "a program inside the plugin folder"))
                return nil
            }
            return standardized
        }
        let protocolVersion = top.required("protocol").flatMap { $0.int("protocol", range: 1...1) }
        var manifest = PluginManifest(name: name ?? "", kind: kind ?? .detector, directory: directory,
                                      executable: exec ?? "", protocolVersion: protocolVersion ?? 1)
        manifest.version = top["version"]?.string("version") ?? ""
        manifest.description = top["description"]?.string("description") ?? ""
        manifest.arguments = top["args"]?.strings("args") ?? []
        manifest.critical = top["critical"]?.bool("critical") ?? false
        if let s = top["sandbox"] { manifest.sandbox = sandbox(s, directory: directory) }
        if let t = top["timeouts"] { manifest.timeouts = timeouts(t) }
        if let c = top["config"] {
            let value = json(c, key: "config")
            if value.objectValue == nil {
                diagnostics.add(.wrongType(c.location, key: "config", expected: "a mapping of keys to values"))
            }
            manifest.config = value
        }
        if let e = top["emits"] {
            if kind != .detector {
                diagnostics.add(.invalidValue(e.location, key: "emits", found: kind?.rawValue ?? "?",
                                              expected: "emits only in a detector's manifest (only detectors send events)"))
            }
            manifest.emits = emits(e)
        }
        guard name != nil, kind != nil, exec != nil, protocolVersion != nil else { return nil }
        return manifest
    }

    /// `emits:`: names (`cpu_usage`), prefixes (`app_*`) or `{name: NAME, lane: security|incident|telemetry}`.
    static func emits(_ node: YAMLNode) -> [EmittedEvent] {
        (node.sequence("emits") ?? []).compactMap { n -> EmittedEvent? in
            var entry: EmittedEvent
            if n.scalar != nil {
                guard let s = n.string("emits") else { return nil }
                entry = EmittedEvent(name: s)
            } else {
                guard let f = n.fields("emits", allowed: ["name", "lane"]),
                      let s = f.required("name")?.string("name") else { return nil }
                entry = EmittedEvent(name: s)
                if let l = f["lane"], let text = l.string("lane") {
                    guard let lane = Lane(name: text) else {
                        l.diagnostics.add(.invalidValue(l.location, key: "lane", found: text,
                                                        expected: "one of security, incident, telemetry"))
                        return nil
                    }
                    entry.lane = lane
                }
            }
            let stem = String(entry.stem)
            guard entry.name == "*" || (!stem.isEmpty && EventName.isValid(stem)) else {
                n.diagnostics.add(.invalidValue(n.location, key: "emits", found: entry.name,
                                                expected: "an event name (letters, digits, '_', ':'), or a prefix ending in '*'"))
                return nil
            }
            guard !EventName.isReservedForDaemon(stem) else {
                n.diagnostics.add(.invalidValue(n.location, key: "emits", found: entry.name,
                                                expected: "a name outside the daemon's own (plugin_*, eventbus_*, vigil_* and "
                                                    + EventName.daemonSignals.sorted().joined(separator: ", ") + ")"))
                return nil
            }
            return entry
        }
    }

    static func choice<T: RawRepresentable & CaseIterable>(_ n: YAMLNode, _ key: String, _: T.Type) -> T? where T.RawValue == String {
        guard let s = n.string(key) else { return nil }
        guard let v = T(rawValue: s) else {
            n.diagnostics.add(.invalidValue(n.location, key: key, found: s,
                                            expected: "one of " + T.allCases.map(\.rawValue).joined(separator: ", ")))
            return nil
        }
        return v
    }

    static func sandbox(_ node: YAMLNode, directory: String) -> PluginSandboxNeeds {
        var needs = PluginSandboxNeeds()
        guard let f = node.fields("sandbox", allowed: sandboxKeys) else { return needs }
        needs.profile = f["profile"]?.string("profile")
        if let n = f["network"], let v = choice(n, "network", PluginNetwork.self) { needs.network = v }
        needs.ports = (f["ports"]?.sequence("ports") ?? []).compactMap { $0.int("ports", range: 1...65_535).map(UInt16.init) }
        needs.egress = (f["egress"]?.sequence("egress") ?? []).compactMap { n -> EgressDestination? in
            guard let s = n.string("egress") else { return nil }
            guard let d = EgressDestination(parsing: s) else {
                n.diagnostics.add(.invalidValue(n.location, key: "egress", found: s,
                                                expected: "host:port, like smtp.example.org:587, 192.0.2.1:25 or [2001:db8::1]:443"))
                return nil
            }
            return d
        }
        if let e = f["egress"], needs.network != .brokered {
            e.diagnostics.add(.invalidValue(e.location, key: "egress", found: "destinations with network \(needs.network.rawValue)",
                                            expected: "network: brokered (the daemon connects only a brokered plugin's egress)"))
        }
        if needs.network == .brokered, needs.egress.isEmpty, f["egress"] == nil, let n = f["network"] {
            n.diagnostics.add(.invalidValue(n.location, key: "network", found: "brokered without egress",
                                            expected: "an egress: list of host:port destinations the daemon may connect for the plugin"))
        }
        needs.capabilities = (f["capabilities"]?.sequence("capabilities") ?? []).compactMap { n -> String? in
            guard let s = n.string("capabilities") else { return nil }
            let upper = s.uppercased()
            let name = upper.hasPrefix("CAP_") ? upper : "CAP_" + upper
            guard name.dropFirst(4).allSatisfy({ $0.isLetter || $0 == "_" }), name.count > 4 else {
                n.diagnostics.add(.invalidValue(n.location, key: "capabilities", found: s, expected: "a capability name like CAP_NET_RAW"))
                return nil
            }
            return name
        }
        needs.groups = groupNames(f["groups"], "groups")
        if needs.groups.count > SandboxSpec.maximumGroups, let n = f["groups"] {
            n.diagnostics.add(.invalidValue(n.location, key: "groups", found: "\(needs.groups.count) groups",
                                            expected: "at most \(SandboxSpec.maximumGroups)"))
        }
        needs.readPaths = paths(f["read_paths"], "read_paths", directory: directory)
        needs.writePaths = paths(f["write_paths"], "write_paths", directory: directory)
        needs.executables = programs(f["executables"], "executables")
        optional(f, into: &needs, directory: directory)
        if let l = f["limits"] { needs.limits = limits(l) }
        for e in f["env"]?.mapping("env") ?? [] {
            if let v = e.value.string(e.key) { needs.environment[e.key] = v }
        }
        if let s = f["syscalls"], let sf = s.fields("syscalls", allowed: ["allow", "watch"]) {
            needs.extraAllow = sf["allow"]?.strings("allow") ?? []
            needs.extraWatch = sf["watch"]?.strings("watch") ?? []
        }
        return needs
    }

    /// Group names (`adm`), each a POSIX group name.
    static func groupNames(_ node: YAMLNode?, _ key: String) -> [String] {
        (node?.sequence(key) ?? []).compactMap { n -> String? in
            guard let s = n.string(key) else { return nil }
            guard PluginManifestFile.isGroupName(s) else {
                n.diagnostics.add(.invalidValue(n.location, key: key, found: s, expected: "a group name like adm"))
                return nil
            }
            return s
        }
    }

    /// Absolute paths of programs, normalized.
    static func programs(_ node: YAMLNode?, _ key: String) -> [String] {
        (node?.sequence(key) ?? []).compactMap { n -> String? in
            guard let s = n.string(key) else { return nil }
            guard s.hasPrefix("/") else {
                n.diagnostics.add(.invalidValue(n.location, key: key, found: s, expected: "an absolute path of a program"))
                return nil
            }
            return PolicyPath.normalize(s) ?? s
        }
    }

    /// `optional_executables`, `optional_groups` and `optional_read_paths`: read like their
    /// required keys, at most ``PluginSandboxNeeds/maximumOptionalItems`` each (groups: at most
    /// ``SandboxSpec/maximumGroups`` with `groups`), and none also required.
    static func optional(_ f: Fields, into needs: inout PluginSandboxNeeds, directory: String) {
        needs.optionalExecutables = programs(f["optional_executables"], "optional_executables")
        needs.optionalGroups = groupNames(f["optional_groups"], "optional_groups")
        needs.optionalReadPaths = paths(f["optional_read_paths"], "optional_read_paths", directory: directory)
        let lists: [(key: String, items: [String], required: String, requiredItems: [String])] = [
            ("optional_executables", needs.optionalExecutables, "executables", needs.executables),
            ("optional_groups", needs.optionalGroups, "groups", needs.groups),
            ("optional_read_paths", needs.optionalReadPaths, "read_paths", needs.readPaths),
        ]
        for list in lists {
            guard let n = f[list.key] else { continue }
            if list.items.count > PluginSandboxNeeds.maximumOptionalItems {
                n.diagnostics.add(.invalidValue(n.location, key: list.key, found: "\(list.items.count) items",
                                                expected: "at most \(PluginSandboxNeeds.maximumOptionalItems)"))
            }
            for item in list.items where list.requiredItems.contains(item) {
                n.diagnostics.add(.invalidValue(n.location, key: list.key, found: item,
                                                expected: "an item not also under \(list.required) (an item is required or optional)"))
            }
        }
        let groups = Set(needs.groups).union(needs.optionalGroups).count
        if groups > SandboxSpec.maximumGroups, let n = f["optional_groups"] {
            n.diagnostics.add(.invalidValue(n.location, key: "optional_groups", found: "\(groups) groups with those under groups",
                                            expected: "at most \(SandboxSpec.maximumGroups) in all"))
        }
    }

    /// Absolute paths, or paths relative to the plugin folder (`../sdk/python`), normalized.
    static func paths(_ node: YAMLNode?, _ key: String, directory: String) -> [String] {
        (node?.sequence(key) ?? []).compactMap { n -> String? in
            guard let s = n.string(key) else { return nil }
            guard !s.isEmpty else {
                n.diagnostics.add(.invalidValue(n.location, key: key, found: s, expected: "a path"))
                return nil
            }
            // Lexical, never through the filesystem: a symlink stays in the path as written, so
            // the plugin host's path guard sees it and refuses it at start.
            guard let normalized = PolicyPath.resolve(s, against: directory), normalized != "/" else {
                n.diagnostics.add(.invalidValue(n.location, key: key, found: s, expected: "a path below / (the whole root cannot be bound)"))
                return nil
            }
            return normalized
        }
    }

    static func limits(_ node: YAMLNode) -> PluginLimits {
        var limits = PluginLimits()
        guard let f = node.fields("limits", allowed: limitKeys) else { return limits }
        if let m = f["memory"] { limits.memoryBytes = bytes(m, "memory") }
        if let c = f["cpu"] {
            if let s = c.scalar, let whole = UInt64(s) { limits.cpuSeconds = whole }
            else if let d = c.duration("cpu") { limits.cpuSeconds = UInt64(max(1, d.components.seconds)) }
        }
        if let o = f["open_files"], let v = o.int("open_files", range: 8...1_048_576) { limits.openFiles = UInt64(v) }
        if let p = f["processes"], let v = p.int("processes", range: 1...65_536) { limits.processes = UInt64(v) }
        if let d = f["data"] { limits.dataBytes = dataBytes(d) }
        return limits
    }

    /// `data:` of `limits`, a size of at least ``PluginLimits/minimumDataBytes`` and at most
    /// 1 TiB, rounded down to whole KiB (mkfs.ext4 counts the image in blocks).
    static func dataBytes(_ node: YAMLNode) -> UInt64? {
        guard let n = bytes(node, "data") else { return nil }
        guard n >= PluginLimits.minimumDataBytes, n <= 1 << 40 else {
            node.diagnostics.add(.invalidValue(node.location, key: "data", found: node.scalar ?? "\(n)",
                                               expected: "a size from 4 MiB to 1 TiB"))
            return nil
        }
        return n / 1024 * 1024
    }

    /// A size like `256 MiB`, `1 GiB`, `1 TiB`, `512M` or a plain number of bytes.
    static func bytes(_ node: YAMLNode, _ key: String) -> UInt64? {
        guard let s = node.string(key) else { return nil }
        let text = s.trimmingCharacters(in: .whitespaces)
        let digits = text.prefix { $0.isNumber }
        let unit = text.dropFirst(digits.count).trimmingCharacters(in: .whitespaces).lowercased()
        let scale: UInt64? = switch unit {
        case "", "b": 1
        case "k", "kb", "kib": 1 << 10
        case "m", "mb", "mib": 1 << 20
        case "g", "gb", "gib": 1 << 30
        case "t", "tb", "tib": 1 << 40
        default: nil
        }
        guard let n = UInt64(digits), let scale, n > 0 else {
            node.diagnostics.add(.invalidValue(node.location, key: key, found: s, expected: "a size like \"256 MiB\", \"1 GiB\" or \"1 TiB\""))
            return nil
        }
        let (total, overflow) = n.multipliedReportingOverflow(by: scale)
        guard !overflow else {
            node.diagnostics.add(.invalidValue(node.location, key: key, found: s, expected: "a size below 16 EiB"))
            return nil
        }
        return total
    }

    static func timeouts(_ node: YAMLNode) -> PluginTimeouts {
        var t = PluginTimeouts()
        guard let f = node.fields("timeouts", allowed: timeoutKeys) else { return t }
        if let d = f["handshake"]?.duration("handshake") { t.handshake = d }
        if let d = f["heartbeat"]?.duration("heartbeat") { t.heartbeat = d }
        if let d = f["action_deadline"]?.duration("action_deadline") { t.actionDeadline = d }
        return t
    }

    /// Most values a manifest's `config:` may expand to. YAML aliases share one node, so a few
    /// hundred bytes of nested aliases ("billion laughs") would otherwise expand to 10^9 values.
    static let maximumConfigValues = 100_000

    /// A YAML node as JSON (see ``json(_:budget:)``); more than ``maximumConfigValues`` values is an error.
    static func json(_ node: YAMLNode, key: String) -> JSONValue {
        var budget = maximumConfigValues
        let value = json(node, budget: &budget)
        if budget < 0 {
            node.diagnostics.add(.invalidValue(node.location, key: key, found: "more than \(maximumConfigValues) values",
                                               expected: "a smaller value (each use of an alias counts again)"))
        }
        return value
    }

    /// A YAML node as JSON: plain scalars are typed (bool, number, null), quoted ones stay strings.
    /// Each value spends one of `budget`; below zero, the rest reads as null.
    static func json(_ node: YAMLNode, budget: inout Int) -> JSONValue {
        budget -= 1
        guard budget >= 0 else { return .null }
        switch node.node {
        case .scalar(let scalar):
            if scalar.style != .plain { return .string(scalar.string) }
            switch scalar.string {
            case "true", "True", "TRUE", "yes": return .bool(true)
            case "false", "False", "FALSE", "no": return .bool(false)
            case "null", "~", "": return .null
            default: break
            }
            if let n = Double(scalar.string.filter { $0 != "_" }), scalar.string.first.map({ $0.isNumber || $0 == "-" || $0 == "+" || $0 == "." }) == true {
                return .number(n)
            }
            return .string(scalar.string)
        case .sequence(let seq):
            var items: [JSONValue] = []
            for item in seq {
                guard budget >= 0 else { break }
                items.append(json(node.child(item), budget: &budget))
            }
            return .array(items)
        case .mapping(let map):
            var object: [String: JSONValue] = [:]
            for (k, v) in map {
                guard budget >= 0 else { break }
                object[k.string ?? ""] = json(node.child(v), budget: &budget)
            }
            return .object(object)
        case .alias:
            return .null
        }
    }
}
