/// Whether a containment action runs on its own, waits for a person, or never runs.
public enum ActionMode: String, Codable, Sendable, Equatable, CaseIterable {
    /// Runs as soon as its turn comes.
    case auto
    /// Waits for `vigil actions approve ID` (or `deny`).
    case approve
    /// Recorded as skipped; never runs.
    case off
}

/// Where an action request is in its life (the `action.state` column).
public enum ActionState: String, Codable, Sendable, Equatable, CaseIterable {
    /// Mode `approve`: waits for a person.
    case awaitingApproval = "awaiting-approval"
    /// Approved (or auto) and about to run.
    case queued
    case running
    case succeeded
    /// Ran with `dry_run`: reported what it would do and changed nothing.
    case simulated
    case failed
    /// Nothing can perform it here (no built-in, no loaded plugin declares it, or not configured).
    case unavailable
    case denied
    /// Mode `off`.
    case skipped
    /// The loop breaker held it back: it ran too often for this incident's fingerprint.
    case suppressed
    /// Its undo ran.
    case undone

    /// No more work will happen for it (its undo aside).
    public var isSettled: Bool { self != .awaitingApproval && self != .queued && self != .running }
}

/// What the daemon knows about one containment action the seed names.
public struct ContainmentActionInfo: Sendable, Equatable {
    public var name: String
    /// One line for `vigil actions` and the docs.
    public var summary: String
    /// Changes something people rely on (connections, writes, plugins): defaults to `approve`.
    public var destructive: Bool
    /// The daemon performs it on its own state (besides any action plugin that declares it).
    public var builtIn: Bool
    /// What undoing it means, beyond `vigil actions undo`.
    public var reversal: Reversal = .byUndo
    /// The seed's action is performed by action plugins only (on the host, in their sandbox).
    public var pluginOnly: Bool { !builtIn }

    public var defaultMode: ActionMode { destructive ? .approve : .auto }

    public enum Reversal: Sendable, Equatable {
        /// In effect until someone runs `vigil actions undo` (when its performers said how).
        case byUndo
        /// Reverts itself when its time is up (the built-in part's undo names `revert_at`).
        case revertsItself
        /// Changes nothing that could be undone: it only makes a copy.
        case copyOnly
    }
}

/// The eleven actions of seed 004's `containment_rules` (twelve steps: backup_current_state is in two
/// categories).
public enum ContainmentCatalog {
    public static let actions: [ContainmentActionInfo] = [
        .init(name: "isolate_affected_plugins", summary: "quarantine the plugins named in the incident's labels and evidence",
              destructive: false, builtIn: true),
        .init(name: "disable_external_connections",
              summary: "drop new outbound connections except loopback and an allow-list (network-containment plugin, nftables)",
              destructive: true, builtIn: false),
        .init(name: "backup_current_state",
              summary: "SQLite online backup of the daemon's store (and configured paths) into a timestamped, checksummed file",
              destructive: false, builtIn: true, reversal: .copyOnly),
        .init(name: "enable_enhanced_logging",
              summary: "raise the daemon's log level and lift the affected plugins' log rate limit, reverted automatically",
              destructive: false, builtIn: true, reversal: .revertsItself),
        .init(name: "implement_circuit_breakers", summary: "open the circuit breakers of failing notifiers and plugins",
              destructive: false, builtIn: true),
        .init(name: "reduce_eventbus_throughput", summary: "admit only a fraction of telemetry events onto the bus",
              destructive: false, builtIn: true),
        .init(name: "disable_non_critical_plugins",
              summary: "stop detector and notifier plugins whose manifest says critical: false",
              destructive: true, builtIn: true),
        .init(name: "scale_resources_if_available",
              summary: "run the configured scaling command (scale-hook plugin); \"not available\" without one",
              destructive: false, builtIn: false),
        .init(name: "stop_write_operations",
              summary: "hold every non-incident write of the daemon's store (and a configured stop command)",
              destructive: true, builtIn: true),
        .init(name: "isolate_affected_storage",
              summary: "set a read-only, checksummed copy of the store aside (and chattr +i configured paths)",
              destructive: true, builtIn: true, reversal: .copyOnly),
        .init(name: "enable_read_only_mode",
              summary: "refuse every non-incident write of the daemon's store (and remove write bits under configured paths)",
              destructive: true, builtIn: true),
    ]

    public static func info(_ name: String) -> ContainmentActionInfo? { actions.first { $0.name == name } }

    /// The actions that revert themselves when their time is up.
    public static var selfReverting: [String] { actions.filter { $0.reversal == .revertsItself }.map(\.name) }
}

