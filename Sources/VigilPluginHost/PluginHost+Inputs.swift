import Foundation
import Logging
import NIOCore
import VigilBus
import VigilCore
import VigilPluginProtocol

extension PluginHost {
    /// Applies one input: a connection report, an exit, a spawn outcome, a breach, a tick.
    func handle(_ input: Input) async {
        let now = clock.now()
        switch input {
        case .spawned(let name, let generation, .success(let run)):
            guard supervisor.generation(name) == generation, !exitedEarly.contains(Key(name, generation)) else {
                exitedEarly.remove(Key(name, generation))
                run.channel.close(promise: nil)
                return
            }
            runs[name] = (generation, run)
            dataFolders[name] = run.dataFolder
            execute(supervisor.handle(.spawned(plugin: name, generation: generation, pid: run.pid), now: now))
            if stopDeadline != nil { send(.shutdown(reason: "vigild is stopping"), on: run.channel) }
            // Reading starts only now, so every report of this run finds it registered.
            run.channel.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in }
            run.channel.read()
            logger.info("plugin started", metadata: ["plugin": "\(name)", "pid": "\(run.pid)", "generation": "\(generation)"])
        case .spawned(let name, let generation, .failure(let error)):
            logger.error("plugin failed to start", metadata: ["plugin": "\(name)", "error": "\(error)"])
            execute(supervisor.handle(.spawnFailed(plugin: name, generation: generation, reason: error.description), now: now))
        case .report(let name, let generation, let report):
            handle(report, from: name, generation: generation, now: now)
        case .exited(let name, let generation, let termination):
            if let current = runs[name], current.generation == generation {
                runs[name] = nil
                current.run.channel.close(promise: nil)
            } else if supervisor.generation(name) == generation {
                exitedEarly.insert(Key(name, generation))
            }
            logger.notice("plugin exited", metadata: ["plugin": "\(name)", "generation": "\(generation)", "how": "\(termination)"])
            execute(supervisor.handle(.terminated(plugin: name, generation: generation, termination), now: now,
                                      random: Double.random(in: 0...1)))
        case .breach(let report):
            logger.critical("plugin isolation breach", metadata: [
                "plugin": "\(report.plugin)", "pid": "\(report.pid)", "syscall": "\(report.syscall)",
                "outcome": "\(report.outcome.rawValue)", "destination": "\(report.destination ?? "-")",
                "args": "\(report.arguments.map { "0x" + String($0, radix: 16) }.joined(separator: ","))",
            ])
            execute(supervisor.handle(.breach(plugin: report.plugin, syscall: report.syscall), now: now))
        case .republish(let event):
            await bus.publish(event)
        case .tick:
            if let deadline = stopDeadline, now >= deadline {
                for (_, current) in runs { kill(current.run.pid, SIGKILL) }
            }
            execute(supervisor.tick(now: now, random: Double.random(in: 0...1)))
            judgeSyscallWindows(now: now)
            checkRunLimits(now: now)
        case .syscallFlood(let name, let pid, let detail):
            guard let current = runs[name], current.run.pid == pid else { return }
            logger.error("plugin syscall flood", metadata: ["plugin": "\(name)", "detail": "\(detail)"])
            execute(supervisor.handle(.protocolViolation(plugin: name, generation: current.generation, description: detail),
                                      now: now))
        case .overLimit(let name, let generation, let limit):
            logger.warning("plugin over its limit", metadata: ["plugin": "\(name)", "limit": "\(limit)"])
            execute(supervisor.handle(.overLimit(plugin: name, generation: generation, limit: limit), now: now))
        }
    }

    private func handle(_ report: ConnectionReport, from name: String, generation: Int, now: Timestamp) {
        guard supervisor.generation(name) == generation else { return }
        switch report {
        case .hello(let hello):
            guard let current = runs[name], current.generation == generation else { return }
            if let reason = HelloCheck.refusal(of: hello, plugin: name) {
                // The connection has already answered `reject`, dropped what followed and closed.
                execute(supervisor.handle(.handshakeRejected(plugin: name, generation: generation, reason: reason), now: now))
                return
            }
            send(.welcome(Welcome(config: supervisor.manifest(name)?.config ?? .object([:]))), on: current.run.channel)
            execute(supervisor.handle(.handshakeCompleted(plugin: name, generation: generation), now: now))
            logger.info("plugin ready", metadata: ["plugin": "\(name)", "version": "\(LogText.sanitized(String(hello.version.prefix(80))))"])
        case .pong(let seq):
            execute(supervisor.handle(.pong(plugin: name, generation: generation, seq: seq), now: now))
        case .result(let result):
            // The sender is checked before anything is taken: an answer to another plugin's
            // request leaves that request waiting for its real answer.
            guard let waiter = waiting[result.id], waiter.plugin == name, waiter.generation == generation else {
                if takeLateAnswer(result.id, plugin: name) { return }  // late, already failed
                let id = LogText.sanitized(String(result.id.prefix(80)))
                execute(supervisor.handle(.protocolViolation(plugin: name, generation: generation,
                                                             description: "answered request \"\(id)\", which was not sent to it"),
                                          now: now))
                return
            }
            waiting[result.id] = nil
            waiter.timer?.cancel()
            execute(supervisor.handle(.requestCompleted(plugin: name, id: result.id), now: now))
            // The detail is stored with the action and printed by the CLI: one line, escaped, cut.
            var answer = result
            answer.detail = LogText.sanitized(result.detail, limit: LogText.maximumDetailBytes)
            waiter.continuation.resume(returning: answer)
        case .log(let line):
            relayLog(line, from: name, generation: generation, now: now)
        case .refused(let reason, let total):
            logger.warning("plugin events refused", metadata: ["plugin": "\(name)", "reason": "\(LogText.sanitized(reason))",
                                                            "refused_in_run": "\(total)"])
        case .backpressure(let paused):
            logger.debug("plugin reading \(paused ? "paused" : "resumed") by bus backpressure", metadata: ["plugin": "\(name)"])
            execute(supervisor.handle(.backpressure(plugin: name, generation: generation, paused: paused), now: now))
        case .violation(let error):
            logger.error("plugin protocol violation", metadata: ["plugin": "\(name)", "error": "\(error)"])
            execute(supervisor.handle(.protocolViolation(plugin: name, generation: generation, description: error.description),
                                      now: now))
        case .stderrFlood(let what):
            logger.error("plugin stderr flood", metadata: ["plugin": "\(name)", "detail": "\(what)"])
            execute(supervisor.handle(.protocolViolation(plugin: name, generation: generation, description: "log flood: " + what),
                                      now: now))
        case .closed(let unread):
            let detail = unread > 0 ? " inside a frame (\(unread) bytes of it unread)" : ""
            execute(supervisor.handle(.connectionClosed(plugin: name, generation: generation, detail: detail), now: now))
        }
    }

    /// Carries out what the supervisor decided.
    func execute(_ commands: [SupervisionCommand]) {
        for command in commands {
            switch command {
            case .spawn(let name, let generation):
                launch(name, generation: generation)
            case .shutdown(let name, let generation):
                if let current = runs[name], current.generation == generation {
                    send(.shutdown(reason: "requested by the daemon"), on: current.run.channel)
                }
            case .kill(let name, let generation, let cause):
                if let current = runs[name], current.generation == generation {
                    logger.warning("killing plugin", metadata: ["plugin": "\(name)", "cause": "\(cause)"])
                    kill(current.run.pid, SIGKILL)
                }
            case .ping(let name, let generation, let seq):
                if let current = runs[name], current.generation == generation { send(.ping(seq: seq), on: current.run.channel) }
            case .failRequest(_, let id, let reason):
                if let waiter = waiting.removeValue(forKey: id) {
                    waiter.timer?.cancel()
                    rememberExpired(id, plugin: waiter.plugin)
                    waiter.continuation.resume(throwing: PluginHostError.requestFailed(plugin: waiter.plugin, reason: reason))
                }
            case .recordFailure(let name, let cause):
                logger.warning("plugin failure", metadata: ["plugin": "\(name)", "cause": "\(cause)", "category": "\(cause.category)"])
                records[name]?.restarts = supervisor.status(name, now: clock.now())?.counters.restarts ?? 0
                persist(name)
            case .quarantined(let name, let cause, let critical):
                logger.critical("plugin quarantined", metadata: ["plugin": "\(name)", "cause": "\(cause)", "critical": "\(critical)"])
                records[name]?.quarantine = cause.description
                persist(name)
                publish("plugin_quarantined", kind: .signal, lane: .incident, value: 1, unit: "",
                        labels: ["plugin": name, "cause": cause.category, "critical": critical ? "true" : "false",
                                 "reason": cause.description])
            case .publishFailureRate(let name, let rate):
                publish("plugin_failure_rate", kind: .metric, lane: .incident, value: rate * 100, unit: "%", labels: ["plugin": name])
            }
        }
    }

    /// Stores the plugin's record; the write (SQLite) runs on the registry queue, in order.
    func persist(_ name: String) {
        guard let record = records[name] else { return }
        let state = supervisor.status(name, now: clock.now())?.state.name ?? "unknown"
        let (registry, logger) = (self.registry, self.logger)
        registryQueue.async {
            do {
                try registry.save(name, record, state: state)
            } catch {
                logger.error("cannot record plugin state", metadata: ["plugin": "\(name)", "error": "\(error)"])
            }
        }
    }

    func publish(_ name: String, kind: EventKind, lane: Lane, value: Double, unit: String, labels: [String: String]) {
        let event = Event(kind: kind, lane: lane, name: symbols.intern(name), value: value, unit: symbols.intern(unit),
                          source: symbols.intern("vigild:plugin-host"), labels: symbols.intern(labels: labels), time: clock.now())
        if bus.offer(event).rejected > 0 { continuation.yield(.republish(event)) }
    }

    /// Feeds each running plugin's watched-syscall window to its baseline; an unusual window is
    /// published as `unusual_system_call_patterns` on the security lane.
    private func judgeSyscallWindows(now: Timestamp) {
        guard let watcher, now - windowStartedAt >= settings.syscallWindow else { return }
        windowStartedAt = now
        for name in supervisor.names where supervisor.isServing(name) {
            let window = watcher.takeWindow(plugin: name)
            var baseline = baselines[name] ?? SyscallBaseline()
            let verdict = baseline.observe(window)
            baselines[name] = baseline
            guard case .unusual(let findings) = verdict else { continue }
            let text = findings.map { "\($0)" }.joined(separator: "; ")
            logger.warning("unusual system call pattern", metadata: ["plugin": "\(name)", "findings": "\(text)"])
            publish("unusual_system_call_patterns", kind: .signal, lane: .security, value: 1, unit: "",
                    labels: ["plugin": name, "finding": text])
        }
    }

    /// Once a second: a plugin whose memory cgroup OOM-killed one of its processes (a child that
    /// grew past the limit while the plugin lived on), or whose pids cgroup refused a fork (a
    /// fork bomb held at the limit), is over its limit — the run ends as a failure with that
    /// cause, as it would had the plugin itself been killed. The cgroup files are read on a
    /// thread of their own.
    func checkRunLimits(now: Timestamp) {
        if let last = limitsCheckedAt, now - last < .seconds(1) { return }
        limitsCheckedAt = now
        let probes = runs.compactMap { name, current in current.run.runLimitHit.map { (name, current.generation, $0) } }
        guard !probes.isEmpty else { return }
        let continuation = self.continuation
        Task {
            let hits = await PluginLauncher.onThread { probes.compactMap { p in p.2(now).map { (p.0, p.1, $0) } } }
            for (name, generation, limit) in hits { continuation.yield(.overLimit(name, generation, limit)) }
        }
    }

    /// A plugin's `log` frames go to the daemon's log at most 20 a second (bursts of 100), as
    /// one escaped line of at most ``LogText/maximumBytes``, never above `error`: a plugin
    /// cannot write lines that read as the daemon's own, or page anyone through the log level.
    /// A sustained flood — more than ``LogFlood/lines`` lines dropped by the rate limit, or
    /// ``LogFlood/bytes`` bytes of log frames, within a minute — ends the run as a protocol
    /// violation: past the limit the lines cost the log nothing, but reading them costs CPU.
    private func relayLog(_ line: LogLine, from name: String, generation: Int, now: Timestamp) {
        let level = min(Logger.Level(rawValue: line.level) ?? .info, .error)
        let message = LogText.sanitized(line.message)
        if enhancedLogging.contains(name) {
            logger.log(level: level, "\(message)", metadata: ["plugin": "\(name)", "enhanced": "true"])
            return
        }
        // Every byte of every log frame counts towards a flood, written or dropped.
        var flood = logFlood[name] ?? LogFlood(start: now)
        if now - flood.start >= LogFlood.window { flood = LogFlood(start: now) }
        flood.bytes += line.message.utf8.count
        logFlood[name] = flood
        var limit = logBudget[name] ?? LineRateLimit(now: now)
        let (write, dropped) = limit.admit(now: now)
        logBudget[name] = limit
        if let dropped {
            logger.warning("plugin log lines dropped by the rate limit", metadata: ["plugin": "\(name)", "dropped": "\(dropped)"])
        }
        if !write { flood.lines += 1; logFlood[name] = flood }
        if flood.lines > LogFlood.lines || flood.bytes > LogFlood.bytes {
            logFlood[name] = nil
            execute(supervisor.handle(.protocolViolation(plugin: name, generation: generation, description:
                "log flood: \(flood.bytes) bytes of log frames, \(flood.lines) lines over the rate limit, within a minute"), now: now))
            return
        }
        guard write else { return }
        logger.log(level: level, "\(message)", metadata: ["plugin": "\(name)"])
    }
}

/// A plugin run, by name and generation.
struct Key: Hashable, Sendable {
    let name: String
    let generation: Int
    init(_ name: String, _ generation: Int) {
        self.name = name
        self.generation = generation
    }
}
