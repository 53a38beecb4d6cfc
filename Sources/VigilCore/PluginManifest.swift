/// What a plugin does; decides which messages it receives and its default sandbox profile.
public enum PluginKind: String, Codable, Sendable, CaseIterable {
    /// Produces events (metric samples, signals) for the bus.
    case detector
    /// Delivers notifications about incidents (`notify` → `result`).
    case notifier
    /// Runs containment and recovery actions (`act` → `result`).
    case action
}

/// A plugin's `plugin.yaml`, checked and resolved: what to run and what it may do.
///
/// Loaded by `PluginManifestFile` (VigilConfig); the plugin host turns ``sandbox`` into the
/// launcher's `SandboxSpec` and ``timeouts`` into its supervision deadlines.
public struct PluginManifest: Codable, Sendable, Equatable {
    public var name: String
    public var kind: PluginKind
    /// Free text shown by `vigil plugins show`.
    public var version: String
    public var description: String
    /// The plugin's folder, absolute.
    public var directory: String
    /// The program, absolute (`exec` resolved against ``directory``).
    public var executable: String
    public var arguments: [String]
    /// The wire protocol version the plugin speaks (only 1 exists).
    public var protocolVersion: Int
    public var sandbox: PluginSandboxNeeds
    public var timeouts: PluginTimeouts
    /// A critical plugin's quarantine is itself a higher-severity incident.
    public var critical: Bool
    /// Sent to the plugin in the `welcome` frame (the manifest's `config:` mapping).
    public var config: JSONValue
    /// The event names a detector may send (`emits:`); any other name is refused.
    public var emits: [EmittedEvent]

    public init(name: String, kind: PluginKind, version: String = "", description: String = "", directory: String,
                executable: String, arguments: [String] = [], protocolVersion: Int = 1,
                sandbox: PluginSandboxNeeds = PluginSandboxNeeds(), timeouts: PluginTimeouts = PluginTimeouts(),
                critical: Bool = false, config: JSONValue = .object([:]), emits: [EmittedEvent] = []) {
        self.name = name
        self.kind = kind
        self.version = version
        self.description = description
        self.directory = directory
        self.executable = executable
        self.arguments = arguments
        self.protocolVersion = protocolVersion
        self.sandbox = sandbox
        self.timeouts = timeouts
        self.critical = critical
        self.config = config
        self.emits = emits
    }

    /// The lane an event named `name` of this kind travels on, or nil when the manifest does not
    /// declare it (or it is the daemon's): the declaration decides, never the plugin at run time.
    public func lane(forEmitted name: String, kind eventKind: EventKind) -> Lane? {
        guard !EventName.isReservedForDaemon(name) else { return nil }
        var best: EmittedEvent?
        for e in emits where e.matches(name) {
            // An exact name beats a prefix; a longer prefix beats a shorter one.
            if let b = best, b.isPrefix == false || (e.isPrefix && e.stem.count <= b.stem.count) { continue }
            best = e
        }
        guard let best else { return nil }
        if let lane = best.lane { return lane }
        if !best.isPrefix { return EventName.defaultLane(name: name, kind: eventKind) }
        return eventKind == .signal ? .incident : .telemetry
    }
}

/// One entry of a detector's `emits:` list: an event name, or a prefix ending in `*`, and
/// optionally the lane its events travel on.
///
/// Without a lane, an exact name takes the usual lane (the seed's security signals on
/// `security`, other signals on `incident`, samples on `telemetry`); a prefix never reaches
/// `security` unless it says so.
public struct EmittedEvent: Codable, Sendable, Equatable {
    /// `cpu_usage`, or `app_*` for every name starting with `app_`.
    public var name: String
    public var lane: Lane?

    public init(name: String, lane: Lane? = nil) {
        self.name = name
        self.lane = lane
    }

    public var isPrefix: Bool { name.hasSuffix("*") }
    /// The name without its trailing `*`.
    public var stem: Substring { isPrefix ? name.dropLast() : name[...] }

    public func matches(_ candidate: String) -> Bool {
        isPrefix ? candidate.hasPrefix(stem) : candidate == name
    }
}

