import Foundation
import Synchronization
import Testing
import VigilBus
import VigilCore

/// Many producers, one consumer per lane, small rings so they are full most of the time: the
/// shapes in which a lost wakeup, a torn copy, a lost or duplicated event or a miscount shows.
/// Every event is checked whole (see ``tagged(_:_:lane:)``). Also run under ThreadSanitizer
/// (`make test-tsan`).
@Suite struct EventBusStress {
    static let producers = 4
    static let perProducer = 20_000

    /// How producers reach the bus in a run.
    enum Route: String, CaseIterable, CustomTestStringConvertible {
        /// Every producer offers on the lane's shared ring.
        case shared
        /// Every producer has a ring of its own.
        case registered
        /// Half of each.
        case mixed
        var testDescription: String { rawValue }

        func producer(_ bus: EventBus, _ index: Int) -> BusProducer? {
            switch self {
            case .shared: nil
            case .registered: bus.makeProducer()
            case .mixed: index % 2 == 0 ? bus.makeProducer() : nil
            }
        }
    }

    static func offer(_ bus: EventBus, _ producer: BusProducer?, _ events: UnsafeBufferPointer<Event>,
                      lane: Lane) -> PublishOutcome {
        producer?.offer(events, lane: lane) ?? bus.offer(events, lane: lane)
    }

    /// Never-drop lanes: producers retry what is refused, one event or a batch at a time; the
    /// consumer receives every event exactly once, whole and in per-producer order.
    @Test(arguments: [Lane.security, .incident], Route.allCases)
    func neverDropLaneLosesNothing(lane: Lane, route: Route) {
        let bus = EventBus(configuration: .init(capacity: [lane: 64], producerCapacity: [lane: 32]))
        let received = Collected()
        let total = Self.producers * Self.perProducer
        let done = startConsumer(bus, lane: lane, expected: total, into: received)
        onThreads(Self.producers) { p in
            let producer = route.producer(bus, p)
            let batchSize = p < 2 ? 1 : 37  // single offers and batches that straddle the ring's end
            let all = (0..<Self.perProducer).map { tagged(p, $0, lane: lane) }
            all.withUnsafeBufferPointer { buf in
                var start = 0
                while start < all.count {
                    let end = min(start + batchSize, all.count)
                    let o = Self.offer(bus, producer, UnsafeBufferPointer(rebasing: buf[start..<end]), lane: lane)
                    #expect(o.shed == 0 && o.accepted + o.rejected == end - start)
                    start += o.accepted
                }
            }
        }
        guard finished(done, "consumer of \(lane)") else { return }
        let d = Delivery(received.all, producers: Self.producers)
        #expect(d.torn == 0 && d.disorder == 0)
        #expect(d.count == Array(repeating: Self.perProducer, count: Self.producers))
        let s = stats(bus, lane)
        #expect(s?.published == UInt64(total) && s?.consumed == UInt64(total) && s?.shed == 0 && s?.depth == 0)
    }

