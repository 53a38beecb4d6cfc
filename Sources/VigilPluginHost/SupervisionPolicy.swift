import Foundation
import VigilCore

/// How the supervisor restarts, gives up on, and measures plugins.
public struct SupervisionPolicy: Sendable, Equatable {
    /// Delay before the first restart after a failure.
    public var initialBackoff: Duration
    /// Longest delay between restarts.
    public var maximumBackoff: Duration
    /// Each consecutive failure multiplies the delay by this.
    public var backoffMultiplier: Double
    /// Delays are spread by ± this fraction so plugins that failed together do not restart together.
    public var jitter: Double
    /// This many failures within ``crashLoopWindow`` quarantine the plugin.
    public var crashLoopFailures: Int
    public var crashLoopWindow: Duration
    /// A run lasting this long resets the backoff.
    public var stableRun: Duration
    /// The sliding window of `plugin_failure_rate`.
    public var failureRateWindow: Duration
    /// How often `plugin_failure_rate` is published even when it does not change.
    public var failureRateInterval: Duration
    /// Time a plugin has to exit after `shutdown` before it is killed.
    public var shutdownGrace: Duration
    /// Time a plugin that closed its connection (or half-closed it, perhaps inside a frame) has
    /// to exit before it is killed as a protocol violation; it can never be served again.
    public var closedConnectionGrace: Duration = .seconds(2)
    /// How long a plugin may be held at its cgroup's CPU quota (throttled in at least half of
    /// the scheduler's periods, every second) before its run ends over the limit: the quota
    /// keeps the host's cores free, and a plugin that spins for this long is failing.
    public var cpuHeldAtQuota: Duration = .seconds(30)
    /// Each plugin's cgroup CPU quota, in microseconds of CPU per 100 ms period (100,000: one
    /// core). Tests lower it so a spinning plugin reaches it even on a busy machine.
    public var cpuQuotaMicroseconds: UInt64 = PluginCgroup.defaultCPUQuota

    public init(initialBackoff: Duration = .seconds(1), maximumBackoff: Duration = .seconds(300), backoffMultiplier: Double = 2,
                jitter: Double = 0.2, crashLoopFailures: Int = 5, crashLoopWindow: Duration = .seconds(600),
                stableRun: Duration = .seconds(60), failureRateWindow: Duration = .seconds(300),
                failureRateInterval: Duration = .seconds(15), shutdownGrace: Duration = .seconds(5)) {
        self.initialBackoff = initialBackoff
        self.maximumBackoff = maximumBackoff
        self.backoffMultiplier = backoffMultiplier
        self.jitter = jitter
        self.crashLoopFailures = crashLoopFailures
        self.crashLoopWindow = crashLoopWindow
        self.stableRun = stableRun
        self.failureRateWindow = failureRateWindow
        self.failureRateInterval = failureRateInterval
        self.shutdownGrace = shutdownGrace
    }

    /// The restart delay after `consecutiveFailures` (≥ 1) failures; `random` is uniform in 0…1.
    public func backoff(consecutiveFailures: Int, random: Double) -> Duration {
        let exponent = Double(max(0, consecutiveFailures - 1))
        let base = min(maximumBackoff.inSeconds, initialBackoff.inSeconds * pow(backoffMultiplier, exponent))
        let spread = 1 + jitter * (2 * min(max(random, 0), 1) - 1)
        return .nanoseconds(Int64(base * spread * 1e9))
    }
}

/// Attempts (starts, requests) and failures in a sliding window: `plugin_failure_rate`.
public struct FailureRateWindow: Sendable, Equatable {
    public var window: Duration
    private var attempts: [Timestamp] = []
    private var failures: [Timestamp] = []

    public init(window: Duration) { self.window = window }

    public mutating func recordAttempt(at t: Timestamp) { attempts.append(t) }
    public mutating func recordFailure(at t: Timestamp) { failures.append(t) }

    /// Failures / attempts within the window ending at `now` (0 without attempts, at most 1).
    public mutating func rate(at now: Timestamp) -> Double {
        let cutoff = now - window
        attempts.removeAll { $0 <= cutoff }
        failures.removeAll { $0 <= cutoff }
        guard !attempts.isEmpty else { return failures.isEmpty ? 0 : 1 }
        return min(1, Double(failures.count) / Double(attempts.count))
    }
}

/// What the process layer tells the supervision state machine.
public enum SupervisionInput: Sendable, Equatable {
    /// The process for `generation` exists (sandbox handed it off).
    case spawned(plugin: String, generation: Int, pid: Int32)
    case spawnFailed(plugin: String, generation: Int, reason: String)
    /// The `hello` was accepted and `welcome` sent.
    case handshakeCompleted(plugin: String, generation: Int)
    case handshakeRejected(plugin: String, generation: Int, reason: String)
    case pong(plugin: String, generation: Int, seq: Int64)
    case protocolViolation(plugin: String, generation: Int, description: String)
    /// The plugin's connection reached end of file (`detail`: what was left unread, if anything).
    case connectionClosed(plugin: String, generation: Int, detail: String)
    /// A kernel limit of the run was hit while the plugin lived on (its cgroup OOM-killed a child).
    case overLimit(plugin: String, generation: Int, limit: String)
    case terminated(plugin: String, generation: Int, PluginTermination)
    case breach(plugin: String, syscall: String)
    /// The connection stopped (`true`) or resumed (`false`) reading because of bus backpressure.
    case backpressure(plugin: String, generation: Int, paused: Bool)
    case requestSent(plugin: String, generation: Int, id: String, deadline: Timestamp)
    case requestCompleted(plugin: String, id: String)
    /// Operator commands (`vigil plugins enable|disable|restart`).
    case enable(plugin: String)
    case disable(plugin: String)
    case restart(plugin: String)
    /// Containment: stop it and keep it stopped until an operator enables it.
    case quarantine(plugin: String, reason: String)
}

/// What the state machine asks the process layer to do.
public enum SupervisionCommand: Sendable, Equatable {
    case spawn(plugin: String, generation: Int)
    /// Send `shutdown`; the machine kills it after the grace period.
    case shutdown(plugin: String, generation: Int)
    /// `SIGKILL` the plugin's process.
    case kill(plugin: String, generation: Int, cause: PluginFailureCause)
    case ping(plugin: String, generation: Int, seq: Int64)
    /// Answer a pending request with an error (deadline passed or the plugin is gone).
    case failRequest(plugin: String, id: String, reason: String)
    /// A failure to count in the store and the log.
    case recordFailure(plugin: String, cause: PluginFailureCause)
    /// The plugin is quarantined: publish the signal (higher severity when `critical`).
    case quarantined(plugin: String, cause: PluginFailureCause, critical: Bool)
    /// Publish `plugin_failure_rate` (0…1) for the plugin.
    case publishFailureRate(plugin: String, rate: Double)
}