/// Per-action settings (`containment.actions.NAME`).
public struct ActionSettings: Codable, Sendable, Equatable {
    public var mode: ActionMode?
    public var dryRun: Bool?
    public var deadline: Duration?
    /// Passed to plugins as `params` (e.g. `allow:` for disable_external_connections).
    public var params: [String: JSONValue]

    public init(mode: ActionMode? = nil, dryRun: Bool? = nil, deadline: Duration? = nil, params: [String: JSONValue] = [:]) {
        self.mode = mode
        self.dryRun = dryRun
        self.deadline = deadline
        self.params = params
    }
}

/// How the response engine runs containment (`containment:` in vigil.yaml).
public struct ContainmentSettings: Codable, Sendable, Equatable {
    /// `automatic`: an incident with a containment category enters `containing` as soon as it is
    /// mobilised (seed 004 "Automated Containment Triggers"); `manual`: when a person moves it there.
    public var automaticStart: Bool
    /// Every action runs as a dry run (reports what it would do, changes nothing).
    public var dryRun: Bool
    /// How long an action may take before it counts as failed.
    public var deadline: Duration
    /// The loop breaker: an action runs at most this many times per incident fingerprint within ``loopWindow``.
    public var loopMaxRuns: Int
    public var loopWindow: Duration
    public var actions: [String: ActionSettings]
    /// Where backup_current_state writes (nil: `<state_dir>/backups`).
    public var backupDirectory: String?
    /// Extra files or folders backup_current_state copies next to the database.
    public var backupPaths: [String]
    /// How many backups to keep (oldest deleted first).
    public var keepBackups: Int
    /// An automatic backup_current_state reuses a backup taken this recently (a burst of
    /// incidents makes one backup, not one each); a person's `vigil actions run` always makes a new one.
    public var backupReuseWithin: Duration = .seconds(30)
    /// How long enable_enhanced_logging lasts before it reverts itself.
    public var enhancedLoggingFor: Duration
    /// The log level enable_enhanced_logging raises to.
    public var enhancedLogLevel: String
    /// A plugin whose failure rate (0…1) reaches this has its breaker opened by implement_circuit_breakers.
    public var breakerFailureRate: Double
    /// Consecutive delivery failures that open a notifier's breaker on their own.
    public var breakerConsecutiveFailures: Int
    /// How long an open breaker stays open before it lets one trial through (half-open).
    public var breakerOpenFor: Duration
    /// reduce_eventbus_throughput admits one telemetry event in this many.
    public var telemetryKeepOneIn: Int
    /// How often containment verification is retried while it does not pass.
    public var verifyEvery: Duration

    public init(automaticStart: Bool = true, dryRun: Bool = false, deadline: Duration = .seconds(60),
                loopMaxRuns: Int = 3, loopWindow: Duration = .seconds(3600), actions: [String: ActionSettings] = [:],
                backupDirectory: String? = nil, backupPaths: [String] = [], keepBackups: Int = 20,
                enhancedLoggingFor: Duration = .seconds(1800), enhancedLogLevel: String = "debug",
                breakerFailureRate: Double = 0.5, breakerConsecutiveFailures: Int = 5, breakerOpenFor: Duration = .seconds(60),
                telemetryKeepOneIn: Int = 4, verifyEvery: Duration = .seconds(30)) {
        self.automaticStart = automaticStart
        self.dryRun = dryRun
        self.deadline = deadline
        self.loopMaxRuns = loopMaxRuns
        self.loopWindow = loopWindow
        self.actions = actions
        self.backupDirectory = backupDirectory
        self.backupPaths = backupPaths
        self.keepBackups = keepBackups
        self.enhancedLoggingFor = enhancedLoggingFor
        self.enhancedLogLevel = enhancedLogLevel
        self.breakerFailureRate = breakerFailureRate
        self.breakerConsecutiveFailures = breakerConsecutiveFailures
        self.breakerOpenFor = breakerOpenFor
        self.telemetryKeepOneIn = telemetryKeepOneIn
        self.verifyEvery = verifyEvery
    }

    /// The mode in force for `action`: configured, else the catalog's default (auto for actions
    /// the seed does not name, which only plugins provide).
    public func mode(of action: String) -> ActionMode {
        actions[action]?.mode ?? ContainmentCatalog.info(action)?.defaultMode ?? .auto
    }

    public func isDryRun(_ action: String) -> Bool { actions[action]?.dryRun ?? dryRun }

    public func deadline(of action: String) -> Duration { actions[action]?.deadline ?? deadline }
}
