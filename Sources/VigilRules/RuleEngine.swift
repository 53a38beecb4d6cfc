import VigilCore

/// Evaluates detection rules against the events on the bus and says when each starts and stops firing.
///
/// The bus consumer owns one engine: it passes every batch to ``ingest(_:into:)`` and calls
/// ``evaluate(now:into:)`` on a timer (at the latest at ``nextDue``), so `for` durations, stale
/// series and sliding windows move on even when samples stop. State is kept per (rule, series)
/// for threshold rules and per (rule, group) for window rules, only while something is pending,
/// firing or inside a window; the semantics are in `Docs/rules.md`.
///
/// The hot path touches no strings: a rule is found by the event's name ``Symbol`` through an index,
/// and each series' label-matcher decisions and alert group are worked out once, the first time its
/// ``LabelSetID`` is seen.
public struct RuleEngine: Sendable {
    let symbols: SymbolTable
    let clock: any VigilClock
    let rules: [CompiledRule]
    let params: [RuleParams]
    let staleAfter: Int64

    /// Keep ``RuleTransition``s (pending included) for ``drainTransitions()``; off in the daemon.
    public var recordsTransitions = false
    var transitions: [RuleTransition] = []

    /// Event name symbol id → bucket (-1: no rule watches the name).
    var bucketOfName: [Int32] = []
    /// Rule indices of bucket `b`: `bucketRules[bucketStart[b]..<bucketStart[b + 1]]`.
    var bucketRules: [Int32] = []
    var bucketStart: [Int32] = []

    var seriesTable = SeriesTable()
    var seriesInfo: [SeriesInfo] = []
    /// Per series, one slot per rule of its bucket (the series' `slotStart` onwards).
    var slots: [Slot] = []

    var groupTable: [GroupKey: Int32] = [:]
    var groups: [GroupRecord] = []

    var thresholds: [ThresholdState] = []
    var freeThresholds: [Int32] = []
    var windows: [WindowState] = []
    var windowEntries: [[WindowEntry]] = []
    var freeWindows: [Int32] = []
    var heap = TimerHeap()

    var eventUnits: [Symbol: EventUnit] = [:]
    var lastUnit: (symbol: Symbol, unit: EventUnit) = (.none, EventUnit(""))

    /// Counters for self-monitoring and the benchmark.
    public internal(set) var statistics = RuleEngineStatistics()

    /// Compiles `rules`; names and matcher values are interned in `symbols`, the table the bus uses.
    public init(rules: RuleSet, symbols: SymbolTable, clock: any VigilClock) {
        self.symbols = symbols
        self.clock = clock
        self.staleAfter = max(1, rules.staleAfter.nanoseconds)
        self.rules = rules.rules.map { CompiledRule($0, symbols: symbols) }
        self.params = rules.rules.map { RuleParams($0.expression, set: rules) }
        var byName: [Symbol: [Int32]] = [:]
        var order: [Symbol] = []
        for (i, r) in self.rules.enumerated() {
            let name = symbols.intern(r.rule.expression.selector.name)
            if byName[name] == nil { order.append(name) }
            byName[name, default: []].append(Int32(i))
        }
        let maxID = order.map { Int($0.id) }.max() ?? -1
        bucketOfName = Array(repeating: -1, count: maxID + 1)
        for (b, name) in order.enumerated() {
            bucketOfName[Int(name.id)] = Int32(b)
            bucketStart.append(Int32(bucketRules.count))
            bucketRules.append(contentsOf: byName[name] ?? [])
        }
        bucketStart.append(Int32(bucketRules.count))
    }

    /// The number of compiled rules.
    public var ruleCount: Int { rules.count }

    /// What the engine holds now: series seen, alert groups, live states and queued timers.
    public var footprint: (series: Int, groups: Int, thresholdStates: Int, windowStates: Int, windowEntries: Int, timers: Int) {
        (seriesInfo.count, groups.count, thresholds.count - freeThresholds.count, windows.count - freeWindows.count,
         windows.reduce(0) { $0 + $1.live }, heap.count)
    }

    /// The earliest time ``evaluate(now:into:)`` has work to do, or nil when no timer is set.
    public var nextDue: Timestamp? { heap.top.map { Timestamp(nanoseconds: $0.due) } }

    // MARK: Ingest

    /// Runs a batch of events through the rules, appending every firing and resolution to `signals`.
    ///
    /// Event times later than the clock's now are taken as now; a sample older than what a series
    /// has already seen is applied at the series' latest time, so state never runs backwards.
    public mutating func ingest(_ events: UnsafeBufferPointer<Event>, into signals: inout [RuleSignal]) {
        let now = clock.now().nanoseconds
        for e in events { ingest(e, now: now, into: &signals) }
    }

    /// ``ingest(_:into:)`` for a batch drained into an array (`EventBus.drainAll(into:max:)`).
    public mutating func ingest(_ events: [Event], into signals: inout [RuleSignal]) {
        events.withUnsafeBufferPointer { ingest($0, into: &signals) }
    }

    /// ``ingest(_:into:)`` returning the signals.
    public mutating func ingest(_ events: UnsafeBufferPointer<Event>) -> [RuleSignal] {
        var out: [RuleSignal] = []
        ingest(events, into: &out)
        return out
    }

    /// One event; convenient for tests and slow paths.
    public mutating func ingest(_ event: Event) -> [RuleSignal] {
        var out: [RuleSignal] = []
        ingest(event, now: clock.now().nanoseconds, into: &out)
        return out
    }

