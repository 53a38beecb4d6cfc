/// The operator's ceiling over what plugin manifests may ask for (`plugins.policy` in
/// `vigil.yaml`, see `Docs/configuration.md`, "Plugin policy").
///
/// Deny by default: a manifest gets only what ``defaultCeiling`` allows plus the grant named
/// after it in ``grants``. A manifest that asks for more does not start; ``violations(of:)``
/// says what, field by field. Some syscalls and capabilities can never be granted, whatever the
/// policy says (``neverGrantableSyscalls``, ``neverGrantableCapabilities``). A detector's
/// `emits:` is held to it too: the `security` lane, the seed's security signals and the names
/// the rules listen for only through the plugin's own grant (``grantOnlyNames``).
public struct PluginPolicy: Sendable, Equatable {
    /// What every plugin may ask for.
    public var defaultCeiling: PluginCeiling
    /// Additions for one plugin, by its manifest `name`.
    public var grants: [String: PluginCeiling]
    /// Event names the configuration's rules listen for (filled in by the configuration loader):
    /// with the seed's security signals they are the names a detector may declare only when its
    /// own grant lists them (``grantOnlyNames``).
    public var ruleNames: Set<String>

    public init(defaultCeiling: PluginCeiling = PluginCeiling(), grants: [String: PluginCeiling] = [:],
                ruleNames: Set<String> = []) {
        self.defaultCeiling = defaultCeiling
        self.grants = grants
        self.ruleNames = ruleNames
    }

    /// Names that open incidents or take the never-dropped security lane: the seed's security
    /// signals and every name a loaded rule listens for. The default ceiling never reaches them; a
    /// detector may declare one (by name or by a prefix covering it) only when its own grant's
    /// `emits` does, so no detector can raise another's incidents just by declaring their names.
    public var grantOnlyNames: Set<String> {
        EventName.securitySignals.union(ruleNames).filter { !EventName.isReservedForDaemon($0) }
    }

    /// The policy of a configuration without a `plugins.policy` section: the default limits,
    /// network `none`, nothing else.
    public static let builtIn = PluginPolicy()

    /// What the plugin named `plugin` may ask for: the default ceiling widened by its grant.
    public func ceiling(for plugin: String) -> PluginCeiling {
        guard let grant = grants[plugin] else { return defaultCeiling }
        return defaultCeiling.widened(by: grant)
    }

