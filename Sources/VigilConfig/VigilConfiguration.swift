import VigilCore
import VigilSilences
import VigilRules

/// The daemon's whole configuration, loaded from `Config/vigil.yaml` and the files it names.
public struct VigilConfiguration: Sendable {
    /// The file this configuration was loaded from (as given).
    public var sourceFile: String
    /// The folder relative paths in the file are resolved against.
    public var baseDirectory: String
    /// Where state lives when `--state-dir` is not given.
    public var stateDirectory: String
    /// `trace`, `debug`, `info`, `notice`, `warning`, `error`, `critical`.
    public var logLevel: String
    public var control: ControlSettings
    public var policy: IncidentPolicy
    /// Absolute paths of rule files, in order.
    public var ruleFiles: [String]
    /// The duration `consistently` stands for in rules.
    public var consistentlyDuration: Duration
    /// How long a reported change to one of the daemon's own files waits for a reload
    /// (`SIGHUP`) that loads it before it counts as tampering (`rules.own_change_approval`).
    public var ownChangeApproval: Duration = .seconds(60)
    /// How long a series may go without a sample before rules stop trusting its last value (`rules.stale_after`).
    public var ruleStaleAfter: Duration
    /// How many samples are kept around rule incidents for `vigil rules suggest` (`rules.recording`).
    public var sampleRecording = SampleRecordingSettings()
    /// The detection rules of every file in ``ruleFiles``, checked against ``policy``.
    public var rules: RuleSet
    /// Absolute path of the containment rules file.
    public var containmentFile: String?
    /// How the response engine runs the containment actions (`containment:` besides `file`).
    public var containment = ContainmentSettings()
    public var templatesDirectory: String?
    public var runbooksDirectory: String?
    /// The runbooks of `runbooksDirectory`, by name.
    public var runbooks: [String: Runbook] = [:]
    public var plugins: PluginSettings
    public var bus: BusSettings
    /// Recurring windows that act as silences while open (`maintenance_windows:`).
    public var maintenanceWindows: [MaintenanceWindow] = []
    /// The HTTP front door (`http:`).
    public var http = HTTPSettings()
    /// How posted alerts become incidents (`alerting:`): the route tree and inhibition rules.
    public var alerting = AlertRouting()
    /// The text this configuration was loaded from (the main file only; `/api/v2/status` shows
    /// it through ``ConfigRedaction``).
    public var sourceText = ""
    /// Dead man's switches (`heartbeats:`): a missed one opens an incident.
    public var heartbeats: [HeartbeatDefinition] = []
    /// How the outbox retries, falls back and paces each channel (`notifications:`; the contact
    /// order and mirrors are in ``policy``).
    public var notifications = NotificationSettings()
    /// `agent:` — set when this daemon is a host agent that forwards to central daemons.
    public var agent: AgentModeSettings?
    /// `agents:` — how this (central) daemon watches the host agents that call in.
    public var agents = AgentWatchSettings()

    public init(sourceFile: String, baseDirectory: String, stateDirectory: String = "./.vigil",
                logLevel: String = "info", control: ControlSettings = .init(), policy: IncidentPolicy,
                ruleFiles: [String] = [], consistentlyDuration: Duration = .seconds(300),
                containmentFile: String? = nil, templatesDirectory: String? = nil, runbooksDirectory: String? = nil,
                plugins: PluginSettings = .init(), bus: BusSettings = .init(), ruleStaleAfter: Duration = .seconds(300),
                rules: RuleSet = RuleSet()) {
        self.sourceFile = sourceFile
        self.baseDirectory = baseDirectory
        self.stateDirectory = stateDirectory
        self.logLevel = logLevel
        self.control = control
        self.policy = policy
        self.ruleFiles = ruleFiles
        self.consistentlyDuration = consistentlyDuration
        self.ruleStaleAfter = ruleStaleAfter
        self.rules = rules
        self.containmentFile = containmentFile
        self.templatesDirectory = templatesDirectory
        self.runbooksDirectory = runbooksDirectory
        self.plugins = plugins
        self.bus = bus
    }
}

/// Who may use the control socket besides root and the daemon's own user.
public struct ControlSettings: Sendable, Equatable {
    /// Members of this group (by name) are allowed; nil allows nobody else.
    public var allowedGroup: String?
    public init(allowedGroup: String? = nil) { self.allowedGroup = allowedGroup }
}

