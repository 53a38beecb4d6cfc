import Foundation
import VigilCore

/// One plugin's supervision state; the transitions ``PluginSupervisor`` applies to it.
struct PluginEntry: Sendable {
    var manifest: PluginManifest
    var state: PluginRunState = .disabled
    /// Increments with every start; messages of older runs are ignored.
    var generation = 0
    var pid: Int32?
    /// When the current run started (the stable-run check measures from it).
    var since: Timestamp
    /// When `state` last changed, and the state's name then (stamped by ``PluginSupervisor``).
    var stateSince: Timestamp
    var stampedState: String = PluginRunState.disabled.name
    var counters = PluginCounters()
    var lastCause: PluginFailureCause?
    /// The operator-facing reason of a quarantine, kept across daemon restarts.
    var quarantineText: String?
    /// Failures since the last stable run (drives the backoff).
    var consecutiveFailures = 0
    /// Failure times inside the crash-loop window.
    var recentFailures: [Timestamp] = []
    var failureRate: FailureRateWindow
    var ratePublishedAt: Timestamp?
    var lastPublishedRate: Double?
    var handshakeDeadline: Timestamp?
    var nextPingAt: Timestamp?
    var outstandingPing: (seq: Int64, sentAt: Timestamp)?
    var pingSequence: Int64 = 0
    /// Reading is paused by bus backpressure: heartbeats are not judged meanwhile.
    var heldBack = false
    /// Request id → deadline.
    var pendingRequests: [String: Timestamp] = [:]
    /// Why the daemon is ending the current run (set when it kills); the failure is already counted.
    var pendingCause: PluginFailureCause?
    /// The state to enter when a requested stop completes: `.disabled`, or `.starting` to restart.
    var afterStop: PluginRunState?
    /// When an unanswered `shutdown` turns into a kill.
    var stopDeadline: Timestamp?
    /// When a run whose connection closed, and whose process did not exit, is killed.
    var closedDeadline: Timestamp?
    var closedDetail = ""

    init(manifest: PluginManifest, policy: SupervisionPolicy, now: Timestamp) {
        self.manifest = manifest
        self.since = now
        self.stateSince = now
        self.failureRate = FailureRateWindow(window: policy.failureRateWindow)
    }

    /// Ends the current run because of `cause`: counts the failure now, kills the process.
    mutating func kill(_ cause: PluginFailureCause, now: Timestamp, name: String) -> [SupervisionCommand] {
        guard pendingCause == nil else { return [] }
        switch state {
        case .starting, .running, .stopping: break
        case .backingOff, .quarantined, .disabled: return []
        }
        pendingCause = cause
        var commands: [SupervisionCommand] = []
        if case .isolated = cause { lastCause = cause } else { commands = countFailure(cause, now: now, name: name) }
        for id in pendingRequests.keys.sorted() {
            commands.append(.failRequest(plugin: name, id: id, reason: "the plugin was stopped: \(cause)"))
        }
        pendingRequests.removeAll()
        if case .timeouts = category(cause) { counters.timeouts += 1 }
        commands.append(.kill(plugin: name, generation: generation, cause: cause))
        return commands
    }

    /// Quarantines at once (breach): kills a live run, and never restarts it on its own.
    mutating func quarantineNow(_ cause: PluginFailureCause, now: Timestamp, name: String) -> [SupervisionCommand] {
        if state == .quarantined { return [] }
        var commands: [SupervisionCommand] = []
        switch state {
        case .starting, .running, .stopping:
            commands = kill(cause, now: now, name: name)
            if commands.isEmpty, let pending = pendingCause, !pending.isBreach {
                // Already being killed for another reason: the breach is still the story.
                pendingCause = cause
            }
        case .backingOff, .disabled, .quarantined:
            if case .isolated = cause {} else { commands = countFailure(cause, now: now, name: name) }
        }
        state = .quarantined
        afterStop = .quarantined
        lastCause = cause
        quarantineText = cause.description
        commands.append(.quarantined(plugin: name, cause: cause, critical: manifest.critical))
        return commands
    }

    /// Asks the current run to stop (`shutdown`, then a kill after the grace period).
    mutating func stop(then next: PluginRunState, now: Timestamp, grace: Duration, name: String) -> [SupervisionCommand] {
        switch state {
        case .starting, .running:
            state = .stopping
            afterStop = next
            stopDeadline = now + grace
            return [.shutdown(plugin: name, generation: generation)]
        case .stopping:
            afterStop = next
            return []
        case .backingOff, .quarantined, .disabled:
            if next == .disabled { state = .disabled }
            return []
        }
    }

    /// The process of the current run is gone.
    mutating func terminated(_ termination: PluginTermination, now: Timestamp, random: Double,
                             policy: SupervisionPolicy, name: String) -> [SupervisionCommand] {
        counters.exits += 1
        pid = nil
        closedDeadline = nil
        outstandingPing = nil
        nextPingAt = nil
        handshakeDeadline = nil
        var commands: [SupervisionCommand] = []
        for id in pendingRequests.keys.sorted() {
            commands.append(.failRequest(plugin: name, id: id, reason: "the plugin exited"))
        }
        pendingRequests.removeAll()
        if let next = afterStop, pendingCause == nil {
            // A stop the operator (or the daemon) asked for: not a failure.
            afterStop = nil
            stopDeadline = nil
            switch next {
            case .starting: state = .backingOff(until: now)  // restart: the supervisor starts it at once
            case .quarantined: state = .quarantined
            default: state = .disabled
            }
            return commands
        }
        let cause = pendingCause ?? Self.cause(of: termination)
        return commands + failRun(cause, alreadyCounted: pendingCause != nil, now: now, random: random,
                                  policy: policy, name: name)
    }

