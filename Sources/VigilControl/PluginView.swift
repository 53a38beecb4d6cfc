import VigilCore

/// The documented JSON form of a plugin (`vigil plugins list|show --json`).
public struct PluginView: Codable, Sendable, Equatable {
    public var name: String
    public var kind: String
    public var version: String
    public var description: String
    public var directory: String
    public var critical: Bool
    /// `starting`, `running`, `stopping`, `backing off`, `quarantined`, `disabled`, or `refused`
    /// (its manifest asks beyond the plugin policy; ``policyViolations`` says what).
    public var state: String
    /// Why it is backing off or quarantined, or why its last run ended.
    public var cause: String?
    public var causeCategory: String?
    public var pid: Int32?
    public var uid: UInt32?
    public var since: String
    /// When a plugin backing off starts again.
    public var restartAt: String?
    public var starts: Int
    public var restarts: Int
    public var exits: Int
    public var failures: Int
    public var timeouts: Int
    public var protocolViolations: Int
    public var breaches: Int
    public var eventsReceived: UInt64
    /// Events dropped: undeclared or reserved names, reserved labels, limits, spent budget.
    public var eventsRefused: UInt64
    /// Failures / attempts over the sliding window, 0…1.
    public var failureRate: Double
    public var failuresByCause: [String: Int]
    /// Watched syscalls made so far, by name.
    public var syscalls: [String: UInt64]
    public var profile: String
    public var network: String
    /// What the manifest asks beyond the plugin policy, field by field (state `refused`).
    public var policyViolations: [PolicyViolation]?
    /// How its data folder is held: `ext4 image of 64 MiB, at most 16384 files`, or a plain
    /// folder without a quota and why (nil before its first start).
    public var dataFolder: String?
    /// Set when the data folder has no quota (no loop devices here): the operator must know.
    public var dataWarning: String?

    public init(name: String, kind: String, version: String, description: String, directory: String, critical: Bool,
                state: String, cause: String? = nil, causeCategory: String? = nil, pid: Int32? = nil,
                uid: UInt32? = nil, since: String, restartAt: String? = nil, starts: Int, restarts: Int, exits: Int,
                failures: Int, timeouts: Int, protocolViolations: Int, breaches: Int, eventsReceived: UInt64,
                eventsRefused: UInt64, failureRate: Double, failuresByCause: [String: Int],
                syscalls: [String: UInt64], profile: String, network: String,
                policyViolations: [PolicyViolation]? = nil) {
        self.name = name
        self.kind = kind
        self.version = version
        self.description = description
        self.directory = directory
        self.critical = critical
        self.state = state
        self.cause = cause
        self.causeCategory = causeCategory
        self.pid = pid
        self.uid = uid
        self.since = since
        self.restartAt = restartAt
        self.starts = starts
        self.restarts = restarts
        self.exits = exits
        self.failures = failures
        self.timeouts = timeouts
        self.protocolViolations = protocolViolations
        self.breaches = breaches
        self.eventsReceived = eventsReceived
        self.eventsRefused = eventsRefused
        self.failureRate = failureRate
        self.failuresByCause = failuresByCause
        self.syscalls = syscalls
        self.profile = profile
        self.network = network
        self.policyViolations = policyViolations
    }
}
