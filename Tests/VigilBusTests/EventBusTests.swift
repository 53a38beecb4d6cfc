import Foundation
import Synchronization
import Testing
import VigilBus
import VigilCore

/// An event that carries its producer (source id) and its sequence number (value).
func tagged(_ producer: Int, _ seq: Int, lane: Lane) -> Event {
    Event(kind: lane == .telemetry ? .metric : .signal, lane: lane, name: Symbol(id: 1), value: Double(seq),
          source: Symbol(id: UInt32(producer + 1)), time: Timestamp(nanoseconds: Int64(seq)))
}

/// Runs `body` on `count` OS threads at once and waits for all of them.
func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    for i in 0..<count {
        group.enter()
        Thread {
            body(i)
            group.leave()
        }.start()
    }
    group.wait()
}

/// Checks per-producer FIFO: each producer's sequence numbers appear in increasing order.
func assertFIFO(_ events: [Event], producers: Int) -> [Int] {
    var last = [Int](repeating: -1, count: producers)
    var seen = [Int](repeating: 0, count: producers)
    for e in events {
        let p = Int(e.source.id) - 1
        let s = Int(e.value)
        #expect(s > last[p], "producer \(p) went from \(last[p]) to \(s)")
        last[p] = s
        seen[p] += 1
    }
    return seen
}

final class Collected: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [Event] = []
    func append(_ e: [Event]) { lock.withLock { events.append(contentsOf: e) } }
    var all: [Event] { lock.withLock { events } }
}

