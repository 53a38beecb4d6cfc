import Testing
import VigilBus
import VigilCore

@Suite struct BusSelfMonitoring {
    @Test func publishesDepthShedsAndStallsAtTheInterval() {
        let symbols = SymbolTable()
        let bus = EventBus(configuration: .init(capacity: [.telemetry: 4, .security: 2],
                                                selfMonitoringInterval: .seconds(5)))
        let clock = ManualClock()
        var monitor = BusSelfMonitor(bus: bus, symbols: symbols)
        let src = symbols.intern("plugin:flood")
        for i in 0..<6 {
            bus.offer(Event(kind: .metric, lane: .telemetry, name: Symbol(id: 1), value: Double(i), source: src,
                            time: clock.now()))
        }
        for i in 0..<3 { bus.offer(tagged(0, i, lane: .security)) }
        let first = monitor.events(now: clock.now())
        func value(_ name: String, _ labels: [String: String]) -> Double? {
            first.first { symbols.name($0.name) == name && symbols.labels($0.labels) == labels }?.value
        }
        #expect(value("eventbus_queue_depth", ["lane": "telemetry"]) == 4)
        #expect(value("eventbus_queue_depth", ["lane": "security"]) == 2)
        #expect(value("eventbus_shed_total", ["lane": "telemetry"]) == 2)
        #expect(value("eventbus_producer_stalls_total", ["lane": "security"]) == 1)
        #expect(value("eventbus_shed_total", ["lane": "telemetry", "source": "plugin:flood"]) == 2)
        #expect(first.allSatisfy { $0.lane == .telemetry })
        #expect(first.first { symbols.name($0.name) == "eventbus_queue_depth" }.map { symbols.name($0.unit) } == "messages")
        clock.advance(by: .seconds(4))
        #expect(monitor.events(now: clock.now()).isEmpty)
        clock.advance(by: .seconds(1))
        #expect(!monitor.events(now: clock.now()).isEmpty)
    }

    /// The seed rule `eventbus_queue_depth > 1000 messages` watching the daemon's own bus: a
    /// plugin floods telemetry at ten times the consumer's speed, the monitor publishes through a
    /// producer of its own every 5 s of a manual clock, and the consumer (evaluating the rule on
    /// what it drains) sees the depth cross 1000 within one interval — the flood sheds its own
    /// events, never the monitor's.
    @Test func seedRuleOnQueueDepthFiresUnderATelemetryFlood() {
        let symbols = SymbolTable()
        let bus = EventBus(configuration: .init(capacity: [.telemetry: 4096], producerCapacity: [.telemetry: 8192],
                                                selfMonitoringInterval: .seconds(5)))
        let clock = ManualClock()
        let start = clock.now()
        var monitor = BusSelfMonitor(bus: bus, symbols: symbols)
        let monitorProducer = bus.makeProducer()
        let plugin = bus.makeProducer()
        let depthName = symbols.intern("eventbus_queue_depth")
        let telemetryLane = symbols.intern(labels: ["lane": "telemetry"])
        let consumerPerSecond = 2_000, floodPerSecond = 20_000
        var firedAt: Timestamp?
        var depthsSeen: [Double] = []
        var out: [Event] = []
        for second in 0..<30 {
            for i in 0..<floodPerSecond {
                plugin.offer(Event(kind: .metric, lane: .telemetry, name: Symbol(id: 1), value: Double(i),
                                   source: Symbol(id: 2), time: clock.now()))
            }
            out.removeAll(keepingCapacity: true)
            _ = bus.drain(.telemetry, into: &out, max: consumerPerSecond)
            for e in out where e.name == depthName && e.labels == telemetryLane {
                depthsSeen.append(e.value)
                if e.value > 1000, firedAt == nil { firedAt = clock.now() }
            }
            clock.advance(by: .seconds(1))
            let report = monitor.events(now: clock.now())
            #expect(report.withUnsafeBufferPointer { monitorProducer.offer($0) }.shed == 0, "second \(second)")
        }
        #expect(firedAt.map { $0 - start <= .seconds(6) } == true, "fired at \(String(describing: firedAt))")
        #expect(depthsSeen.count >= 5, "every report reached the consumer: \(depthsSeen)")
        let s = bus.statistics().first { $0.lane == .telemetry }
        #expect((s?.shed ?? 0) > 0 && s?.depth ?? 0 <= 4096 + 8192 * 2)
        let pluginShed = bus.shedBySourceSymbol().first { $0.source == Symbol(id: 2) }?.shed ?? 0
        #expect(pluginShed == s?.shed)
    }
}
