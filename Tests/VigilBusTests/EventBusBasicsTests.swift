import Synchronization
import Testing
import VigilBus
import VigilCore

@Suite struct SharedRingBasics {
    @Test func fifoOnOneLane() {
        let bus = EventBus(configuration: .init(capacity: [.incident: 8]))
        for i in 0..<5 { #expect(bus.offer(tagged(0, i, lane: .incident)).accepted == 1) }
        var out: [Event] = []
        #expect(bus.drain(.incident, into: &out, max: 100) == 5)
        #expect(out.map(\.seq) == [0, 1, 2, 3, 4])
        #expect(out.allSatisfy { $0.isIntact })
    }

    @Test func neverDropLaneRefusesVisiblyWhenFull() {
        let bus = EventBus(configuration: .init(capacity: [.security: 4]))
        var accepted = 0
        for i in 0..<6 { accepted += bus.offer(tagged(0, i, lane: .security)).accepted }
        #expect(accepted == 4)
        let refused = bus.offer(tagged(0, 99, lane: .security))
        #expect(refused.rejected == 1 && refused.accepted == 0 && refused.shed == 0)
        let s = stats(bus, .security)
        #expect(s?.stalls == 3 && s?.shed == 0 && s?.depth == 4)
    }

    @Test func telemetryShedsOldestFirstAndCountsPerSource() {
        let bus = EventBus(configuration: .init(capacity: [.telemetry: 4]))
        for i in 0..<4 { bus.offer(tagged(0, i, lane: .telemetry)) }
        for i in 4..<7 { #expect(bus.offer(tagged(1, i, lane: .telemetry)).shed == 1) }
        var out: [Event] = []
        _ = bus.drain(.telemetry, into: &out, max: 10)
        #expect(out.map(\.seq) == [3, 4, 5, 6])
        #expect(stats(bus, .telemetry)?.shed == 3)
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
        #expect(out.map(\.seq) == Array(0..<8))
    }

    /// A batch mixing lanes goes in lane by lane, in order, and stops at the first refusal: the
    /// rejected events are exactly the batch's last ones, whatever their lanes.
    @Test func mixedLaneBatchStopsAtTheFirstRefusal() {
        let bus = EventBus(configuration: .init(capacity: [.security: 2, .telemetry: 16]))
        let batch = [tagged(0, 0, lane: .telemetry), tagged(0, 1, lane: .security), tagged(0, 2, lane: .security),
                     tagged(0, 3, lane: .security), tagged(0, 4, lane: .telemetry)]
        let outcome = batch.withUnsafeBufferPointer { bus.offer($0) }
        #expect(outcome.accepted == 3 && outcome.rejected == 2)
        var out: [Event] = []
        _ = bus.drainAll(into: &out, max: 10)
        #expect(out.map(\.seq) == [1, 2, 0])
    }

    /// Source ids beyond any fixed table (the symbol table interns names and label values too)
    /// are still counted separately.
    @Test func shedCountsStayExactForLargeSourceIDs() {
        let bus = EventBus(configuration: .init(capacity: [.telemetry: 2]))
        for (i, id) in [5000, 5000, 70_000, 4_000_000_000, 5000].enumerated() {
            var e = tagged(0, i, lane: .telemetry)
            e.source = Symbol(id: UInt32(id))
            bus.offer(e)
        }
        let shed = Dictionary(uniqueKeysWithValues: bus.shedBySourceSymbol().map { ($0.source.id, $0.shed) })
        #expect(shed == [5000: 2, 70_000: 1])
        #expect(bus.unattributedShed == 0)
    }
}

@Suite struct ProducerRingBasics {
    /// Producer rings keep each cell's position tag in the six bytes of padding after an Event's
    /// 34 bytes: a field added to Event must not take them (the ring refuses to start if it does).
    @Test func eventLeavesRoomForTheRingsPositionTag() {
        #expect(MemoryLayout<Event>.size <= 34 && MemoryLayout<Event>.stride == 40 && MemoryLayout<Event>.alignment == 8)
    }

    @Test func registeredProducerKeepsOrderAndIsDrainedWithTheSharedRing() {
        let bus = EventBus(configuration: .init(producerCapacity: [.incident: 8]))
        let producer = bus.makeProducer()
        for i in 0..<5 { #expect(producer.offer(tagged(0, i, lane: .incident)).accepted == 1) }
        bus.offer(tagged(1, 0, lane: .incident))
        var out: [Event] = []
        #expect(bus.drain(.incident, into: &out, max: 100) == 6)
        #expect(Delivery(out, producers: 2).count == [5, 1])
        #expect(Delivery(out, producers: 2).disorder == 0)
        #expect(stats(bus, .incident)?.producers == 1)
        #expect(stats(bus, .incident)?.published == 6 && stats(bus, .incident)?.consumed == 6)
    }

    @Test func fullNeverDropRingRejectsTheBatchTail() {
        let bus = EventBus(configuration: .init(producerCapacity: [.security: 4]))
        let producer = bus.makeProducer()
        let batch = (0..<6).map { tagged(0, $0, lane: .security) }
        let outcome = batch.withUnsafeBufferPointer { producer.offer($0, lane: .security) }
        #expect(outcome.accepted == 4 && outcome.rejected == 2 && outcome.shed == 0 && outcome.shouldPause)
        #expect(stats(bus, .security)?.stalls == 1)
        var out: [Event] = []
        _ = bus.drain(.security, into: &out, max: 10)
        #expect(out.map(\.seq) == [0, 1, 2, 3])
    }

    /// The producer sheds its own oldest events; a batch larger than the ring sheds its own
    /// oldest too; every shed event is counted for its source.
    @Test func telemetryRingShedsOldestFirstIncludingAnOversizedBatch() {
        let bus = EventBus(configuration: .init(producerCapacity: [.telemetry: 4]))
        let producer = bus.makeProducer()
        for i in 0..<3 { producer.offer(tagged(0, i, lane: .telemetry)) }
        let batch = (3..<9).map { tagged(1, $0, lane: .telemetry) }
        let outcome = batch.withUnsafeBufferPointer { producer.offer($0, lane: .telemetry) }
        // 6 offered into a ring of 4 holding 3: the batch's own 2 oldest and the 3 older events go.
        #expect(outcome.accepted == 4 && outcome.shed == 5 && outcome.rejected == 0)
        var out: [Event] = []
        _ = bus.drain(.telemetry, into: &out, max: 10)
        #expect(out.map(\.seq) == [5, 6, 7, 8])
        let shed = Dictionary(uniqueKeysWithValues: bus.shedBySourceSymbol().map { ($0.source.id, $0.shed) })
        #expect(shed == [1: 3, 2: 2])
        #expect(stats(bus, .telemetry)?.shed == 5)
    }

    /// A closed producer's ring is drained to the end, then handed to the next producer.
    @Test func closedProducerLosesNothingAndItsRingIsReused() {
        let bus = EventBus(configuration: .init(producerCapacity: [.incident: 8], maxProducersPerLane: 1))
        let first = bus.makeProducer()
        for i in 0..<3 { first.offer(tagged(0, i, lane: .incident)) }
        first.close()
        let second = bus.makeProducer()
        second.offer(tagged(1, 0, lane: .incident))  // the only ring is not free yet: shared ring
        var out: [Event] = []
        _ = bus.drain(.incident, into: &out, max: 100)
        #expect(Delivery(out, producers: 2).count == [3, 1])
        #expect(stats(bus, .incident)?.producers == 0)
        let third = bus.makeProducer()
        third.offer(tagged(2, 0, lane: .incident))
        #expect(stats(bus, .incident)?.producers == 1)  // took the freed ring
        _ = bus.drain(.incident, into: &out, max: 100)
        #expect(Delivery(out, producers: 3).count == [3, 1, 1])
    }

    /// When a lane has no producer ring left, producers share the lane's ring and keep their order.
    @Test func producersBeyondTheLimitShareTheLaneRing() {
        let bus = EventBus(configuration: .init(capacity: [.incident: 64], producerCapacity: [.incident: 8],
                                                maxProducersPerLane: 2))
        let producers = (0..<4).map { _ in bus.makeProducer() }
        for i in 0..<6 { for (p, producer) in producers.enumerated() { producer.offer(tagged(p, i, lane: .incident)) } }
        withExtendedLifetime(producers) { #expect(stats(bus, .incident)?.producers == 2) }
        var out: [Event] = []
        _ = bus.drain(.incident, into: &out, max: 100)
        let d = Delivery(out, producers: 4)
        #expect(d.count == [6, 6, 6, 6] && d.disorder == 0 && d.torn == 0)
    }

    /// The consumer visits the rings round-robin: a producer with a full ring does not starve one
    /// with a single event.
    @Test func aFloodingProducerDoesNotStarveAnother() {
        let bus = EventBus(configuration: .init(producerCapacity: [.telemetry: 1024]))
        let flood = bus.makeProducer(), quiet = bus.makeProducer()
        for i in 0..<1024 { flood.offer(tagged(0, i, lane: .telemetry)) }
        quiet.offer(tagged(1, 0, lane: .telemetry))
        let buffer = UnsafeMutableBufferPointer<Event>.allocate(capacity: 64)
        defer { buffer.deallocate() }
        var seenQuiet = false
        for _ in 0..<3 where !seenQuiet {
            let n = bus.drain(.telemetry, into: buffer)
            seenQuiet = buffer[0..<n].contains { $0.producer == 1 }
        }
        #expect(seenQuiet)
    }
}
