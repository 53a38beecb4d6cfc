import Foundation
import VigilConfig
import VigilCore
import VigilRules

/// The repository root, found from this file's path (tests run from a clone).
let repositoryRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

/// The seed's `incident_detection` block, as kept byte for byte by the foundation issue.
let seedRulesPath = repositoryRoot + "/Config/detection-rules.yaml"

func seedRules(consistently: Duration = .seconds(300), staleAfter: Duration = .seconds(300)) throws -> RuleSet {
    try RuleFileLoader.load(paths: [seedRulesPath], consistently: consistently, staleAfter: staleAfter)
}

/// Rules from lines of text, ids `r1`, `r2`, … in order.
func rules(_ texts: String..., staleAfter: Duration = .seconds(300)) throws -> RuleSet {
    RuleSet(rules: try texts.enumerated().map { Rule(id: "r\($0.offset + 1)", expression: try RuleParser.parse($0.element)) },
            staleAfter: staleAfter)
}

/// An engine driven the way the daemon drives it (batches of events, a timer), on a manual clock
/// that starts at `t0`; times in the helpers are offsets from `t0`.
struct Harness {
    let symbols = SymbolTable()
    let clock: ManualClock
    let t0 = Timestamp(nanoseconds: 1_767_603_600_000_000_000) // 2026-01-05T09:00:00Z
    var engine: RuleEngine
    var signals: [RuleSignal] = []
    var transitions: [RuleTransition] = []

    init(_ set: RuleSet) {
        clock = ManualClock(t0)
        engine = RuleEngine(rules: set, symbols: symbols, clock: clock)
        engine.recordsTransitions = true
    }

    func time(_ offset: Duration) -> Timestamp { t0 + offset }

    /// Runs the timer up to `offset` (inclusive), as the daemon's timer does.
    mutating func advance(to offset: Duration) {
        clock.set(time(offset))
        engine.evaluate(now: time(offset), into: &signals)
        transitions += engine.drainTransitions()
    }

    mutating func send(_ kind: EventKind, _ name: String, _ value: Double, unit: String, labels: [String: String],
                       source: String, at offset: Duration) {
        let t = time(offset)
        // The timer has run up to just before the sample, as it would have live.
        engine.evaluate(now: t - .nanoseconds(1), into: &signals)
        clock.set(t)
        let e = Event(kind: kind, lane: .telemetry, name: symbols.intern(name), value: value, unit: symbols.intern(unit),
                      source: symbols.intern(source), labels: symbols.intern(labels: labels), time: t)
        withUnsafePointer(to: e) { engine.ingest(UnsafeBufferPointer(start: $0, count: 1), into: &signals) }
        transitions += engine.drainTransitions()
    }

    mutating func metric(_ name: String, _ value: Double, unit: String = "", labels: [String: String] = [:],
                         source: String = "", at offset: Duration) {
        send(.metric, name, value, unit: unit, labels: labels, source: source, at: offset)
    }

    mutating func signal(_ name: String, labels: [String: String] = [:], source: String = "", at offset: Duration) {
        send(.signal, name, 1, unit: "", labels: labels, source: source, at: offset)
    }

    /// Samples of `value` every `every` from `from` up to and including `to`.
    mutating func series(_ name: String, _ value: Double, unit: String = "", labels: [String: String] = [:],
                         from: Duration, to: Duration, every: Duration) {
        var t = from
        while t <= to {
            metric(name, value, unit: unit, labels: labels, at: t)
            t += every
        }
    }

    /// Whether the rule's latest transition for the series (or group) is `firing`.
    func isFiring(_ rule: String, _ series: [String: String] = [:]) -> Bool {
        transitions.last { $0.ruleID == rule && $0.series == series }?.kind == .firing
    }

    func transitions(of rule: String) -> [RuleTransition] { transitions.filter { $0.ruleID == rule } }

    /// `kind@offset` of each transition of `rule`, for compact expectations.
    func timeline(_ rule: String) -> [String] {
        transitions(of: rule).map { "\($0.kind.rawValue)@\(offsetText($0.at))" }
    }

    func offsetText(_ t: Timestamp) -> String {
        let ms = (t.nanoseconds - t0.nanoseconds) / 1_000_000
        return ms % 1000 == 0 ? "\(ms / 1000)s" : "\(ms)ms"
    }
}