/// Where plugins come from and how they are run.
public struct PluginSettings: Sendable, Equatable {
    /// Folders scanned for plugin folders (each holding a `plugin.yaml`), absolute.
    public var directories: [String]
    /// Plugin names to start; empty means every plugin found.
    public var enabled: [String]
    /// The uid/gid range plugins are given ids from (like systemd's DynamicUser range).
    public var idRange: ClosedRange<UInt32>
    /// Absolute folder holding the seccomp profiles.
    public var sandboxDirectory: String?
    /// Largest accepted frame in bytes.
    public var maxFrameBytes: Int
    /// `vigil-sandbox`; nil means the one beside `vigild`.
    public var launcher: String?
    /// Restart, crash-loop and failure-rate settings (`plugins.supervision`); nil keeps the default.
    public var supervision: SupervisionSettings
    /// What the daemon accepts from a plugin's connection (`plugins.inputs`); nil keeps the default.
    public var inputs = PluginInputSettings()
    /// What manifests may ask for (`plugins.policy`); ``PluginPolicy/builtIn`` when the section is absent.
    public var policy: PluginPolicy

    public init(directories: [String] = [], enabled: [String] = [], idRange: ClosedRange<UInt32> = 70_000...79_999,
                sandboxDirectory: String? = nil, maxFrameBytes: Int = 1 << 20) {
        self.directories = directories
        self.enabled = enabled
        self.idRange = idRange
        self.sandboxDirectory = sandboxDirectory
        self.maxFrameBytes = maxFrameBytes
        self.launcher = nil
        self.supervision = SupervisionSettings()
        self.policy = .builtIn
    }
}

/// `plugins.inputs`: bounds on what one plugin may make the daemon hold. Every field is optional.
public struct PluginInputSettings: Sendable, Equatable {
    public var labelsPerEvent: Int?
    public var labelValueBytes: Int?
    public var seriesBudget: Int?
    public var refusedEventsTolerated: Int?
    public var controlFramesPerSecond: Int?
    public init() {}
}

/// `plugins.supervision`: how plugins are restarted and judged. Every field is optional.
public struct SupervisionSettings: Sendable, Equatable {
    public var initialBackoff: Duration?
    public var maximumBackoff: Duration?
    public var crashLoopFailures: Int?
    public var crashLoopWindow: Duration?
    public var stableRun: Duration?
    public var failureRateWindow: Duration?
    public var failureRateInterval: Duration?
    public var shutdownGrace: Duration?
    /// How long a plugin may be held at its CPU quota (throttled in most periods) before its run
    /// ends over the limit.
    public var cpuHeldAtQuota: Duration?
    /// The window of watched-syscall counts judged for `unusual_system_call_patterns`.
    public var syscallWindow: Duration?
    public init() {}
}

/// EventBus sizing (mapped onto the bus's own configuration by the daemon).
public struct BusSettings: Sendable, Equatable {
    /// Ring capacity per lane name.
    public var capacity: [String: Int]
    /// Fraction of capacity above which producers are told to slow down.
    public var highWatermark: Double
    /// Fraction of capacity below which they may resume.
    public var lowWatermark: Double
    /// How often the bus publishes its own depth, sheds and stalls.
    public var selfMonitoringInterval: Duration
    /// Capacity of each long-lived producer's own ring, per lane name (`bus.producer_capacity`).
    public var producerCapacity: [String: Int] = ["security": 1024, "incident": 4096, "telemetry": 8192]
    /// How many producers may have a ring of their own on one lane (`bus.max_producers_per_lane`).
    public var maxProducersPerLane = 256
    /// Per-lane watermarks overriding the two defaults: lane name → (high, low) (`bus.lanes`).
    public var laneWatermarks: [String: (high: Double, low: Double)] = [:]

    public static func == (a: BusSettings, b: BusSettings) -> Bool {
        a.capacity == b.capacity && a.highWatermark == b.highWatermark && a.lowWatermark == b.lowWatermark
            && a.selfMonitoringInterval == b.selfMonitoringInterval && a.producerCapacity == b.producerCapacity
            && a.maxProducersPerLane == b.maxProducersPerLane
            && a.laneWatermarks.mapValues { [$0.high, $0.low] } == b.laneWatermarks.mapValues { [$0.high, $0.low] }
    }

    public init(capacity: [String: Int] = ["security": 4096, "incident": 16384, "telemetry": 65536],
                highWatermark: Double = 0.75, lowWatermark: Double = 0.25,
                selfMonitoringInterval: Duration = .seconds(5)) {
        self.capacity = capacity
        self.highWatermark = highWatermark
        self.lowWatermark = lowWatermark
        self.selfMonitoringInterval = selfMonitoringInterval
    }
}
