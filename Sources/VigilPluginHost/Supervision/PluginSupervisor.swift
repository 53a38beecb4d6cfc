import VigilCore

/// The supervision state machine for every plugin: values in (``SupervisionInput``, the time),
/// commands out (``SupervisionCommand``). It does no I/O, so restarts, backoff, crash loops,
/// heartbeats and deadlines are tested by feeding inputs and a time.
///
/// Rules it enforces:
/// - a failed run restarts after an exponential backoff with jitter; a run that lasted
///   ``SupervisionPolicy/stableRun`` resets the backoff;
/// - ``SupervisionPolicy/crashLoopFailures`` failures within ``SupervisionPolicy/crashLoopWindow``
///   quarantine the plugin; so does any isolation breach, at once;
/// - a quarantined or disabled plugin is not started again until an operator enables it;
/// - no `hello` before the handshake timeout, a `ping` unanswered for a heartbeat interval, or a
///   request unanswered past its deadline ends the run with that cause;
/// - every start and every request is an attempt, every failure a failure: their ratio over
///   ``SupervisionPolicy/failureRateWindow`` is `plugin_failure_rate`.
public struct PluginSupervisor: Sendable {
    public let policy: SupervisionPolicy
    private(set) var entries: [String: PluginEntry] = [:]
    /// Names in the order plugins were added (listings keep it).
    public private(set) var order: [String] = []

    public init(policy: SupervisionPolicy = SupervisionPolicy()) {
        self.policy = policy
    }

    /// Adds a plugin. `quarantine` restores a quarantine recorded before a restart of the daemon;
    /// a plugin that is enabled and not quarantined is started at once.
    public mutating func add(_ manifest: PluginManifest, enabled: Bool, quarantine: String? = nil,
                             now: Timestamp) -> [SupervisionCommand] {
        defer { stampStateChanges(now: now) }
        if entries[manifest.name] == nil { order.append(manifest.name) }
        var entry = PluginEntry(manifest: manifest, policy: policy, now: now)
        if let quarantine {
            entry.state = .quarantined
            entry.lastCause = .protocolViolation("quarantined before the daemon restarted: \(quarantine)")
            entry.quarantineText = quarantine
        } else if !enabled {
            entry.state = .disabled
        }
        entries[manifest.name] = entry
        guard enabled, quarantine == nil else { return [] }
        return start(manifest.name, now: now)
    }

    /// The plugins this supervisor knows, by name.
    public var names: [String] { order }

    public func manifest(_ name: String) -> PluginManifest? { entries[name]?.manifest }

    /// The generation of the plugin's current (or last) run; frames and exits of older
    /// generations are stale and ignored.
    public func generation(_ name: String) -> Int? { entries[name]?.generation }

    /// Whether the plugin's current run finished its handshake and may receive requests.
    public func isServing(_ name: String) -> Bool { entries[name]?.state == .running }

    // MARK: inputs

    /// Applies one observation of the process layer or one operator command.
    public mutating func handle(_ input: SupervisionInput, now: Timestamp, random: Double = 0.5) -> [SupervisionCommand] {
        let commands = apply(input, now: now, random: random)
        stampStateChanges(now: now)
        return commands
    }

    /// Records when each plugin entered its current state (for `vigil plugins show`).
    private mutating func stampStateChanges(now: Timestamp) {
        for (name, e) in entries where e.state.name != e.stampedState {
            entries[name]?.stampedState = e.state.name
            entries[name]?.stateSince = now
        }
    }