    /// Everything `manifest` asks beyond its ceiling, in manifest order; empty when it may start.
    public func violations(of manifest: PluginManifest) -> [PolicyViolation] {
        let ceiling = ceiling(for: manifest.name)
        let needs = manifest.sandbox
        var out: [PolicyViolation] = []
        func refuse(_ field: String, _ asked: String, _ allowed: String) {
            out.append(PolicyViolation(plugin: manifest.name, field: field, asked: asked, allowed: allowed))
        }
        func list(_ items: [String]) -> String { items.isEmpty ? "nothing" : items.joined(separator: ", ") }

        if !ceiling.networks.contains(needs.network) {
            refuse("sandbox.network", needs.network.rawValue,
                   list(PluginNetwork.allCases.filter(ceiling.networks.contains).map(\.rawValue)))
        }
        for destination in needs.egress where !PluginCeiling.allows(destination, ceiling.egress) {
            refuse("sandbox.egress", destination.description, list(ceiling.egress))
        }
        for cap in needs.capabilities {
            if Self.neverGrantableCapabilities.contains(cap) {
                refuse("sandbox.capabilities", cap, "never (no policy can grant it)")
            } else if !ceiling.capabilities.contains(cap) {
                refuse("sandbox.capabilities", cap, list(ceiling.capabilities.sorted()))
            }
        }
        for (key, calls) in [("sandbox.syscalls.allow", needs.extraAllow), ("sandbox.syscalls.watch", needs.extraWatch)] {
            for call in calls {
                if Self.neverGrantableSyscalls.contains(call) {
                    refuse(key, call, "never (no policy can grant it)")
                } else if !ceiling.syscalls.contains(call) {
                    refuse(key, call, list(ceiling.syscalls.sorted()))
                }
            }
        }
        // An optional item needs the same grant as a required one, whether the host has it or
        // not: the policy reads the same on every host, and `vigil plugins check` can say so offline.
        for (field, groups) in [("sandbox.groups", needs.groups), (OptionalSandboxItem.Field.groups.key, needs.optionalGroups)] {
            for group in groups {
                if Self.neverGrantableGroups.contains(group) {
                    refuse(field, group, "never (no policy can grant it)")
                } else if !ceiling.groups.contains(group) {
                    refuse(field, group, list(ceiling.groups.sorted()))
                }
            }
        }
        for (field, programs) in [("sandbox.executables", needs.executables),
                                  (OptionalSandboxItem.Field.executables.key, needs.optionalExecutables)] {
            for program in programs where !ceiling.executables.contains(program) {
                refuse(field, program, list(ceiling.executables.sorted()))
            }
        }
        for (field, paths) in [("sandbox.read_paths", needs.readPaths), (OptionalSandboxItem.Field.readPaths.key, needs.optionalReadPaths)] {
            for path in paths where !PolicyPath.isInside(path, anyOf: ceiling.readPaths + ceiling.writePaths) {
                refuse(field, path, list(ceiling.readPaths + ceiling.writePaths))
            }
        }
        for path in needs.writePaths where !PolicyPath.isInside(path, anyOf: ceiling.writePaths) {
            refuse("sandbox.write_paths", path, list(ceiling.writePaths))
        }
        let asked = needs.limits
        let limits: [(String, UInt64?, UInt64?, (UInt64) -> String)] = [
            ("memory", asked.memoryBytes, ceiling.limits.memoryBytes, PluginCeiling.Limits.bytesText),
            ("cpu", asked.cpuSeconds, ceiling.limits.cpuSeconds, { "\($0) seconds" }),
            ("open_files", asked.openFiles, ceiling.limits.openFiles, { "\($0)" }),
            ("processes", asked.processes, ceiling.limits.processes, { "\($0)" }),
            ("data", asked.dataBytes, ceiling.limits.dataBytes, PluginCeiling.Limits.bytesText),
        ]
        for (name, value, maximum, text) in limits {
            guard let maximum else { continue }
            // An unset limit would be unlimited; the ceiling then becomes the limit (see ``granted(_:)``).
            guard let value else { continue }
            if value > maximum { refuse("sandbox.limits.\(name)", text(value), "at most \(text(maximum))") }
        }
        out += emitsViolations(of: manifest)
        return out
    }

    /// What `manifest`'s `emits:` asks beyond the policy (field `emits`). An entry is admitted
    /// when the plugin's own grant covers it (an exact grant for a name, or a granted prefix whose
    /// stem starts the entry); otherwise it may not ask for the `security` lane, may not name or
    /// cover (as a prefix) any of ``grantOnlyNames`` the grant does not cover, and must be covered by
    /// the default ceiling's `emits`.
    func emitsViolations(of manifest: PluginManifest) -> [PolicyViolation] {
        let granted = grants[manifest.name]?.emits ?? []
        let guarded = grantOnlyNames
        var out: [PolicyViolation] = []
        func grantText() -> String {
            granted.isEmpty ? "grants.\(manifest.name).emits lists nothing" : "grants.\(manifest.name).emits: " + granted.joined(separator: ", ")
        }
        for entry in manifest.emits {
            let asked = entry.name + (entry.lane.map { " (lane \($0))" } ?? "")
            func refuse(_ allowed: String) {
                out.append(PolicyViolation(plugin: manifest.name, field: "emits", asked: asked, allowed: allowed))
            }
            if PluginCeiling.covers(granted, entry) { continue }
            let lane = entry.lane ?? (entry.isPrefix ? nil : EventName.defaultLane(name: entry.name, kind: .signal))
            if lane == .security {
                refuse("the security lane only for names granted to this plugin (\(grantText()))")
                continue
            }
            let reached = guarded.filter { entry.matches($0) && !PluginCeiling.covers(granted, EmittedEvent(name: $0)) }.sorted()
            if !reached.isEmpty {
                let shown = reached.prefix(6).joined(separator: ", ") + (reached.count > 6 ? ", …" : "")
                refuse(entry.isPrefix
                    ? "no prefix reaching names rules listen for or security signals (\(shown)) unless granted (\(grantText()))"
                    : "only with a grant: a rule listens for it, or it is a security signal (\(grantText()))")
                continue
            }
            if !PluginCeiling.covers(defaultCeiling.emits, entry) {
                refuse(defaultCeiling.emits.isEmpty ? "nothing" : defaultCeiling.emits.joined(separator: ", "))
            }
        }
        return out
    }

