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

    init(rules: RuleSet, symbols: SymbolTable, clock: any VigilClock, logger: Logger,
         sink: @escaping @Sendable ([RuleSignal]) async -> Void = { _ in }) {
        engine = RuleEngine(rules: rules, symbols: symbols, clock: clock)
        self.symbols = symbols
        self.clock = clock
        self.logger = logger
        self.sink = sink
    }

    func setSink(_ sink: @escaping @Sendable ([RuleSignal]) async -> Void) { self.sink = sink }

    var ruleCount: Int { engine.ruleCount }

    /// A new rule set (configuration reload). Rule state starts over: a condition that still
    /// holds fires again, and the incident manager's dedup joins it to the incident it opened.
    func replace(_ rules: RuleSet) {
        engine = RuleEngine(rules: rules, symbols: symbols, clock: clock)
        logger.notice("detection rules reloaded", metadata: ["rules": "\(engine.ruleCount)"])
    }

    func ingest(_ events: [Event]) async {
        signals.removeAll(keepingCapacity: true)
        engine.ingest(events, into: &signals)
        await deliver()
    }

    /// Runs the timers due by now; returns when the engine next needs to run.
    func tick() async -> Timestamp? {
        signals.removeAll(keepingCapacity: true)
        engine.evaluate(now: clock.now(), into: &signals)
        await deliver()
        return engine.nextDue
    }

    private func deliver() async {
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
