import VigilCore

/// A recorded event to replay: the wire protocol's event fields with strings, and its own time.
public struct ReplaySample: Sendable, Hashable {
    public var kind: EventKind
    public var name: String
    /// A metric's value; 1 for a signal.
    public var value: Double
    public var unit: String
    public var labels: [String: String]
    public var source: String
    public var time: Timestamp

    public init(kind: EventKind, name: String, value: Double = 1, unit: String = "", labels: [String: String] = [:],
                source: String = "", time: Timestamp) {
        self.kind = kind
        self.name = name
        self.value = value
        self.unit = unit
        self.labels = labels
        self.source = source
        self.time = time
    }
}

/// Runs recorded samples through rules offline, on the samples' own clock: the dry run behind
/// `vigil rules test --replay`.
///
/// Before each sample, every timer due strictly before its time runs (so a `for` rule fires at
/// its deadline even when the next sample comes much later); the sample itself is then applied
/// with the engine's clock set to its time. The result is the same as a live engine whose timer
/// fired at every instant.
public struct RuleReplay: Sendable {
    public private(set) var engine: RuleEngine
    let clock: ManualClock
    let symbols: SymbolTable
    var signals: [RuleSignal] = []
    /// The latest sample time fed; samples must not go back in time.
    public private(set) var lastTime: Timestamp?

    public init(rules: RuleSet) {
        symbols = SymbolTable()
        clock = ManualClock(Timestamp(nanoseconds: 0))
        engine = RuleEngine(rules: rules, symbols: symbols, clock: clock)
        engine.recordsTransitions = true
    }

    /// Feeds one sample and returns the transitions up to and including its time, in time order.
    /// A sample earlier than the previous one is applied at the previous one's time.
    public mutating func feed(_ sample: ReplaySample) -> [RuleTransition] {
        let time = max(sample.time, lastTime ?? sample.time)
        if time.nanoseconds > Int64.min {
            engine.evaluate(now: Timestamp(nanoseconds: time.nanoseconds - 1), into: &signals)
        }
        lastTime = time
        clock.set(time)
        let event = Event(kind: sample.kind, lane: .telemetry, name: symbols.intern(sample.name),
                          value: sample.kind == .signal ? 1 : sample.value, unit: symbols.intern(sample.unit),
                          source: symbols.intern(sample.source), labels: symbols.intern(labels: sample.labels),
                          time: time)
        withUnsafePointer(to: event) { engine.ingest(UnsafeBufferPointer(start: $0, count: 1), into: &signals) }
        signals.removeAll(keepingCapacity: true)
        return engine.drainTransitions()
    }

    /// Runs the timers due up to `time` (by default the last sample's time) and returns their transitions.
    public mutating func finish(at time: Timestamp? = nil) -> [RuleTransition] {
        guard let end = time ?? lastTime else { return [] }
        engine.evaluate(now: end, into: &signals)
        signals.removeAll(keepingCapacity: true)
        return engine.drainTransitions()
    }

    /// Replays `samples` (in time order) and returns every transition.
    public static func run(rules: RuleSet, samples: some Sequence<ReplaySample>, until: Timestamp? = nil) -> [RuleTransition] {
        var replay = RuleReplay(rules: rules)
        var out: [RuleTransition] = []
        for s in samples { out += replay.feed(s) }
        out += replay.finish(at: until)
        return out
    }
}