    /// A start that produced no process.
    mutating func spawnFailed(_ reason: String, now: Timestamp, random: Double, policy: SupervisionPolicy,
                              name: String) -> [SupervisionCommand] {
        pid = nil
        handshakeDeadline = nil
        return failRun(.spawnFailed(reason), alreadyCounted: false, now: now, random: random, policy: policy, name: name)
    }

    /// The run ended in failure: back off, or quarantine on a breach or a crash loop.
    private mutating func failRun(_ cause: PluginFailureCause, alreadyCounted: Bool, now: Timestamp, random: Double,
                                  policy: SupervisionPolicy, name: String) -> [SupervisionCommand] {
        var commands: [SupervisionCommand] = []
        pendingCause = nil
        stopDeadline = nil
        lastCause = cause
        if state == .quarantined || afterStop == .quarantined {
            afterStop = nil
            state = .quarantined
            return commands
        }
        afterStop = nil
        if !alreadyCounted { commands += countFailure(cause, now: now, name: name) }
        if cause.isBreach {
            state = .quarantined
            quarantineText = cause.description
            commands.append(.quarantined(plugin: name, cause: cause, critical: manifest.critical))
            return commands
        }
        let ranStably = now - since >= policy.stableRun && since > Timestamp(nanoseconds: 0)
        if ranStably { consecutiveFailures = 0 }
        consecutiveFailures += 1
        recentFailures.append(now)
        recentFailures.removeAll { now - $0 > policy.crashLoopWindow }
        if recentFailures.count >= policy.crashLoopFailures {
            state = .quarantined
            let loop = "crash loop: \(recentFailures.count) failures within \(DurationText.format(policy.crashLoopWindow)), last \(cause)"
            quarantineText = loop
            commands.append(.quarantined(plugin: name, cause: .crashLoop(loop), critical: manifest.critical))
            lastCause = .crashLoop(loop)
            return commands
        }
        state = .backingOff(until: now + policy.backoff(consecutiveFailures: consecutiveFailures, random: random))
        return commands
    }

    /// Everything due at `now` for this plugin.
    mutating func due(now: Timestamp, policy: SupervisionPolicy, name: String) -> [SupervisionCommand] {
        var commands: [SupervisionCommand] = []
        if let deadline = closedDeadline, now >= deadline, pendingCause == nil {
            closedDeadline = nil
            switch state {
            case .starting, .running:
                counters.protocolViolations += 1
                commands += kill(.protocolViolation("closed its connection\(closedDetail) and did not exit"), now: now, name: name)
            default: break
            }
        }
        switch state {
        case .starting:
            if let deadline = handshakeDeadline, now >= deadline {
                handshakeDeadline = nil
                commands += kill(.handshakeTimeout, now: now, name: name)
            }
        case .running:
            let heartbeat = manifest.timeouts.heartbeat
            if heldBack {
                // Paused by the daemon itself: no ping is sent and none is overdue.
            } else if let ping = outstandingPing, now - ping.sentAt >= heartbeat {
                outstandingPing = nil
                commands += kill(.heartbeatMissed, now: now, name: name)
            } else if outstandingPing == nil, let at = nextPingAt, now >= at {
                pingSequence += 1
                outstandingPing = (pingSequence, now)
                nextPingAt = now + heartbeat
                commands.append(.ping(plugin: name, generation: generation, seq: pingSequence))
            }
            if let overdue = pendingRequests.filter({ $0.value <= now }).keys.sorted().first, pendingCause == nil {
                commands += kill(.deadlineMissed(requestID: overdue), now: now, name: name)
            }
        case .stopping:
            if let deadline = stopDeadline, now >= deadline, pendingCause == nil {
                stopDeadline = nil
                commands.append(.kill(plugin: name, generation: generation,
                                      cause: .protocolViolation("did not exit within the shutdown grace period")))
            }
        case .backingOff, .quarantined, .disabled:
            break
        }
        let rate = failureRate.rate(at: now)
        let changed = lastPublishedRate.map { abs($0 - rate) > 1e-9 } ?? true
        if changed || ratePublishedAt.map({ now - $0 >= policy.failureRateInterval }) ?? true {
            ratePublishedAt = now
            lastPublishedRate = rate
            commands.append(.publishFailureRate(plugin: name, rate: rate))
        }
        return commands
    }

    private mutating func countFailure(_ cause: PluginFailureCause, now: Timestamp, name: String) -> [SupervisionCommand] {
        counters.failures += 1
        counters.failuresByCategory[cause.category, default: 0] += 1
        failureRate.recordFailure(at: now)
        lastCause = cause
        return [.recordFailure(plugin: name, cause: cause)]
    }

    private enum CauseGroup { case timeouts, other }
    private func category(_ cause: PluginFailureCause) -> CauseGroup {
        switch cause {
        case .handshakeTimeout, .heartbeatMissed, .deadlineMissed: .timeouts
        default: .other
        }
    }

    /// What an exit the daemon did not cause means.
    static func cause(of termination: PluginTermination) -> PluginFailureCause {
        switch termination {
        case .exited(let code): return .exited(code: code)
        case .overLimit(let limit): return .resourceLimit(limit)
        case .killed(let signal, let syscall):
            switch signal {
            case SIGSYS: return .seccompKilled(syscall: syscall)
            case SIGXCPU: return .resourceLimit("CPU time limit (SIGXCPU)")
            case SIGXFSZ: return .resourceLimit("file size limit (SIGXFSZ)")
            case SIGKILL: return .resourceLimit("killed by SIGKILL it was not sent by the daemon (the kernel's OOM killer or an operator)")
            default: return .signaled(signal: signal)
            }
        }
    }
}