    /// Telemetry under pressure: what arrives is whole and in per-producer order, every event is
    /// either consumed or shed, and the shed counts are exact per source and in total.
    @Test(arguments: Route.allCases)
    func telemetrySheddingIsExactlyAccounted(route: Route) {
        let bus = EventBus(configuration: .init(capacity: [.telemetry: 64], producerCapacity: [.telemetry: 32]))
        let received = Collected()
        let stop = Flag()
        let done = startConsumer(bus, lane: .telemetry, stop: stop, into: received)
        let reportedShed = Mutex<[Int]>(Array(repeating: 0, count: Self.producers))
        onThreads(Self.producers) { p in
            let producer = route.producer(bus, p)
            let batchSize = [1, 7, 40, 3][p]  // 40 > the producer ring: the batch sheds its own oldest
            let all = (0..<Self.perProducer).map { tagged(p, $0, lane: .telemetry) }
            var shed = 0
            all.withUnsafeBufferPointer { buf in
                for start in stride(from: 0, to: all.count, by: batchSize) {
                    let end = min(start + batchSize, all.count)
                    let o = Self.offer(bus, producer, UnsafeBufferPointer(rebasing: buf[start..<end]), lane: .telemetry)
                    #expect(o.rejected == 0)
                    shed += o.shed
                }
            }
            reportedShed.withLock { $0[p] = shed }
        }
        stop.raise()
        guard finished(done, "telemetry consumer") else { return }
        let d = Delivery(received.all, producers: Self.producers)
        #expect(d.torn == 0 && d.disorder == 0)
        let s = stats(bus, .telemetry)
        let shedTotal = Int(s?.shed ?? 0)
        #expect(d.total + shedTotal == Self.producers * Self.perProducer)
        #expect(shedTotal == reportedShed.withLock { $0.reduce(0, +) })
        #expect(s?.consumed == UInt64(d.total) && s?.depth == 0)
        #expect(bus.unattributedShed == 0)
        let perSource = Dictionary(uniqueKeysWithValues: bus.shedBySourceSymbol().map { ($0.source.id, Int($0.shed)) })
        for p in 0..<Self.producers {
            let shed = perSource[UInt32(p + 1)] ?? 0
            #expect(d.count[p] + shed == Self.perProducer, "producer \(p): accepted + shed == offered")
            if route == .registered {  // a registered producer only ever sheds its own events
                #expect(shed == reportedShed.withLock { $0[p] }, "producer \(p)")
            }
        }
        if route != .shared { #expect(shedTotal > 0, "the rings were never full: the test proved nothing") }
    }

    /// Async publishers on tiny rings with tight watermarks, and a consumer that parks whenever
    /// it finds the bus empty: both sides park and wake thousands of times. A lost wakeup on
    /// either side hangs the run (caught by the bounded wait); nothing may be lost or reordered.
    @Test(arguments: Route.allCases)
    func parkingProducersAndConsumerLoseNoWakeup(route: Route) async {
        let lanes: [Lane] = [.security, .incident, .telemetry]
        let bus = EventBus(configuration: .init(capacity: [.security: 8, .incident: 8, .telemetry: 8],
                                                producerCapacity: [.security: 4, .incident: 4, .telemetry: 4],
                                                highWatermark: 0.5, lowWatermark: 0.25))
        let perProducer = 3_000
        let total = Self.producers * perProducer
        let consumer = Task { () -> [Event] in
            var got: [Event] = []
            got.reserveCapacity(total)
            while got.count < total {
                if bus.drainAll(into: &got, max: 3) == 0 { await bus.waitForEvents() }
            }
            return got
        }
        await withTaskGroup(of: Void.self) { group in
            for p in 0..<Self.producers {
                group.addTask {
                    let producer = route.producer(bus, p)
                    let lane = lanes[p % lanes.count]
                    var i = 0
                    while i < perProducer {
                        let batch = (i..<min(i + 1 + p, perProducer)).map { tagged(p, $0, lane: lane) }
                        if let producer { await producer.publish(batch) } else { await bus.publish(batch) }
                        i += batch.count
                    }
                }
            }
        }
        guard let events = await withHangGuard("consumer", { await consumer.value }) else { return }
        let d = Delivery(events, producers: Self.producers)
        #expect(d.torn == 0 && d.disorder == 0)
        #expect(d.count == Array(repeating: perProducer, count: Self.producers))
        #expect(bus.statistics().allSatisfy { $0.shed == 0 && $0.depth == 0 })
        #expect(bus.statistics().reduce(0) { $0 + $1.stalls } > 0, "no producer ever waited: the test proved nothing")
    }

    /// The narrowest parking race, on purpose: rings of 2 with a high watermark of 1 and a low one
    /// of 0, one producer per lane, so every single event makes its producer pause and the consumer
    /// release it, and the consumer drains each ring to exactly empty. A producer that announces its
    /// pause just after the consumer's last look must still be resumed (by seeing the drained depth
    /// itself), or it stays parked with nothing left to drain and the run hangs.
    @Test(arguments: [false, true])
    func everyEventParksItsProducer(registered: Bool) async {
        let bus = EventBus(configuration: .init(capacity: [.security: 2, .incident: 2, .telemetry: 2],
                                                producerCapacity: [.security: 2, .incident: 2, .telemetry: 2],
                                                highWatermark: 0.5, lowWatermark: 0.1))
        let lanes = Lane.allCases
        let perProducer = 4_000
        let total = lanes.count * perProducer
        let consumer = Task { () -> [Event] in
            var got: [Event] = []
            while got.count < total {
                if bus.drainAll(into: &got, max: 1) == 0 { await bus.waitForEvents() }
            }
            return got
        }
        let published = await withHangGuard("publishers and consumer") { () -> [Event] in
            await withTaskGroup(of: Void.self) { group in
                for (p, lane) in lanes.enumerated() {
                    group.addTask {
                        let producer = registered ? bus.makeProducer() : nil
                        for i in 0..<perProducer {
                            if let producer { await producer.publish(tagged(p, i, lane: lane)) } else {
                                await bus.publish(tagged(p, i, lane: lane))
                            }
                        }
                    }
                }
            }
            return await consumer.value
        }
        guard let events = published else { return }
        let d = Delivery(events, producers: lanes.count)
        #expect(d.torn == 0 && d.disorder == 0 && d.count == Array(repeating: perProducer, count: lanes.count))
        #expect(bus.statistics().allSatisfy { $0.stalls > 0 })
    }

    /// Ping-pong: a producer publishes one event, then waits until the consumer has taken it, so
    /// the consumer parks before nearly every event and the event's own publication must wake it
    /// (no later event comes to heal a missed wakeup). Through a producer ring and the shared ring.
    /// Run with membarrier (producers publish with no fence at all) and with fences.
    @Test(arguments: [false, true], [true, false])
    func everyEventWakesTheParkedConsumer(registered: Bool, asymmetricBarriers: Bool) async {
        let bus = EventBus(configuration: .init(asymmetricBarriers: asymmetricBarriers))
        #expect(bus.usesAsymmetricBarriers == (asymmetricBarriers && kernelHasPrivateExpeditedMembarrier))
        let rounds = 20_000
        let taken = DispatchSemaphore(value: 0)
        let consumer = Task { () -> [Event] in
            var got: [Event] = []
            while got.count < rounds {
                if bus.drainAll(into: &got, max: 1) == 0 { await bus.waitForEvents() } else { taken.signal() }
            }
            return got
        }
        let producerDone = DispatchSemaphore(value: 0)
        Thread {
            let producer = registered ? bus.makeProducer() : nil
            for i in 0..<rounds {
                let e = tagged(0, i, lane: .incident)
                if let producer { producer.offer(e) } else { bus.offer(e) }
                guard taken.wait(timeout: .now() + .seconds(300)) == .success else { break }
            }
            producerDone.signal()
        }.start()
        let events = await withHangGuard("ping-pong consumer") { await consumer.value }
        _ = producerDone.wait(timeout: .now() + .seconds(300))
        guard let events else { return }
        let d = Delivery(events, producers: 1)
        #expect(d.torn == 0 && d.disorder == 0 && d.count == [rounds])
    }

    /// The same race for socket readers: a thread per lane offers one event, and whenever told to
    /// pause waits for the low-watermark callback; the consumer thread drains one event at a time.
    @Test(arguments: [false, true])
    func everyEventPausesItsReader(registered: Bool) {
        let bus = EventBus(configuration: .init(capacity: [.security: 2, .incident: 2, .telemetry: 2],
                                                producerCapacity: [.security: 2, .incident: 2, .telemetry: 2],
                                                highWatermark: 0.5, lowWatermark: 0.1))
        let lanes = Lane.allCases
        let perProducer = 10_000
        let received = Collected()
        let consumerDone = DispatchSemaphore(value: 0)
        let total = lanes.count * perProducer
        Thread {
            let buffer = UnsafeMutableBufferPointer<Event>.allocate(capacity: 1)
            defer { buffer.deallocate() }
            var count = 0
            while count < total {
                for lane in lanes where bus.drain(lane, into: buffer) == 1 {
                    received.append(buffer[0..<1])
                    count += 1
                }
            }
            consumerDone.signal()
        }.start()
        let readersDone = DispatchSemaphore(value: 0)
        for (p, lane) in lanes.enumerated() {
            Thread {
                let producer = registered ? bus.makeProducer() : nil
                let resume = DispatchSemaphore(value: 0)
                var i = 0
                while i < perProducer {
                    let o = producer?.offer(tagged(p, i, lane: lane)) ?? bus.offer(tagged(p, i, lane: lane))
                    i += o.accepted
                    if o.shouldPause || o.rejected > 0 {
                        if let producer { producer.whenBelowLowWatermark(lane) { resume.signal() } } else {
                            bus.whenBelowLowWatermark(lane) { resume.signal() }
                        }
                        resume.wait()
                    }
                }
                readersDone.signal()
            }.start()
        }
        for _ in lanes { guard finished(readersDone, "a paused reader") else { return } }
        guard finished(consumerDone, "the consumer") else { return }
        let d = Delivery(received.all, producers: lanes.count)
        #expect(d.torn == 0 && d.disorder == 0 && d.count == Array(repeating: perProducer, count: lanes.count))
    }

    /// Socket-reader producers: on `shouldPause` they stop and wait for the low-watermark callback
    /// before offering again, as a plugin connection stops reading its socket.
    @Test func socketReadersPausedByWatermarksResumeAndLoseNothing() {
        let bus = EventBus(configuration: .init(capacity: [.incident: 16], producerCapacity: [.incident: 16],
                                                highWatermark: 0.5, lowWatermark: 0.25))
        let received = Collected()
        let total = Self.producers * Self.perProducer
        let done = startConsumer(bus, lane: .incident, expected: total, into: received)
        let pauses = Atomic<Int>(0)
        onThreads(Self.producers) { p in
            let producer = p % 2 == 0 ? bus.makeProducer() : nil
            let resume = DispatchSemaphore(value: 0)
            var i = 0
            while i < Self.perProducer {
                let o = producer?.offer(tagged(p, i, lane: .incident)) ?? bus.offer(tagged(p, i, lane: .incident))
                i += o.accepted
                if o.shouldPause || o.rejected > 0 {
                    pauses.add(1, ordering: .relaxed)
                    if let producer { producer.whenBelowLowWatermark(.incident) { resume.signal() } } else {
                        bus.whenBelowLowWatermark(.incident) { resume.signal() }
                    }
                    resume.wait()
                }
            }
        }
        guard finished(done, "incident consumer") else { return }
        let d = Delivery(received.all, producers: Self.producers)
        #expect(d.torn == 0 && d.disorder == 0)
        #expect(d.count == Array(repeating: Self.perProducer, count: Self.producers))
        #expect(pauses.load(ordering: .relaxed) > 0)
    }

    /// Producers come and go while the consumer drains: a closed producer's ring is drained to
    /// the end before another producer takes it, so nothing is lost or mixed up. (Order is kept
    /// per producer: each short-lived producer is its own source here.)
    @Test func producersClosingAndReusingRingsLoseNothing() {
        let bus = EventBus(configuration: .init(capacity: [.incident: 64], producerCapacity: [.incident: 16],
                                                maxProducersPerLane: 2))
        let received = Collected()
        let lifetimes = 40, perLifetime = 500
        let total = Self.producers * lifetimes * perLifetime
        let done = startConsumer(bus, lane: .incident, expected: total, into: received)
        onThreads(Self.producers) { p in
            for k in 0..<lifetimes {
                let producer = bus.makeProducer()  // a new connection every 500 events
                var i = 0
                while i < perLifetime { i += producer.offer(tagged(p * lifetimes + k, i, lane: .incident)).accepted }
                producer.close()
            }
        }
        guard finished(done, "incident consumer") else { return }
        let d = Delivery(received.all, producers: Self.producers * lifetimes)
        #expect(d.torn == 0 && d.disorder == 0)
        #expect(d.count == Array(repeating: perLifetime, count: Self.producers * lifetimes))
    }
}