    /// `manifest` with every limit it leaves unset filled in from its ceiling, so "unset" never
    /// means "unlimited" when the policy has a ceiling. Call only when ``violations(of:)`` is empty.
    public func granted(_ manifest: PluginManifest) -> PluginManifest {
        let ceiling = ceiling(for: manifest.name).limits
        var copy = manifest
        var limits = copy.sandbox.limits
        limits.memoryBytes = limits.memoryBytes ?? ceiling.memoryBytes
        limits.cpuSeconds = limits.cpuSeconds ?? ceiling.cpuSeconds
        limits.openFiles = limits.openFiles ?? ceiling.openFiles
        limits.processes = limits.processes ?? ceiling.processes
        // Unlike the others, an unset data size is the default, not the ceiling: every byte of
        // it is a byte of the state filesystem the plugin may hold.
        limits.dataBytes = limits.dataBytes ?? min(PluginLimits.defaultDataBytes, ceiling.dataBytes ?? .max)
        copy.sandbox.limits = limits
        return copy
    }

    /// Groups no manifest may join, whatever the policy: each is root in all but name (raw disks,
    /// kernel memory, the password hashes, sudo, container runtimes that start a root shell).
    public static let neverGrantableGroups: Set<String> = [
        "root", "shadow", "disk", "kmem", "sudo", "wheel", "admin", "docker", "lxd", "incus-admin", "libvirt", "kvm",
    ]

    /// Syscalls no manifest may add, whatever the policy: they escape or blind the sandbox
    /// (namespaces, mounts, another filter, kernel modules, tracing), bypass its argument checks
    /// (`clone`, `clone3`, `prctl`, `socket`, `socketpair` are only allowed with those checks), or
    /// open attack surface the filter cannot see into (io_uring runs syscalls the filter never
    /// sees; `memfd_create` gives an executable file outside every path rule).
    public static let neverGrantableSyscalls: Set<String> = [
        // The hard-deny group (Sandbox/groups/hard-deny.group).
        "ptrace", "mount", "umount2", "pivot_root", "chroot", "bpf", "setns", "keyctl", "add_key", "request_key",
        "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load", "reboot", "swapon", "swapoff",
        "perf_event_open", "process_vm_readv", "process_vm_writev", "userfaultfd", "open_by_handle_at", "fsopen",
        "fsmount", "fsconfig", "fspick", "move_mount", "open_tree", "mount_setattr", "acct", "quotactl", "iopl", "ioperm",
        "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "syslog", "vhangup", "uselib",
        // Namespaces, filters and argument-checked calls.
        "unshare", "seccomp", "clone", "clone3", "prctl", "socket", "socketpair", "personality", "modify_ldt",
        // Attack surface outside the filter's view.
        "io_uring_setup", "io_uring_enter", "io_uring_register", "memfd_create", "memfd_secret",
        "name_to_handle_at", "pidfd_getfd", "kcmp", "lookup_dcookie", "fanotify_init", "nfsservctl",
    ]

    /// Capabilities no manifest may keep, whatever the policy: each is root in all but name
    /// (`CAP_SYS_ADMIN`, `CAP_SETUID`, …), or reaches around the sandbox (`CAP_DAC_READ_SEARCH`
    /// opens any inode by handle, `CAP_SYS_PTRACE` reads other processes).
    public static let neverGrantableCapabilities: Set<String> = [
        "CAP_SYS_ADMIN", "CAP_SYS_MODULE", "CAP_SYS_PTRACE", "CAP_SYS_RAWIO", "CAP_SYS_BOOT", "CAP_SYS_CHROOT",
        "CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP", "CAP_SETFCAP", "CAP_MAC_ADMIN", "CAP_MAC_OVERRIDE", "CAP_BPF",
        "CAP_PERFMON", "CAP_CHECKPOINT_RESTORE", "CAP_DAC_READ_SEARCH", "CAP_DAC_OVERRIDE", "CAP_MKNOD",
        "CAP_AUDIT_CONTROL", "CAP_SYSLOG", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
    ]
}