/// The `sandbox:` section: the profile and every need the plugin declares. Anything not
/// declared is denied.
public struct PluginSandboxNeeds: Codable, Sendable, Equatable {
    /// Sandbox profile name (a file `Sandbox/NAME.profile`); defaults to the plugin's kind.
    public var profile: String?
    public var network: PluginNetwork
    /// TCP ports the plugin may connect to (network `loopback` or `outbound`).
    public var ports: [UInt16]
    /// The destinations the daemon connects for the plugin (network `brokered`).
    public var egress: [EgressDestination]
    /// Capability names kept as ambient capabilities (`CAP_NET_RAW`).
    public var capabilities: [String]
    /// Absolute paths bound read-only into the plugin's view.
    public var readPaths: [String]
    /// Absolute paths bound writable into the plugin's view.
    public var writePaths: [String]
    public var limits: PluginLimits
    /// Environment variables the plugin gets besides `PATH`, `HOME` and `TMPDIR`.
    public var environment: [String: String]
    /// Other programs the plugin may `execve` (absolute paths, e.g. `/usr/sbin/nft`); nothing else
    /// but its own program can be executed.
    public var executables: [String]
    /// Per-plugin syscall additions to the profile (`syscalls: {allow: [...], watch: [...]}`).
    public var extraAllow: [String]
    public var extraWatch: [String]
    /// Supplementary groups (names) the plugin runs with, such as `adm` to read
    /// `/var/log/auth.log`; each must be granted by the operator's policy.
    public var groups: [String] = []
    /// Programs, groups and read paths the plugin uses where the host has them
    /// (`sandbox.optional_executables`, `optional_groups`, `optional_read_paths`): each is granted
    /// by the policy like its required kind, but one the host lacks is left out of the sandbox
    /// (and logged) instead of refusing the start. `/usr/bin/journalctl` on a host without systemd.
    public var optionalExecutables: [String] = []
    public var optionalGroups: [String] = []
    public var optionalReadPaths: [String] = []

    /// Most items in each `optional_…` list (groups: with `groups`, at most ``SandboxSpec/maximumGroups``).
    public static let maximumOptionalItems = 32

    /// These needs with the optional items the host has added to the required ones, as the
    /// sandbox gets them: `present` says, for a field and an item, whether the host has it.
    public func includingOptional(where present: (OptionalSandboxItem) -> Bool) -> PluginSandboxNeeds {
        var out = self
        out.executables += optionalExecutables.filter { present(.init(field: .executables, item: $0)) && !executables.contains($0) }
        out.groups += optionalGroups.filter { present(.init(field: .groups, item: $0)) && !groups.contains($0) }
        out.readPaths += optionalReadPaths.filter { present(.init(field: .readPaths, item: $0)) && !readPaths.contains($0) }
        out.optionalExecutables = []
        out.optionalGroups = []
        out.optionalReadPaths = []
        return out
    }

    /// Every optional item, in manifest order.
    public var optionalItems: [OptionalSandboxItem] {
        optionalExecutables.map { .init(field: .executables, item: $0) } + optionalGroups.map { .init(field: .groups, item: $0) }
            + optionalReadPaths.map { .init(field: .readPaths, item: $0) }
    }

    public init(profile: String? = nil, network: PluginNetwork = .none, ports: [UInt16] = [], egress: [EgressDestination] = [],
                capabilities: [String] = [],
                readPaths: [String] = [], writePaths: [String] = [], limits: PluginLimits = PluginLimits(),
                environment: [String: String] = [:], executables: [String] = [], extraAllow: [String] = [],
                extraWatch: [String] = []) {
        self.profile = profile
        self.network = network
        self.ports = ports
        self.egress = egress
        self.capabilities = capabilities
        self.readPaths = readPaths
        self.writePaths = writePaths
        self.limits = limits
        self.environment = environment
        self.executables = executables
        self.extraAllow = extraAllow
        self.extraWatch = extraWatch
    }
}

/// One entry of a manifest's `sandbox.optional_…` lists.
public struct OptionalSandboxItem: Sendable, Hashable, CustomStringConvertible {
    /// The kind of need an optional item is.
    public enum Field: String, Sendable, Hashable, CaseIterable {
        case executables, groups, readPaths

        /// The manifest key, dotted: `sandbox.optional_executables`.
        public var key: String {
            switch self {
            case .executables: "sandbox.optional_executables"
            case .groups: "sandbox.optional_groups"
            case .readPaths: "sandbox.optional_read_paths"
            }
        }
    }

    public var field: Field
    /// The program or path (absolute, normalized), or the group name.
    public var item: String

    public init(field: Field, item: String) {
        self.field = field
        self.item = item
    }

    public var description: String { "\(field.key) \(item)" }
}

