import Synchronization
import Testing
import VigilBus
import VigilCore

@Suite struct Backpressure {
    @Test func sharedRingCallbackFiresAfterDrainingToLow() {
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

    /// A plugin connection's view: its own ring tells it to stop reading at the high watermark,
    /// and calls back once the consumer has drained that ring to the low one. Other producers'
    /// rings are not affected.
    @Test func producerRingPausesItsOwnProducerOnly() {
        let bus = EventBus(configuration: .init(producerCapacity: [.incident: 16], highWatermark: 0.5, lowWatermark: 0.25))
        let flood = bus.makeProducer(), quiet = bus.makeProducer()
        var outcome = PublishOutcome()
        for i in 0..<7 { outcome = flood.offer(tagged(0, i, lane: .incident)) }
        #expect(!outcome.shouldPause && !flood.shouldPause(.incident))
        outcome = flood.offer(tagged(0, 7, lane: .incident))
        #expect(outcome.shouldPause && flood.shouldPause(.incident))
        #expect(!quiet.offer(tagged(1, 0, lane: .incident)).shouldPause)
        #expect(stats(bus, .incident)?.aboveHighWatermark == true)
        let fired = Atomic<Int>(0)
        flood.whenBelowLowWatermark(.incident) { fired.add(1, ordering: .relaxed) }
        let buffer = UnsafeMutableBufferPointer<Event>.allocate(capacity: 1)
        defer { buffer.deallocate() }
        var drainedFromFlood = 0
        while fired.load(ordering: .relaxed) == 0, bus.drain(.incident, into: buffer) == 1 {
            if buffer[0].producer == 0 { drainedFromFlood += 1 }
        }
        #expect(drainedFromFlood == 4)  // 8 waiting, low watermark 4
        #expect(!flood.shouldPause(.incident))
    }

    /// A registration made after the ring already drained is answered at once.
    @Test func callbackOnADrainedRingFiresImmediately() {
        let bus = EventBus(configuration: .init(producerCapacity: [.telemetry: 8], highWatermark: 0.5, lowWatermark: 0.25))
        let producer = bus.makeProducer()
        for i in 0..<4 { producer.offer(tagged(0, i, lane: .telemetry)) }
        #expect(producer.shouldPause(.telemetry))
        var out: [Event] = []
        _ = bus.drain(.telemetry, into: &out, max: 100)
        let fired = Atomic<Int>(0)
        producer.whenBelowLowWatermark(.telemetry) { fired.add(1, ordering: .relaxed) }
        #expect(fired.load(ordering: .relaxed) == 1)
    }

    @Test(arguments: [false, true])
    func asyncPublisherSuspendsAboveHighWatermarkAndResumes(registered: Bool) async {
        let bus = EventBus(configuration: .init(capacity: [.incident: 8], producerCapacity: [.incident: 8],
                                                highWatermark: 0.5, lowWatermark: 0.25))
        let producer = bus.makeProducer()
        for i in 0..<4 {
            if registered { producer.offer(tagged(0, i, lane: .incident)) } else { bus.offer(tagged(0, i, lane: .incident)) }
        }
        let done = Atomic<Bool>(false)
        let publisher = Task {
            if registered { await producer.publish(tagged(0, 4, lane: .incident)) } else {
                await bus.publish(tagged(0, 4, lane: .incident))
            }
            done.store(true, ordering: .sequentiallyConsistent)
        }
        // The publisher cannot finish while the ring stays at its high watermark.
        for _ in 0..<50 { await Task.yield() }
        let finishedEarly = done.load(ordering: .sequentiallyConsistent)
        #expect(!finishedEarly)
        var out: [Event] = []
        _ = bus.drain(.incident, into: &out, max: 2)  // depth 2 == low: the publisher resumes
        await publisher.value
        _ = bus.drain(.incident, into: &out, max: 10)
        #expect(out.map(\.seq) == [0, 1, 2, 3, 4])
        #expect((stats(bus, .incident)?.stalls ?? 0) >= 1)
    }

    @Test func perLaneWatermarksOverrideTheDefaults() {
        let bus = EventBus(configuration: .init(capacity: [.incident: 16, .telemetry: 16], highWatermark: 0.5,
                                                lowWatermark: 0.25,
                                                laneWatermarks: [.telemetry: Watermarks(high: 0.9, low: 0.5)]))
        var incident = PublishOutcome(), telemetry = PublishOutcome()
        for i in 0..<8 {
            incident = bus.offer(tagged(0, i, lane: .incident))
            telemetry = bus.offer(tagged(0, i, lane: .telemetry))
        }
        #expect(incident.shouldPause && !telemetry.shouldPause)
        for i in 8..<15 { telemetry = bus.offer(tagged(0, i, lane: .telemetry)) }
        #expect(telemetry.shouldPause)
    }
}

@Suite struct ConsumerParking {
    @Test(arguments: [false, true], [true, false])
    func parkedConsumerWakesOnPublish(registered: Bool, asymmetricBarriers: Bool) async {
        let bus = EventBus(configuration: .init(asymmetricBarriers: asymmetricBarriers))
        let consumer = Task { () -> Int in
            var got: [Event] = []
            while got.count < 3 {
                if bus.drainAll(into: &got, max: 10) == 0 { await bus.waitForEvents() }
            }
            return got.count
        }
        onThreads(3) { i in
            if registered { bus.makeProducer().offer(tagged(i, 0, lane: .security)) } else {
                bus.offer(tagged(i, 0, lane: .security))
            }
        }
        #expect(await consumer.value == 3)
    }

    /// An interruption that arrives while the consumer is busy (between its cancellation check and
    /// its wait) is not lost: the next wait returns at once, so shutdown cannot hang.
    @Test func interruptionBeforeWaitingIsNotLost() async {
        let bus = EventBus()
        bus.interruptConsumer()
        await bus.waitForEvents()  // returns: the interruption was remembered
        let waiter = Task { await bus.waitForEvents() }
        for _ in 0..<20 { await Task.yield() }
        bus.interruptConsumer()
        await waiter.value
    }
}
