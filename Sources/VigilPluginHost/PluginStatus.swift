import VigilCore

/// Why a plugin run ended or was stopped; recorded, counted and shown by `vigil plugins show`.
public enum PluginFailureCause: Sendable, Equatable, CustomStringConvertible {
    /// The process exited on its own with this status (0 included: nobody asked it to stop).
    case exited(code: Int32)
    /// Killed by a signal the daemon did not send.
    case signaled(signal: Int32)
    /// Killed by seccomp (`SIGSYS`) in a hard-denied syscall; a breach.
    case seccompKilled(syscall: String?)
    /// Killed by the kernel for exceeding a limit: `SIGXCPU` (CPU seconds), `SIGXFSZ`, or a
    /// `SIGKILL` the daemon did not send (the OOM killer).
    case resourceLimit(String)
    /// A syscall outside its profile, denied by the breach watcher.
    case breach(syscall: String)
    /// `vigil-sandbox` (or the development spawn) failed before the plugin ran.
    case spawnFailed(String)
    /// No `hello` within the manifest's handshake timeout.
    case handshakeTimeout
    /// The daemon rejected the `hello` (wrong protocol version or name).
    case handshakeRejected(String)
    /// A `ping` went unanswered for the heartbeat timeout.
    case heartbeatMissed
    /// A `notify`/`act` request got no `result` before its deadline.
    case deadlineMissed(requestID: String)
    /// A frame that was too large, not JSON, or not allowed at that point.
    case protocolViolation(String)
    /// Too many failures too close together; the plugin is quarantined.
    case crashLoop(String)
    /// Isolated by a containment action or an operator; not a failure of the plugin.
    case isolated(String)

    /// One line, whatever the plugin put into it: the text parts are escaped and cut
    /// (``LogText``), since this is stored, put into incident labels and printed by the CLI.
    public var description: String {
        // Control characters escaped, backslashes kept: a payload escaped before reads the same.
        func safe(_ text: String) -> String { LogText.controlsEscaped(text) }
        return switch self {
        case .exited(let code): "exited with status \(code)"
        case .signaled(let signal): "killed by signal \(signal) (\(Self.signalName(signal)))"
        case .seccompKilled(let syscall): "killed by seccomp (SIGSYS) in \(syscall.map(safe) ?? "an unnamed syscall")"
        case .resourceLimit(let what): "resource limit: \(safe(what))"
        case .breach(let syscall): "isolation breach: syscall \(safe(syscall)) outside the profile"
        case .spawnFailed(let why): "failed to start: \(safe(why))"
        case .handshakeTimeout: "no hello before the handshake timeout"
        case .handshakeRejected(let why): "handshake rejected: \(safe(why))"
        case .heartbeatMissed: "missed a heartbeat (ping unanswered)"
        case .deadlineMissed(let id): "missed the deadline of request \(safe(id))"
        case .protocolViolation(let what): "protocol violation: \(safe(what))"
        case .crashLoop(let what): what  // built by the supervisor from a description, already safe
        case .isolated(let why): "isolated: \(safe(why))"
        }
    }

    /// A short stable label for metrics and JSON (`exit`, `signal`, `sigsys`, `rlimit`, …).
    public var category: String {
        switch self {
        case .exited: "exit"
        case .signaled: "signal"
        case .seccompKilled: "sigsys"
        case .resourceLimit: "rlimit"
        case .breach: "breach"
        case .spawnFailed: "spawn"
        case .handshakeTimeout: "handshake_timeout"
        case .handshakeRejected: "handshake_rejected"
        case .heartbeatMissed: "heartbeat"
        case .deadlineMissed: "deadline"
        case .protocolViolation: "protocol"
        case .crashLoop: "crash_loop"
        case .isolated: "isolated"
        }
    }

    /// Whether the cause is an isolation breach (quarantine at once, security incident).
    public var isBreach: Bool {
        switch self {
        case .breach, .seccompKilled: true
        default: false
        }
    }

    static func signalName(_ signal: Int32) -> String {
        switch signal {
        case 6: "SIGABRT"
        case 9: "SIGKILL"
        case 11: "SIGSEGV"
        case 15: "SIGTERM"
        case 24: "SIGXCPU"
        case 25: "SIGXFSZ"
        case 31: "SIGSYS"
        default: "signal \(signal)"
        }
    }
}