/// The network a plugin declares.
public enum PluginNetwork: String, Codable, Sendable, CaseIterable {
    /// Its own network namespace with only loopback: nothing on the host is reachable.
    case none
    /// The host's network, TCP connect limited to declared ports (meant for 127.0.0.1 services).
    case loopback
    /// The host's network, TCP connect limited to declared ports.
    case outbound
    /// No network of its own (like `none`): the daemon opens each TCP connection the plugin asks
    /// for, only to a destination declared under `egress`, and passes the connected socket.
    case brokered
}

/// One `host:port` a brokered plugin may ask the daemon to connect to.
public struct EgressDestination: Codable, Sendable, Hashable, CustomStringConvertible {
    /// A DNS name (lowercased, without a trailing dot) or an IP address (IPv6 without brackets).
    public var host: String
    public var port: UInt16

    public init(host: String, port: UInt16) {
        self.host = Self.canonical(host)
        self.port = port
    }

    /// `smtp.example.org:587`, `192.0.2.1:25`, `[2001:db8::1]:443`; nil when it is not one.
    public init?(parsing text: String) {
        let t = text.trimmingCharacters(in: .whitespaces)
        let hostPart: Substring
        let portPart: Substring
        if t.hasPrefix("[") {
            guard let close = t.firstIndex(of: "]"), t[t.index(after: close)...].hasPrefix(":") else { return nil }
            hostPart = t[t.index(after: t.startIndex)..<close]
            portPart = t[t.index(close, offsetBy: 2)...]
            guard hostPart.contains(":") else { return nil }
        } else {
            guard let colon = t.lastIndex(of: ":"), !t[..<colon].contains(":") else { return nil }
            hostPart = t[..<colon]
            portPart = t[t.index(after: colon)...]
        }
        guard let port = UInt16(portPart), port > 0, Self.isHost(hostPart) else { return nil }
        self.init(host: String(hostPart), port: port)
    }

    /// A DNS name (letters, digits, `-`, `_`, dots; labels of 1–63) or an IP address's characters.
    static func isHost(_ s: Substring) -> Bool {
        let name = s.hasSuffix(".") ? s.dropLast() : s
        guard !name.isEmpty, name.utf8.count <= 253 else { return false }
        if name.contains(":") { return name.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." } }
        return name.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            !label.isEmpty && label.utf8.count <= 63 && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }
                && label.first != "-" && label.last != "-"
        }
    }

    static func canonical(_ host: String) -> String {
        let h = host.lowercased()
        return h.hasSuffix(".") ? String(h.dropLast()) : h
    }

    /// Whether a request for `host`:`port` is this destination (names compare without case).
    public func matches(host: String, port: UInt16) -> Bool {
        port == self.port && Self.canonical(host) == self.host
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// Resource limits (rlimits) for a plugin; nil keeps the daemon's default.
public struct PluginLimits: Codable, Sendable, Equatable {
    public var memoryBytes: UInt64?
    public var cpuSeconds: UInt64?
    public var openFiles: UInt64?
    public var processes: UInt64?
    /// The size of the plugin's data folder (`sandbox.limits.data`), a filesystem of its own with
    /// one inode per 4 KiB; nil: the daemon's default (64 MiB), at most the policy's ceiling.
    public var dataBytes: UInt64?

    public init(memoryBytes: UInt64? = 512 << 20, cpuSeconds: UInt64? = nil, openFiles: UInt64? = 256, processes: UInt64? = 64,
                dataBytes: UInt64? = nil) {
        self.memoryBytes = memoryBytes
        self.cpuSeconds = cpuSeconds
        self.openFiles = openFiles
        self.processes = processes
        self.dataBytes = dataBytes
    }

    /// `sandbox.limits.data` when neither the manifest nor the policy's ceiling says less.
    public static let defaultDataBytes: UInt64 = 64 << 20
    /// The smallest data folder (ext4 needs room for its journal and tables).
    public static let minimumDataBytes: UInt64 = 4 << 20
}

/// Deadlines the supervisor enforces on the plugin.
public struct PluginTimeouts: Codable, Sendable, Equatable {
    /// From spawn to the plugin's `hello`.
    public var handshake: Duration
    /// Interval between the daemon's pings; a ping unanswered for this long again kills the plugin.
    public var heartbeat: Duration
    /// Default deadline of a `notify` or `act` request.
    public var actionDeadline: Duration

    public init(handshake: Duration = .seconds(10), heartbeat: Duration = .seconds(15), actionDeadline: Duration = .seconds(30)) {
        self.handshake = handshake
        self.heartbeat = heartbeat
        self.actionDeadline = actionDeadline
    }
}