    private mutating func apply(_ input: SupervisionInput, now: Timestamp, random: Double) -> [SupervisionCommand] {
        let policy = self.policy
        switch input {
        case .spawned(let name, let generation, let pid):
            return update(name, generation) { e in
                guard e.state == .starting else { return [] }
                e.pid = pid
                e.handshakeDeadline = now + e.manifest.timeouts.handshake
                return []
            }
        case .spawnFailed(let name, let generation, let reason):
            return update(name, generation) { e in
                e.spawnFailed(reason, now: now, random: random, policy: policy, name: name)
            }
        case .handshakeCompleted(let name, let generation):
            return update(name, generation) { e in
                guard e.state == .starting else { return [] }
                e.state = .running
                e.since = now
                e.handshakeDeadline = nil
                e.nextPingAt = now + e.manifest.timeouts.heartbeat
                return []
            }
        case .handshakeRejected(let name, let generation, let reason):
            return update(name, generation) { e in e.kill(.handshakeRejected(reason), now: now, name: name) }
        case .pong(let name, let generation, let seq):
            return update(name, generation) { e in
                if e.outstandingPing?.seq == seq { e.outstandingPing = nil }
                return []
            }
        case .protocolViolation(let name, let generation, let description):
            return update(name, generation) { e in
                e.counters.protocolViolations += 1
                return e.kill(.protocolViolation(description), now: now, name: name)
            }
        case .connectionClosed(let name, let generation, let detail):
            // An exit usually follows at once; a process that keeps running without its
            // connection (a half-close, perhaps inside a frame) is ended after a short grace.
            return update(name, generation) { e in
                switch e.state {
                case .starting, .running:
                    if e.closedDeadline == nil, e.pendingCause == nil {
                        e.closedDeadline = now + policy.closedConnectionGrace
                        e.closedDetail = detail
                    }
                default: break
                }
                return []
            }
        case .overLimit(let name, let generation, let limit):
            return update(name, generation) { e in e.kill(.resourceLimit(limit), now: now, name: name) }
        case .terminated(let name, let generation, let termination):
            var commands = update(name, generation) { e in
                e.terminated(termination, now: now, random: random, policy: policy, name: name)
            }
            if case .backingOff(let until)? = entries[name]?.state, until <= now { commands += start(name, now: now) }
            return commands
        case .breach(let name, let syscall):
            guard var e = entries[name] else { return [] }
            e.counters.breaches += 1
            let commands = e.quarantineNow(.breach(syscall: syscall), now: now, name: name)
            entries[name] = e
            return commands
        case .quarantine(let name, let reason):
            guard var e = entries[name] else { return [] }
            let commands = e.quarantineNow(.isolated(reason), now: now, name: name)
            entries[name] = e
            return commands
        case .backpressure(let name, let generation, let paused):
            // Held back by the bus, the plugin's pong waits unread behind its events: its
            // heartbeat is not judged until reading resumes, and then from a fresh start.
            return update(name, generation) { e in
                e.heldBack = paused
                if !paused, let ping = e.outstandingPing { e.outstandingPing = (ping.seq, now) }
                return []
            }
        case .requestSent(let name, let generation, let id, let deadline):
            return update(name, generation) { e in
                e.pendingRequests[id] = deadline
                e.counters.requests += 1
                e.failureRate.recordAttempt(at: now)
                return []
            }
        case .requestCompleted(let name, let id):
            guard var e = entries[name] else { return [] }
            e.pendingRequests[id] = nil
            entries[name] = e
            return []
        case .enable(let name):
            guard var e = entries[name] else { return [] }
            switch e.state {
            case .quarantined, .disabled, .backingOff:
                e.consecutiveFailures = 0
                e.recentFailures.removeAll()
                e.quarantineText = nil
                entries[name] = e
                return start(name, now: now)
            case .starting, .running, .stopping:
                return []
            }
        case .disable(let name):
            guard var e = entries[name] else { return [] }
            let commands = e.stop(then: .disabled, now: now, grace: policy.shutdownGrace, name: name)
            entries[name] = e
            return commands
        case .restart(let name):
            guard var e = entries[name] else { return [] }
            switch e.state {
            case .starting, .running:
                let commands = e.stop(then: .starting, now: now, grace: policy.shutdownGrace, name: name)
                entries[name] = e
                return commands
            case .backingOff, .disabled, .quarantined:
                e.quarantineText = nil
                entries[name] = e
                return start(name, now: now)
            case .stopping:
                e.afterStop = .starting
                entries[name] = e
                return []
            }
        }
    }

    /// Everything that is due at `now`: handshake, heartbeat and request deadlines, pings,
    /// restarts after backoff, kills after the shutdown grace, failure-rate publications.
    public mutating func tick(now: Timestamp, random: Double = 0.5) -> [SupervisionCommand] {
        defer { stampStateChanges(now: now) }
        var commands: [SupervisionCommand] = []
        for name in order {
            guard var e = entries[name] else { continue }
            commands += e.due(now: now, policy: policy, name: name)
            entries[name] = e
            if case .backingOff(let until) = e.state, until <= now { commands += start(name, now: now) }
        }
        return commands
    }

    /// A snapshot for listings; `syscalls` comes from the breach watcher.
    public mutating func status(_ name: String, now: Timestamp, syscalls: [String: UInt64] = [:]) -> PluginStatus? {
        guard var e = entries[name] else { return nil }
        let rate = e.failureRate.rate(at: now)
        entries[name] = e
        return PluginStatus(name: name, kind: e.manifest.kind, critical: e.manifest.critical, state: e.state,
                            lastCause: e.lastCause, pid: e.state == .running || e.state == .starting || e.state == .stopping ? e.pid : nil,
                            since: e.stateSince, counters: e.counters, failureRate: rate, syscalls: syscalls)
    }


    // MARK: internals

    private mutating func start(_ name: String, now: Timestamp) -> [SupervisionCommand] {
        guard var e = entries[name] else { return [] }
        e.generation += 1
        e.state = .starting
        e.since = now
        e.pid = nil
        e.pendingCause = nil
        e.outstandingPing = nil
        e.nextPingAt = nil
        e.heldBack = false
        e.handshakeDeadline = now + e.manifest.timeouts.handshake
        e.afterStop = nil
        e.counters.starts += 1
        if e.counters.starts > 1 { e.counters.restarts += 1 }
        e.failureRate.recordAttempt(at: now)
        e.ratePublishedAt = nil
        entries[name] = e
        return [.spawn(plugin: name, generation: e.generation)]
    }

    /// Runs `body` on the entry when `generation` is its current one.
    private mutating func update(_ name: String, _ generation: Int,
                                 _ body: (inout PluginEntry) -> [SupervisionCommand]) -> [SupervisionCommand] {
        guard var e = entries[name], e.generation == generation else { return [] }
        let commands = body(&e)
        entries[name] = e
        return commands
    }
}