/// What a plugin may ask for: the default ceiling of every plugin, or one plugin's grant on top.
public struct PluginCeiling: Sendable, Equatable {
    /// Upper bounds of `sandbox.limits`; nil: no ceiling for that limit.
    public struct Limits: Sendable, Equatable {
        public var memoryBytes: UInt64?
        public var cpuSeconds: UInt64?
        public var openFiles: UInt64?
        public var processes: UInt64?
        /// The largest data folder (`sandbox.limits.data`).
        public var dataBytes: UInt64?

        public init(memoryBytes: UInt64? = 1 << 30, cpuSeconds: UInt64? = nil, openFiles: UInt64? = 1024,
                    processes: UInt64? = 64, dataBytes: UInt64? = 1 << 30) {
            self.memoryBytes = memoryBytes
            self.cpuSeconds = cpuSeconds
            self.openFiles = openFiles
            self.processes = processes
            self.dataBytes = dataBytes
        }

        static func bytesText(_ n: UInt64) -> String {
            if n >= 1 << 30, n % (1 << 30) == 0 { return "\(n >> 30) GiB" }
            if n >= 1 << 20, n % (1 << 20) == 0 { return "\(n >> 20) MiB" }
            return "\(n) bytes"
        }
    }

    public var limits: Limits
    public var networks: Set<PluginNetwork>
    /// Capability names (`CAP_NET_ADMIN`).
    public var capabilities: Set<String>
    /// Syscall names a manifest may add under `sandbox.syscalls` (allow or watch).
    public var syscalls: Set<String>
    /// Programs a manifest may list under `sandbox.executables` (exact absolute paths).
    public var executables: Set<String>
    /// Group names a manifest may list under `sandbox.groups` (supplementary groups).
    public var groups: Set<String> = []
    /// Absolute folders (or files) under which `read_paths` may lie; write prefixes are readable too.
    public var readPaths: [String]
    /// Absolute folders (or files) under which `write_paths` may lie.
    public var writePaths: [String]
    /// Whether the plugin may ask the daemon to apply its nftables containment table
    /// (`inet vigil_containment`, nothing else) in its action results.
    public var nftables: Bool
    /// Event names (`cpu_usage`) and prefixes (`app_*`, `*` for every name) a detector may
    /// declare under `emits:`. In the default ceiling they never reach
    /// ``PluginPolicy/grantOnlyNames``; in a plugin's grant they do, and they allow the `security`
    /// lane for what they cover.
    public var emits: [String]
    /// Destinations a brokered plugin may declare under `sandbox.egress`: `host:port`, with `*`
    /// for any host or any port, `*.example.org` for names under a domain, or `*` for any. None
    /// by default: a grant names them (the default's list is added to every plugin's).
    public var egress: [String]

    public init(limits: Limits = Limits(), networks: Set<PluginNetwork> = [.none], capabilities: Set<String> = [],
                syscalls: Set<String> = [], executables: Set<String> = [], readPaths: [String] = [], writePaths: [String] = [],
                nftables: Bool = false, emits: [String] = ["*"], egress: [String] = []) {
        self.emits = emits
        self.egress = egress
        self.limits = limits
        self.networks = networks
        self.capabilities = capabilities
        self.syscalls = syscalls
        self.executables = executables
        self.readPaths = readPaths
        self.writePaths = writePaths
        self.nftables = nftables
    }

    /// This ceiling with `grant` added: sets and paths are joined; a limit the grant sets
    /// replaces the default one (a grant may raise or lower it).
    public func widened(by grant: PluginCeiling) -> PluginCeiling {
        var out = self
        out.networks.formUnion(grant.networks)
        out.capabilities.formUnion(grant.capabilities)
        out.syscalls.formUnion(grant.syscalls)
        out.executables.formUnion(grant.executables)
        out.groups.formUnion(grant.groups)
        out.readPaths += grant.readPaths.filter { !out.readPaths.contains($0) }
        out.writePaths += grant.writePaths.filter { !out.writePaths.contains($0) }
        out.nftables = nftables || grant.nftables
        out.emits += grant.emits.filter { !out.emits.contains($0) }
        out.egress += grant.egress.filter { !out.egress.contains($0) }
        out.limits.memoryBytes = grant.limits.memoryBytes ?? limits.memoryBytes
        out.limits.cpuSeconds = grant.limits.cpuSeconds ?? limits.cpuSeconds
        out.limits.openFiles = grant.limits.openFiles ?? limits.openFiles
        out.limits.processes = grant.limits.processes ?? limits.processes
        out.limits.dataBytes = grant.limits.dataBytes ?? limits.dataBytes
        return out
    }
}

