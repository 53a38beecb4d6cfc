import Logging
import VigilCore
import VigilRules

/// The lowered rules of the active recovery watches, one small engine per watch so that one
/// watch starting or ending leaves the others' `for` and window state alone. The bus batch is
/// first narrowed to the event names some watch looks at (one set look-up per event), so with no
/// watch, or none on a busy metric, the hot path pays almost nothing.
struct RecoveryWatchEngines {
    private struct Running {
        var watch: RecoveryWatch
        var engine: RuleEngine
        /// The event name the watch's rule looks at.
        var name: Symbol
        /// Said what there is to say for the watch's current outcome: the first firing of a running
        /// watch, or the first clear of one whose recurrence reopened the incident.
        var reported = false

        /// What to report from `signals`: a firing while watching, a clear after a recurrence.
        func wanted(_ signals: [RuleSignal]) -> RuleSignal? {
            guard !reported else { return nil }
            let transition: RuleSignal.Transition = watch.outcome == nil ? .firing : .resolved
            return signals.first { $0.transition == transition }
        }
    }

    private var running: [String: Running] = [:]
    private var names: Set<Symbol> = []
    private var scratch: [Event] = []
    private var signals: [RuleSignal] = []
    private let symbols: SymbolTable
    private let clock: any VigilClock

    init(symbols: SymbolTable, clock: any VigilClock) {
        self.symbols = symbols
        self.clock = clock
    }

    var isEmpty: Bool { running.isEmpty }
    var count: Int { running.count }

    /// Runs exactly `watches` from now on: new ones start empty, kept ones keep their state.
    /// Returns the watches whose stored rule no longer parses (left out).
    mutating func set(_ watches: [RecoveryWatch], settings: RuleSet) -> [(RecoveryWatch, String)] {
        var next: [String: Running] = [:]
        var refused: [(RecoveryWatch, String)] = []
        for watch in watches {
            if var kept = running[watch.incidentID], kept.watch.startedAt == watch.startedAt,
               kept.watch.expression == watch.expression {
                // The same watch: its engine keeps its state (a recurrence's rule is still firing).
                if kept.watch.outcome != watch.outcome { kept.reported = false }
                kept.watch = watch
                next[watch.incidentID] = kept
                continue
            }
            let expression: RuleExpression
            do { expression = try RuleParser.parse(watch.expression) } catch {
                refused.append((watch, "\(error)"))
                continue
            }
            let rule = Rule(id: Self.ruleID(watch.incidentID), expression: expression, groupBy: .labels([]))
            let set = RuleSet(rules: [rule], consistently: settings.consistently, staleAfter: settings.staleAfter)
            next[watch.incidentID] = Running(watch: watch, engine: RuleEngine(rules: set, symbols: symbols, clock: clock),
                                             name: symbols.intern(expression.selector.name))
        }
        running = next
        names = Set(running.values.map(\.name))
        return refused
    }

    static func ruleID(_ incidentID: String) -> String { "recovery-watch:\(incidentID)" }

    /// Starts `incidentID`'s watch afresh: what it reported could not be stored, so the next
    /// breach (after the rule's `for` or window again) is reported anew instead of never.
    mutating func restart(_ incidentID: String, settings: RuleSet) {
        guard let w = running[incidentID]?.watch else { return }
        running[incidentID] = nil
        _ = set(Array(running.values.map(\.watch)) + [w], settings: settings)
    }

    /// Feeds a batch; returns what each watch has to say (incident id and signal): the first
    /// firing of a running watch, the first clear of one that caught a recurrence.
    mutating func ingest(_ events: [Event]) -> [(String, RuleSignal)] {
        guard !running.isEmpty else { return [] }
        scratch.removeAll(keepingCapacity: true)
        for e in events where names.contains(e.name) { scratch.append(e) }
        guard !scratch.isEmpty else { return [] }
        var caught: [(String, RuleSignal)] = []
        let now = clock.now()
        for id in running.keys {
            // Past its time, a watch no longer counts (the next tick drops it).
            if let w = running[id]?.watch, w.outcome == nil, now >= w.until { continue }
            signals.removeAll(keepingCapacity: true)
            running[id]?.engine.ingest(scratch, into: &signals)
            if let signal = running[id]?.wanted(signals) {
                running[id]?.reported = true
                caught.append((id, signal))
            }
        }
        return caught
    }

    /// Runs the watches' timers (`for` deadlines, windows) and drops watches whose time is up;
    /// returns what each has to say, as ``ingest(_:)``.
    mutating func evaluate(now: Timestamp) -> [(String, RuleSignal)] {
        var caught: [(String, RuleSignal)] = []
        for id in running.keys {
            guard let w = running[id] else { continue }
            // A watch that caught a recurrence runs on until its condition clears.
            if w.watch.outcome == nil, now >= w.watch.until {
                running[id] = nil
                continue
            }
            signals.removeAll(keepingCapacity: true)
            running[id]?.engine.evaluate(now: now, into: &signals)
            if let signal = running[id]?.wanted(signals) {
                running[id]?.reported = true
                caught.append((id, signal))
            }
        }
        return caught
    }

    /// The earliest time a watch needs its timers run or ends.
    var nextDue: Timestamp? {
        running.values.compactMap { r -> Timestamp? in
            guard r.watch.outcome == nil else { return r.engine.nextDue }
            return r.engine.nextDue.map { min($0, r.watch.until) } ?? r.watch.until
        }.min()
    }
}