    @inline(__always)
    mutating func ingest(_ e: Event, now: Int64, into out: inout [RuleSignal]) {
        statistics.samples += 1
        let nameID = Int(e.name.id)
        guard nameID < bucketOfName.count else { return }
        let bucket = bucketOfName[nameID]
        guard bucket >= 0 else { return }
        let t = min(e.time.nanoseconds, now)
        let series = seriesIndex(name: e.name, labels: e.labels, source: e.source, bucket: bucket)
        let start = Int(seriesInfo[Int(series)].slotStart)
        let first = Int(bucketStart[Int(bucket)])
        let count = Int(bucketStart[Int(bucket) + 1]) - first
        for j in 0..<count {
            let slot = start + j
            let group = slots[slot].group
            if group < 0 { continue }
            statistics.evaluations += 1
            apply(rule: Int(bucketRules[first + j]), slot: slot, group: group, series: series, event: e, at: t,
                  into: &out)
        }
    }

    @inline(__always)
    mutating func apply(rule r: Int, slot: Int, group: Int32, series: Int32, event e: Event, at t: Int64,
                        into out: inout [RuleSignal]) {
        let kind = params[r].kind
        if kind == .occurrence {
            if e.kind == .signal || (e.value != 0 && !e.value.isNaN) {
                fireOccurrence(rule: r, group: group, series: series, value: e.value, at: t, into: &out)
            }
            return
        }
        guard e.value.isFinite else { statistics.nonFinite += 1; return }
        guard let factor = factor(rule: r, unit: e.unit) else { statistics.unitMismatches += 1; return }
        switch kind {
        case .threshold:
            thresholdSample(rule: r, slot: slot, group: group, series: series, value: e.value * factor, at: t, into: &out)
        case .sumWindow:
            windowEvent(rule: r, group: group, weight: e.kind == .signal ? 1 : e.value * factor, at: t, into: &out)
        case .ratioWindow:
            windowEvent(rule: r, group: group, weight: e.value * factor, at: t, into: &out)
        case .occurrence:
            break
        }
    }

    @inline(__always)
    mutating func factor(rule r: Int, unit: Symbol) -> Double? {
        if unit == .none { return params[r].kind == .ratioWindow ? 100 : 1 }
        if unit != lastUnit.symbol {
            let known = eventUnits[unit] ?? EventUnit(symbols.name(unit))
            eventUnits[unit] = known
            lastUnit = (unit, known)
        }
        return params[r].factor(for: lastUnit.unit)
    }

    // MARK: Timers

    /// Moves every timed state up to `now`: `for` deadlines, stale series, events leaving windows and
    /// `keep_firing_for` expiries. Signals are appended in time order, each stamped with the exact
    /// time its transition happened (which may be before `now`).
    public mutating func evaluate(now: Timestamp, into signals: inout [RuleSignal]) {
        let limit = now.nanoseconds
        let firstSignal = signals.count
        let firstTransition = transitions.count
        while let top = heap.top, top.due <= limit {
            _ = heap.pop()
            if top.ref.isWindow {
                let i = Int(top.ref.index)
                guard i < windows.count, windows[i].heapDue == top.due else { continue }
                windows[i].heapDue = .max
                advanceWindow(i, to: limit, inclusive: true, into: &signals)
                if windows[i].alive { scheduleWindow(i) }
            } else {
                let i = Int(top.ref.index)
                guard i < thresholds.count, thresholds[i].heapDue == top.due else { continue }
                thresholds[i].heapDue = .max
                advanceThreshold(i, to: limit, inclusive: true, into: &signals)
                if thresholds[i].alive { scheduleThreshold(i) }
            }
        }
        Self.sortByTime(&signals, from: firstSignal) { $0.at }
        Self.sortByTime(&transitions, from: firstTransition) { $0.at }
    }

    /// ``evaluate(now:into:)`` returning the signals.
    public mutating func evaluate(now: Timestamp) -> [RuleSignal] {
        var out: [RuleSignal] = []
        evaluate(now: now, into: &out)
        return out
    }

    /// ``evaluate(now:)`` at the clock's now.
    public mutating func evaluate() -> [RuleSignal] { evaluate(now: clock.now()) }

    /// The transitions recorded since the last call (only when ``recordsTransitions`` is on).
    public mutating func drainTransitions() -> [RuleTransition] {
        defer { transitions.removeAll(keepingCapacity: true) }
        return transitions
    }

    static func sortByTime<T>(_ items: inout [T], from start: Int, _ time: (T) -> Timestamp) {
        guard items.count - start > 1 else { return }
        let sorted = items[start...].enumerated().sorted {
            let (a, b) = (time($0.element), time($1.element))
            return a != b ? a < b : $0.offset < $1.offset
        }.map(\.element)
        items.replaceSubrange(start..., with: sorted)
    }
}

/// What the engine has seen, for self-monitoring (`vigil status`) and the benchmark.
public struct RuleEngineStatistics: Sendable, Equatable {
    /// Events passed to ``RuleEngine/ingest(_:into:)``.
    public var samples = 0
    /// (event, rule) pairs evaluated.
    public var evaluations = 0
    /// Samples a rule ignored because their unit cannot be converted to the rule's (`bytes` for a `ms` rule).
    public var unitMismatches = 0
    /// Samples ignored because their value is NaN or infinite.
    public var nonFinite = 0
    /// Window entries merged because a window held more than ``RuleEngine/maximumWindowEntries``.
    public var windowMerges = 0
}
