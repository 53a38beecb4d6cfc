import Foundation
import Logging
import ServiceLifecycle
import VigilCore
import VigilRules

/// The rule engine of the running daemon: the bus consumer feeds it every drained batch, a timer
/// runs what is due without samples (`for` deadlines, stale series, events leaving windows), and
/// what fires or resolves goes to the incident manager.
actor Detection {
    private var engine: RuleEngine
    private let symbols: SymbolTable
    private let clock: any VigilClock
    private let logger: Logger
    private var sink: @Sendable ([RuleSignal]) async -> Void
    private var signals: [RuleSignal] = []
    /// Signals produced so far, for `vigil status`.
    private(set) var produced = 0

    /// The recovery watches' lowered rules (`incidents.recovery_watch`), and who hears their firings.
    private var watches: RecoveryWatchEngines
    /// Returns the incidents whose watch signal could not be stored (their watch starts afresh).
    private var watchSink: @Sendable ([(incidentID: String, signal: RuleSignal)]) async -> [String] = { _ in [] }
    /// The newest watch list applied (lists can arrive out of order: an older one is ignored).
    private var watchGeneration = 0
    private var ruleSettings: RuleSet
    /// Samples kept around rule incidents (RuleSampleRecording.swift); nil when not recording.
    var recording: RuleSampleRecording?

    /// Tampering reports about the daemon's own files, held for an approving reload.
    private var ownFiles: OwnFileChanges?
    private let tampering: Symbol

    init(rules: RuleSet, symbols: SymbolTable, clock: any VigilClock, logger: Logger, ownFiles: OwnFileChanges? = nil,
         sink: @escaping @Sendable ([RuleSignal]) async -> Void = { _ in }) {
        engine = RuleEngine(rules: rules, symbols: symbols, clock: clock)
        watches = RecoveryWatchEngines(symbols: symbols, clock: clock)
        ruleSettings = rules
        self.ownFiles = ownFiles
        tampering = symbols.intern("configuration_tampering_detected")
        self.symbols = symbols
        self.clock = clock
        self.logger = logger
        self.sink = sink
    }

    func setSink(_ sink: @escaping @Sendable ([RuleSignal]) async -> Void) { self.sink = sink }

    var ruleCount: Int { engine.ruleCount }

    func setWatchSink(_ sink: @escaping @Sendable ([(incidentID: String, signal: RuleSignal)]) async -> [String]) {
        watchSink = sink
    }

    /// Hands watch signals over; a watch whose signal was not stored starts afresh.
    private func deliverWatchSignals(_ caught: [(String, RuleSignal)]) async {
        guard !caught.isEmpty else { return }
        let failed = await watchSink(caught.map { (incidentID: $0.0, signal: $0.1) })
        for id in failed { watches.restart(id, settings: ruleSettings) }
    }

    /// Runs exactly these recovery watches from now on (the incident service's active list, as
    /// of `generation`; an older list than one already applied is ignored).
    func setRecoveryWatches(_ list: [RecoveryWatch], generation: Int = .max) {
        if generation != .max {
            guard generation > watchGeneration else { return }
            watchGeneration = generation
        }
        for (watch, reason) in watches.set(list, settings: ruleSettings) {
            logger.error("recovery watch not run: its stored rule does not parse", metadata: [
                "incident": "\(watch.incidentID)", "rule": "\(watch.expression)", "error": "\(reason)"])
        }
    }

    var recoveryWatchCount: Int { watches.count }

    /// A new rule set (configuration reload). Rule state starts over: a condition that still
    /// holds fires again, and the incident manager's dedup joins it to the incident it opened.
    func replace(_ rules: RuleSet) {
        engine = RuleEngine(rules: rules, symbols: symbols, clock: clock)
        ruleSettings = rules
        recording?.replace(rules)
        logger.notice("detection rules reloaded", metadata: ["rules": "\(engine.ruleCount)"])
    }

    /// When each event name was last seen and from whom (`vigil rules check --list`): one write
    /// per run of equal names in a batch, not per event.
    private var lastSeen: [Symbol: (time: Timestamp, source: Symbol)] = [:]

    /// The last sample of each of `names` this daemon saw, with its sender.
    func lastSamples(_ names: [String]) -> [String: (time: Timestamp, source: String)] {
        var out: [String: (time: Timestamp, source: String)] = [:]
        for name in names {
            guard let symbol = symbols.lookup(name), let seen = lastSeen[symbol] else { continue }
            out[name] = (seen.time, symbols.name(seen.source))
        }
        return out
    }

    func ingest(_ events: [Event]) async {
        recording?.record(events)
        if var run = events.first {
            for e in events.dropFirst() {
                if e.name != run.name { lastSeen[run.name] = (run.time, run.source) }
                run = e
            }
            lastSeen[run.name] = (run.time, run.source)
        }
        // Watches first, so a recurrence reopens its incident before the rule's own signal
        // (same samples, full threshold) would look for an incident to join.
        if !watches.isEmpty {
            await deliverWatchSignals(watches.ingest(events))
        }
        signals.removeAll(keepingCapacity: true)
        if ownFiles != nil, events.contains(where: { $0.name == tampering }) {
            engine.ingest(events.filter { !holdOwnFileChange($0) }, into: &signals)
        } else {
            engine.ingest(events, into: &signals)
        }
        await deliver()
    }

    /// Whether `e` reports a change to one of the daemon's own files and is now held for an
    /// approving reload (``OwnFileChanges``).
    private func holdOwnFileChange(_ e: Event) -> Bool {
        // Only a plugin's report (one granted the signal) waits; anyone else's goes to the rules.
        guard e.name == tampering, ownFiles != nil, symbols.name(e.source).hasPrefix("plugin:") else { return false }
        let labels = symbols.labels(e.labels)
        guard let path = labels["path"], let new = labels["new_sha256"],
              ownFiles?.hold(e, path: path, newHash: new, now: clock.now()) == true else { return false }
        logger.notice("change to one of the daemon's own files: held until a reload approves it", metadata: [
            "path": "\(path)", "new_sha256": "\(new)", "window": "\(ownFiles.map { DurationText.format($0.window) } ?? "")",
            "source": "\(symbols.name(e.source))",
        ])
        return true
    }

    /// The paths of the held changes (for the reload to hash).
    var heldOwnFileChanges: [String] { ownFiles.map { Array($0.held.keys).sorted() } ?? [] }

    /// An approved reload found the held paths with these contents (``OwnFileChanges/approve``).
    func approveOwnFileChanges(current: [String: OwnFileChanges.Found]) {
        guard let approved = ownFiles?.approve(current: current) else { return }
        for path in approved {
            logger.notice("change to one of the daemon's own files approved by a reload", metadata: ["path": "\(path)"])
        }
    }

    /// The reload changed which files are the daemon's own.
    func setOwnPaths(_ paths: [String]) {
        ownFiles?.ownPaths = OwnFileChanges(ownPaths: paths, window: .zero).ownPaths
    }

    /// Runs the timers due by now; returns when the engine next needs to run.
    func tick() async -> Timestamp? {
        await deliverWatchSignals(watches.evaluate(now: clock.now()))
        signals.removeAll(keepingCapacity: true)
        let now = clock.now()
        if let due = ownFiles?.due(now: now), !due.isEmpty {
            for e in due {
                logger.warning("change to one of the daemon's own files not approved by a reload in time: tampering",
                               metadata: ["path": "\(symbols.labels(e.labels)["path"] ?? "")"])
            }
            engine.ingest(due, into: &signals)
        }
        engine.evaluate(now: now, into: &signals)
        await deliver()
        let due = [engine.nextDue, ownFiles?.nextDue, watches.nextDue].compactMap { $0 }.min()
        return due
    }

    private func deliver() async {
        recording?.observe(signals)
        guard !signals.isEmpty else { return }
        produced += signals.count
        for s in signals {
            logger.info("rule \(s.transition.rawValue)", metadata: [
                "rule": "\(s.ruleID)", "fingerprint": "\(s.fingerprint)", "value": "\(s.value)\(s.unit)",
            ])
        }
        await sink(signals)
    }
}

/// Runs the rule engine's timers: at least every `interval`, sooner when a deadline is due.
struct DetectionTimerService: Service {
    let detection: Detection
    let clock: any VigilClock
    let interval: Duration

    func run() async throws {
        try await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let next = await detection.tick()
                var wait = interval
                if let next {
                    let until = next - clock.now()
                    wait = max(.milliseconds(5), min(interval, until))
                }
                try? await Task.sleep(for: wait)
            }
        }
    }
}
