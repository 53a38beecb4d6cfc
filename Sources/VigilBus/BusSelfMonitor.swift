import VigilCore

/// Turns the bus's own counters into events on the bus, so rules such as the seed's
/// `eventbus_queue_depth > 1000 messages` watch the daemon's bus like any other metric.
///
/// Pure and clock-driven: the daemon calls ``events(now:)`` from a timer and offers the result
/// on the telemetry lane through a ``BusProducer`` of its own, so a flood that sheds other
/// producers' telemetry cannot shed these. Every interval it emits, per lane (label `lane`):
/// `eventbus_queue_depth` (unit `messages`), `eventbus_shed_total`, `eventbus_producer_stalls_total`,
/// and `eventbus_shed_total` per telemetry source (labels `lane`, `source`) for sources that shed
/// (`source="(unattributed)"` for sheds beyond the per-source table).
public struct BusSelfMonitor: Sendable {
    public let bus: EventBus
    public let symbols: SymbolTable
    public let interval: Duration
    private var last: Timestamp?
    private let depthName, shedName, stallName, messages, source: Symbol
    private let laneLabels: [LabelSetID]

    public init(bus: EventBus, symbols: SymbolTable, interval: Duration? = nil) {
        self.bus = bus
        self.symbols = symbols
        self.interval = interval ?? bus.configuration.selfMonitoringInterval
        depthName = symbols.intern("eventbus_queue_depth")
        shedName = symbols.intern("eventbus_shed_total")
        stallName = symbols.intern("eventbus_producer_stalls_total")
        messages = symbols.intern("messages")
        source = symbols.intern("vigild:eventbus")
        laneLabels = Lane.allCases.map { symbols.intern(labels: ["lane": $0.description]) }
    }

    /// The self-monitoring events due at `now` (none until `interval` has passed since the last).
    public mutating func events(now: Timestamp) -> [Event] {
        if let last, now - last < interval { return [] }
        last = now
        var out: [Event] = []
        for stats in bus.statistics() {
            let labels = laneLabels[Int(stats.lane.rawValue)]
            out.append(Event(kind: .metric, lane: .telemetry, name: depthName, value: Double(stats.depth),
                             unit: messages, source: source, labels: labels, time: now))
            out.append(Event(kind: .metric, lane: .telemetry, name: shedName, value: Double(stats.shed),
                             source: source, labels: labels, time: now))
            out.append(Event(kind: .metric, lane: .telemetry, name: stallName, value: Double(stats.stalls),
                             source: source, labels: labels, time: now))
        }
        var bySource = bus.shedBySourceSymbol().map { (symbols.name($0.source), $0.shed) }
        if bus.unattributedShed > 0 { bySource.append(("(unattributed)", bus.unattributedShed)) }
        for (name, count) in bySource {
            let labels = symbols.intern(labels: ["lane": "telemetry", "source": name])
            out.append(Event(kind: .metric, lane: .telemetry, name: shedName, value: Double(count), source: source,
                             labels: labels, time: now))
        }
        return out
    }
}