/// How a plugin process ended, as the process layer observed it.
public enum PluginTermination: Sendable, Equatable {
    case exited(code: Int32)
    case killed(signal: Int32, syscall: String?)
    /// Ended over a limit of its cgroup (memory, processes): which one.
    case overLimit(String)
}

/// Where a plugin is in its life; what `vigil plugins list` shows.
public enum PluginRunState: Sendable, Equatable {
    /// Spawned, waiting for its `hello`.
    case starting
    /// Handshake done; serving.
    case running
    /// Asked to stop; waiting for it to exit.
    case stopping
    /// Failed; restarts at `until`.
    case backingOff(until: Timestamp)
    /// Stopped for good until an operator enables it again.
    case quarantined
    /// Disabled by the operator or not enabled in the configuration.
    case disabled

    /// The word shown in listings.
    public var name: String {
        switch self {
        case .starting: "starting"
        case .running: "running"
        case .stopping: "stopping"
        case .backingOff: "backing off"
        case .quarantined: "quarantined"
        case .disabled: "disabled"
        }
    }
}

/// Everything counted about one plugin since the daemon started.
public struct PluginCounters: Sendable, Equatable {
    public var starts = 0
    public var exits = 0
    public var failures = 0
    public var restarts = 0
    public var timeouts = 0
    public var protocolViolations = 0
    public var breaches = 0
    public var requests = 0
    /// Failures by ``PluginFailureCause/category``.
    public var failuresByCategory: [String: Int] = [:]
    public var eventsReceived: UInt64 = 0
    /// Events dropped for an undeclared or reserved name, a reserved label, a label limit or a
    /// spent interning budget.
    public var eventsRefused: UInt64 = 0
    public init() {}
}

/// A snapshot of one supervised plugin, for `vigil plugins list|show` (`--json` too).
public struct PluginStatus: Sendable, Equatable {
    public var name: String
    public var kind: PluginKind
    public var critical: Bool
    public var state: PluginRunState
    /// Why it is backing off or quarantined, or why the last run ended.
    public var lastCause: PluginFailureCause?
    public var pid: Int32?
    /// When the plugin entered its current state.
    public var since: Timestamp
    public var counters: PluginCounters
    /// Failures / attempts over the sliding window, 0…1.
    public var failureRate: Double
    /// Cumulative watched-syscall counts from the breach watcher (empty without a sandbox).
    public var syscalls: [String: UInt64]
    /// How its data folder was held at its last start (nil: not started yet, or no data folder).
    public var dataFolder: DataFolderMode? = nil

    /// A JSON rendering for `--json` output.
    public var json: JSONValue {
        var o: [String: JSONValue] = [
            "name": .string(name), "kind": .string(kind.rawValue), "critical": .bool(critical),
            "state": .string(state.name), "since": .string(since.rfc3339),
            "restarts": .number(Double(counters.restarts)), "starts": .number(Double(counters.starts)),
            "exits": .number(Double(counters.exits)), "failures": .number(Double(counters.failures)),
            "timeouts": .number(Double(counters.timeouts)), "protocol_violations": .number(Double(counters.protocolViolations)),
            "breaches": .number(Double(counters.breaches)), "events_received": .number(Double(counters.eventsReceived)),
            "events_refused": .number(Double(counters.eventsRefused)),
            "failure_rate": .number(failureRate),
            "failures_by_cause": .object(counters.failuresByCategory.mapValues { .number(Double($0)) }),
            "syscalls": .object(syscalls.mapValues { .number(Double($0)) }),
        ]
        if let lastCause {
            o["cause"] = .string(lastCause.description)
            o["cause_category"] = .string(lastCause.category)
        }
        if let pid { o["pid"] = .number(Double(pid)) }
        if let dataFolder {
            o["data_folder"] = .string(dataFolder.description)
            if let warning = dataFolder.warning { o["data_warning"] = .string(warning) }
        }
        if case .backingOff(let until) = state { o["restart_at"] = .string(until.rfc3339) }
        return .object(o)
    }
}