@Suite struct EventBusBasics {
    @Test func fifoOnOneLane() {
        let bus = EventBus(configuration: .init(capacity: [.incident: 8]))
        for i in 0..<5 { #expect(bus.offer(tagged(0, i, lane: .incident)).accepted == 1) }
        var out: [Event] = []
        #expect(bus.drain(.incident, into: &out, max: 100) == 5)
        #expect(out.map { Int($0.value) } == [0, 1, 2, 3, 4])
    }

    @Test func neverDropLaneRefusesVisiblyWhenFull() {
        let bus = EventBus(configuration: .init(capacity: [.security: 4]))
        var accepted = 0
        for i in 0..<6 { accepted += bus.offer(tagged(0, i, lane: .security)).accepted }
        #expect(accepted == 4)
        let refused = bus.offer(tagged(0, 99, lane: .security))
        #expect(refused.rejected == 1 && refused.accepted == 0 && refused.shed == 0)
        let stats = bus.statistics().first { $0.lane == .security }
        #expect(stats?.stalls == 3 && stats?.shed == 0 && stats?.depth == 4)
    }

    @Test func telemetryShedsOldestFirstAndCountsPerSource() {
        let bus = EventBus(configuration: .init(capacity: [.telemetry: 4]))
        for i in 0..<4 { bus.offer(tagged(0, i, lane: .telemetry)) }
        for i in 4..<7 { #expect(bus.offer(tagged(1, i, lane: .telemetry)).shed == 1) }
        var out: [Event] = []
        _ = bus.drain(.telemetry, into: &out, max: 10)
        #expect(out.map { Int($0.value) } == [3, 4, 5, 6])
        #expect(bus.statistics().first { $0.lane == .telemetry }?.shed == 3)
        #expect(bus.shedBySourceSymbol().map(\.shed) == [3])
        #expect(bus.shedBySourceSymbol().first?.source == Symbol(id: 1))
    }

    @Test func drainAllServesSecurityFirst() {
        let bus = EventBus()
        bus.offer(tagged(0, 1, lane: .telemetry))
        bus.offer(tagged(0, 2, lane: .incident))
        bus.offer(tagged(0, 3, lane: .security))
        var out: [Event] = []
        #expect(bus.drainAll(into: &out, max: 10) == 3)
        #expect(out.map(\.lane) == [.security, .incident, .telemetry])
    }

    @Test func batchOfferKeepsOrderAndReportsTheRest() {
        let bus = EventBus(configuration: .init(capacity: [.incident: 8]))
        let batch = (0..<12).map { tagged(0, $0, lane: .incident) }
        let outcome = batch.withUnsafeBufferPointer { bus.offer($0, lane: .incident) }
        #expect(outcome.accepted == 8 && outcome.rejected == 4 && outcome.shouldPause)
        var out: [Event] = []
        _ = bus.drain(.incident, into: &out, max: 100)
        #expect(out.map { Int($0.value) } == Array(0..<8))
    }
}

@Suite struct EventBusBackpressure {
    @Test func watermarkCallbackFiresAfterDrainingToLow() {
        let bus = EventBus(configuration: .init(capacity: [.telemetry: 16], highWatermark: 0.5, lowWatermark: 0.25))
        var outcome = PublishOutcome()
        for i in 0..<8 { outcome = bus.offer(tagged(0, i, lane: .telemetry)) }
        #expect(outcome.shouldPause && bus.shouldPause(.telemetry))
        let fired = Atomic<Int>(0)
        bus.whenBelowLowWatermark(.telemetry) { fired.add(1, ordering: .relaxed) }
        var out: [Event] = []
        _ = bus.drain(.telemetry, into: &out, max: 3)  // depth 5 > low 4: still paused
        let firedEarly = fired.load(ordering: .relaxed)
        #expect(firedEarly == 0 && bus.shouldPause(.telemetry))
        _ = bus.drain(.telemetry, into: &out, max: 1)  // depth 4 == low: resume
        let firedOnce = fired.load(ordering: .relaxed)
        #expect(firedOnce == 1 && !bus.shouldPause(.telemetry))
    }

    @Test func asyncPublisherSuspendsAboveHighWatermarkAndResumes() async {
        let bus = EventBus(configuration: .init(capacity: [.incident: 8], highWatermark: 0.5, lowWatermark: 0.25))
        for i in 0..<4 { bus.offer(tagged(0, i, lane: .incident)) }
        let done = Atomic<Bool>(false)
        let producer = Task {
            await bus.publish(tagged(0, 4, lane: .incident))
            done.store(true, ordering: .sequentiallyConsistent)
        }
        // The producer cannot finish while the lane stays at its high watermark.
        for _ in 0..<50 { await Task.yield() }
        let finishedEarly = done.load(ordering: .sequentiallyConsistent)
        #expect(!finishedEarly)
        var out: [Event] = []
        _ = bus.drain(.incident, into: &out, max: 4)
        await producer.value
        let finished = done.load(ordering: .sequentiallyConsistent)
        #expect(finished)
        _ = bus.drain(.incident, into: &out, max: 4)
        #expect(out.map { Int($0.value) } == [0, 1, 2, 3, 4])
        #expect((bus.statistics().first { $0.lane == .incident }?.stalls ?? 0) >= 1)
    }

    @Test func parkedConsumerWakesOnPublish() async {
        let bus = EventBus()
        let consumer = Task { () -> Int in
            var got: [Event] = []
            while got.count < 3 {
                if bus.drainAll(into: &got, max: 10) == 0 { await bus.waitForEvents() }
            }
            return got.count
        }
        onThreads(3) { i in bus.offer(tagged(i, 0, lane: .security)) }
        #expect(await consumer.value == 3)
    }
}

@Suite struct EventBusStress {
    static let producers = 4
    static let perProducer = 50_000

    /// Never-drop lane: producers retry refused events; the consumer must receive every one, in
    /// per-producer order.
    @Test(arguments: [Lane.security, Lane.incident])
    func neverDropLaneLosesNothing(lane: Lane) {
        let bus = EventBus(configuration: .init(capacity: [lane: 256]))
        let received = Collected()
        let total = Self.producers * Self.perProducer
        let consumerDone = DispatchSemaphore(value: 0)
        Thread {
            var count = 0
            var buffer: [Event] = []
            buffer.reserveCapacity(1024)
            while count < total {
                buffer.removeAll(keepingCapacity: true)
                let n = bus.drain(lane, into: &buffer, max: 1024)
                if n > 0 { received.append(buffer); count += n }
            }
            consumerDone.signal()
        }.start()
        onThreads(Self.producers) { p in
            var i = 0
            while i < Self.perProducer {
                if bus.offer(tagged(p, i, lane: lane)).accepted == 1 { i += 1 }
            }
        }
        consumerDone.wait()
        let events = received.all
        #expect(events.count == total)
        #expect(assertFIFO(events, producers: Self.producers) == Array(repeating: Self.perProducer, count: Self.producers))
        let stats = bus.statistics().first { $0.lane == lane }
        #expect(stats?.published == UInt64(total) && stats?.consumed == UInt64(total) && stats?.shed == 0)
    }

    /// Telemetry under pressure: every event is either consumed or shed, shed counts are exact
    /// per source, and what arrives is in per-producer order.
    @Test func telemetrySheddingIsExactlyAccounted() {
        let bus = EventBus(configuration: .init(capacity: [.telemetry: 128]))
        let received = Collected()
        let stop = Atomic<Bool>(false)
        let consumerDone = DispatchSemaphore(value: 0)
        Thread {
            var buffer: [Event] = []
            while true {
                buffer.removeAll(keepingCapacity: true)
                let n = bus.drain(.telemetry, into: &buffer, max: 64)
                if n > 0 { received.append(buffer) } else if stop.load(ordering: .acquiring) { break }
            }
            consumerDone.signal()
        }.start()
        let shedReported = Atomic<Int>(0)
        onThreads(Self.producers) { p in
            for i in 0..<Self.perProducer {
                let o = bus.offer(tagged(p, i, lane: .telemetry))
                #expect(o.accepted == 1 && o.rejected == 0)
                shedReported.add(o.shed, ordering: .relaxed)
            }
        }
        stop.store(true, ordering: .releasing)
        consumerDone.wait()
        let events = received.all
        let total = Self.producers * Self.perProducer
        let stats = bus.statistics().first { $0.lane == .telemetry }
        #expect(events.count + Int(stats?.shed ?? 0) == total)
        let reported = shedReported.load(ordering: .relaxed)
        #expect(Int(stats?.shed ?? 0) == reported)
        let perSource = bus.shedBySourceSymbol()
        #expect(perSource.reduce(0) { $0 + Int($1.shed) } == Int(stats?.shed ?? 0))
        let seen = assertFIFO(events, producers: Self.producers)
        for (p, count) in seen.enumerated() {
            let shed = perSource.first { $0.source == Symbol(id: UInt32(p + 1)) }?.shed ?? 0
            #expect(count + Int(shed) == Self.perProducer, "producer \(p)")
        }
    }

    /// Batched publishing from several producers keeps every batch's order and loses nothing.
    @Test func batchedProducersLoseNothing() {
        let bus = EventBus(configuration: .init(capacity: [.incident: 1024]))
        let received = Collected()
        let total = Self.producers * Self.perProducer
        let done = DispatchSemaphore(value: 0)
        Thread {
            var count = 0
            var buffer: [Event] = []
            while count < total {
                buffer.removeAll(keepingCapacity: true)
                let n = bus.drain(.incident, into: &buffer, max: 4096)
                if n > 0 { received.append(buffer); count += n }
            }
            done.signal()
        }.start()
        onThreads(Self.producers) { p in
            let all = (0..<Self.perProducer).map { tagged(p, $0, lane: .incident) }
            var start = 0
            all.withUnsafeBufferPointer { buf in
                while start < all.count {
                    let end = min(start + 100, all.count)
                    start += bus.offer(UnsafeBufferPointer(rebasing: buf[start..<end]), lane: .incident).accepted
                }
            }
        }
        done.wait()
        #expect(assertFIFO(received.all, producers: Self.producers) == Array(repeating: Self.perProducer, count: Self.producers))
    }
}

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
}