extension PluginCeiling {
    /// Whether one of `patterns` (see ``egress``) allows `destination`.
    public static func allows(_ destination: EgressDestination, _ patterns: [String]) -> Bool {
        patterns.contains { pattern in
            if pattern == "*" { return true }
            guard let colon = pattern.lastIndex(of: ":") else { return false }
            var host = EgressDestination.canonical(String(pattern[..<colon]))
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            let port = pattern[pattern.index(after: colon)...]
            guard port == "*" || UInt16(port) == destination.port else { return false }
            if host == "*" || host == destination.host { return true }
            return host.hasPrefix("*.") && destination.host.hasSuffix(String(host.dropFirst()))
        }
    }

    /// Whether `pattern` is an egress pattern (see ``egress``).
    public static func isEgressPattern(_ pattern: String) -> Bool {
        if pattern == "*" { return true }
        guard let colon = pattern.lastIndex(of: ":") else { return false }
        let port = pattern[pattern.index(after: colon)...]
        guard port == "*" || UInt16(port).map({ $0 > 0 }) == true else { return false }
        var host = pattern[..<colon]
        if host == "*" { return true }
        if host.hasPrefix("*.") { host = host.dropFirst(2) }
        return EgressDestination(parsing: (host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : String(host)) + ":1") != nil
    }

    /// Whether one of `patterns` (names, or prefixes ending in `*`) covers all of `entry`: an
    /// exact pattern only that name; a prefix every name, and every narrower prefix, its stem starts.
    public static func covers(_ patterns: [String], _ entry: EmittedEvent) -> Bool {
        patterns.contains { pattern in
            let p = EmittedEvent(name: pattern)
            return p.isPrefix ? entry.stem.hasPrefix(p.stem) : (!entry.isPrefix && entry.name == pattern)
        }
    }
}

/// One thing a manifest asks beyond its ceiling.
public struct PolicyViolation: Sendable, Equatable, Codable, CustomStringConvertible {
    public var plugin: String
    /// The manifest field, dotted (`sandbox.capabilities`, `sandbox.limits.memory`).
    public var field: String
    /// What the manifest asks for.
    public var asked: String
    /// What the policy allows there.
    public var allowed: String

    public init(plugin: String, field: String, asked: String, allowed: String) {
        self.plugin = plugin
        self.field = field
        self.asked = asked
        self.allowed = allowed
    }

    public var description: String {
        "plugin \(plugin): \(field) asks for \(asked); the policy allows \(allowed)"
    }
}

/// Path arithmetic for the policy: lexical, component-wise (never a string prefix), and
/// refusing any `..` that would climb above `/`.
public enum PolicyPath {
    /// `path` as an absolute path without `.`, `..` or repeated slashes; nil when it is not
    /// absolute or a `..` climbs above `/`. Symlinks are not looked at (see the plugin host's
    /// path guard, which refuses them).
    public static func normalize(_ path: String) -> String? {
        guard path.hasPrefix("/") else { return nil }
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch part {
            case ".": continue
            case "..":
                guard parts.popLast() != nil else { return nil }
            default: parts.append(part)
            }
        }
        return "/" + parts.joined(separator: "/")
    }

    /// `path` relative to `base` (an absolute folder) unless already absolute, normalized.
    public static func resolve(_ path: String, against base: String) -> String? {
        normalize(path.hasPrefix("/") ? path : base + "/" + path)
    }

    /// Whether `path` is `prefix` or lies below it, by whole components.
    public static func isInside(_ path: String, _ prefix: String) -> Bool {
        guard let p = normalize(path), let q = normalize(prefix) else { return false }
        return q == "/" || p == q || p.hasPrefix(q + "/")
    }

    public static func isInside(_ path: String, anyOf prefixes: [String]) -> Bool {
        prefixes.contains { isInside(path, $0) }
    }

    /// Whether binding `path` would show anything of `protected`: it is inside it, or holds it.
    public static func overlaps(_ path: String, _ protected: String) -> Bool {
        isInside(path, protected) || isInside(protected, path)
    }
}
