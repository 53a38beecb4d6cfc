import Synchronization
import VigilCore

/// A registered producer: a long-lived source (a plugin connection, the bus's self-monitor) with
/// a ring of its own on each lane it publishes to.
///
/// Publishing a batch costs one store, with no compare-and-swap and no contention with other
/// producers; the consumer drains every producer's ring in turn. Backpressure and shedding are
/// per producer: a flooding plugin is paused, and on telemetry sheds, only its own events.
///
/// Use one producer from one task or thread at a time (its ring has a single writer); events it
/// publishes on a lane reach the consumer in the order it published them. When a lane already has
/// `maxProducersPerLane` producer rings, the producer shares that lane's ring instead.
/// Closing it (or releasing the last reference) hands its rings back once they are drained;
/// nothing it published is lost. Order is kept per producer, so events a closed producer left
/// waiting may reach the consumer after the first events of a producer that replaced it.
public final class BusProducer: @unchecked Sendable {
    public let bus: EventBus
    /// Per lane: the ring, once acquired.
    private let rings: UnsafeMutablePointer<UnsafeMutablePointer<ProducerRing>?>
    /// Per lane: 0 not yet asked, 1 own ring, 2 sharing the lane's ring, 3 closed.
    private let modes: UnsafeMutablePointer<UInt8>

    init(bus: EventBus) {
        self.bus = bus
        rings = .allocate(capacity: Lane.allCases.count)
        rings.initialize(repeating: nil, count: Lane.allCases.count)
        modes = .allocate(capacity: Lane.allCases.count)
        modes.initialize(repeating: 0, count: Lane.allCases.count)
    }

    deinit {
        close()
        rings.deallocate()
        modes.deallocate()
    }

    /// Hands the producer's rings back to the bus; the consumer still delivers what they hold.
    /// Later offers go through the lanes' shared rings.
    public func close() {
        for i in 0..<Lane.allCases.count {
            if let r = rings[i] {
                r.pointee.ownership.store(RingOwnership.closing.rawValue, ordering: .releasing)
                rings[i] = nil
            }
            modes[i] = 2
        }
    }

    /// This producer's ring on `lane`, acquiring it on first use; nil means use the shared ring.
    @inline(__always)
    private func ring(_ lane: Lane) -> UnsafeMutablePointer<ProducerRing>? {
        let i = Int(lane.rawValue)
        if modes[i] == 1 { return rings[i] }
        if modes[i] == 0 {
            rings[i] = bus.lanes[i].acquireRing()
            modes[i] = rings[i] == nil ? 2 : 1
        }
        return rings[i]
    }

    // MARK: offering (never waits)

    /// Offers one event without waiting; see ``PublishOutcome``.
    ///
    /// The common case (own ring, room in it, no telemetry throttling) is a straight line: one
    /// cell written, one release store, no fence (see ``EventBus/waitForEvents()``).
    @discardableResult
    public func offer(_ event: Event) -> PublishOutcome {
        let lane = event.lane
        let i = Int(lane.rawValue)
        if modes[i] == 1, let r = rings[i],
           lane != .telemetry || (!bus.isThrottling(lane) && r.pointee.hasRoom(for: 1)),
           r.pointee.enqueueOne(event) {
            bus.wakeConsumerAfterPublish()
            let gate = r.pointee.gate
            gate.pointee.mark(depth: r.pointee.producerDepth())
            return PublishOutcome(accepted: 1, shouldPause: gate.pointee.isPaused)
        }
        return withUnsafePointer(to: event) { offer(UnsafeBufferPointer(start: $0, count: 1), lane: lane) }
    }

    /// Offers a batch whose events may be bound for different lanes, in order, stopping at the
    /// first refusal: the outcome's `rejected` events are the batch's last ones.
    @discardableResult
    public func offer(_ events: UnsafeBufferPointer<Event>) -> PublishOutcome {
        EventBus.offerByLane(events) { run, lane in offer(run, lane: lane) }
    }

    /// Offers a batch bound for one lane (each event's own `lane` field is not consulted).
    @discardableResult
    public func offer(_ events: UnsafeBufferPointer<Event>, lane: Lane) -> PublishOutcome {
        guard let r = ring(lane) else { return bus.offer(events, lane: lane) }
        if bus.isThrottling(lane) { return bus.admitting(events, lane: lane) { offer($0, lane: lane, ring: r) } }
        return offer(events, lane: lane, ring: r)
    }

    private func offer(_ events: UnsafeBufferPointer<Event>, lane: Lane, ring r: UnsafeMutablePointer<ProducerRing>)
        -> PublishOutcome {
        let counters = bus.lanes[Int(lane.rawValue)].counters
        var outcome = PublishOutcome()
        if lane == .telemetry {
            var batch = events
            if batch.count > r.pointee.capacity {
                // The batch alone overflows the ring: its own oldest go first, never entering.
                let overflow = batch.count - r.pointee.capacity
                var runStart = 0
                for k in 1...overflow where k == overflow || batch[k].source != batch[runStart].source {
                    bus.shedBySource.pointee.add(source: batch[runStart].source, count: k - runStart)
                    runStart = k
                }
                outcome.shed = overflow
                batch = UnsafeBufferPointer(rebasing: batch[overflow...])
            }
            if !r.pointee.hasRoom(for: batch.count) {
                outcome.shed += r.pointee.shedOldest(toFit: batch.count, counters: bus.shedBySource)
            }
            if outcome.shed > 0 { counters.pointee.shedTotal.add(UInt64(outcome.shed), ordering: .relaxed) }
            // Only this producer fills its ring and room was made, so all of it fits.
            outcome.accepted = r.pointee.enqueue(batch)
        } else {
            outcome.accepted = r.pointee.enqueue(events)
            outcome.rejected = events.count - outcome.accepted
            if outcome.rejected > 0 { counters.pointee.stallTotal.add(1, ordering: .relaxed) }
        }
        if outcome.accepted > 0 { bus.wakeConsumerAfterPublish() }
        let gate = r.pointee.gate
        gate.pointee.mark(depth: r.pointee.producerDepth())
        outcome.shouldPause = gate.pointee.isPaused
        return outcome
    }

    // MARK: publishing (waits, never drops)

    /// Publishes one event, waiting while this producer's ring on its lane is above the high
    /// watermark or full. Never drops on any lane.
    public func publish(_ event: Event) async {
        guard let r = ring(event.lane) else { return await bus.publish(event) }
        var done = false
        while !done {
            done = await publishStep(r, lane: event.lane) {
                withUnsafePointer(to: event) { r.pointee.enqueue(UnsafeBufferPointer(start: $0, count: 1)) }
            } > 0
        }
    }

    /// Publishes a batch in order (events may be bound for different lanes), waiting as
    /// ``publish(_:)-(Event)`` does.
    public func publish(_ events: [Event]) async {
        var start = 0
        while start < events.count {
            let lane = events[start].lane
            var end = start + 1
            while end < events.count, events[end].lane == lane { end += 1 }
            guard let r = ring(lane) else {
                await bus.publish(Array(events[start..<end]))
                start = end
                continue
            }
            while start < end {
                let from = start
                let n = await publishStep(r, lane: lane) {
                    events.withUnsafeBufferPointer { r.pointee.enqueue(UnsafeBufferPointer(rebasing: $0[from..<end])) }
                }
                start += n
            }
        }
    }

    /// One attempt of a waiting publish on ring `r`: waits first if it asks producers to pause,
    /// then enqueues what fits; waits again if nothing did. Returns how many went in.
    private func publishStep(_ r: UnsafeMutablePointer<ProducerRing>, lane: Lane, _ enqueue: () -> Int) async -> Int {
        let counters = bus.lanes[Int(lane.rawValue)].counters
        let gate = r.pointee.gate
        if gate.pointee.shouldPause(depth: r.pointee.producerDepth()) {
            counters.pointee.stallTotal.add(1, ordering: .relaxed)
            await gate.pointee.wait { r.pointee.depth }
        }
        let n = enqueue()
        if n > 0 {
            bus.wakeConsumerAfterPublish()
            gate.pointee.mark(depth: r.pointee.producerDepth())
        } else {
            counters.pointee.stallTotal.add(1, ordering: .relaxed)
            await gate.pointee.wait { r.pointee.depth }
        }
        return n
    }

    // MARK: backpressure

    /// Whether this producer should hold back on `lane` (its ring reached the high watermark and
    /// has not yet drained to the low one).
    public func shouldPause(_ lane: Lane) -> Bool {
        guard let r = ring(lane) else { return bus.shouldPause(lane) }
        return r.pointee.gate.pointee.shouldPause(depth: r.pointee.producerDepth())
    }

    /// Calls `resume` once this producer's ring on `lane` has drained to its low watermark (at
    /// once if it is not paused). `resume` runs on the consumer's thread: keep it short.
    public func whenBelowLowWatermark(_ lane: Lane, _ resume: @escaping @Sendable () -> Void) {
        guard let r = ring(lane) else { return bus.whenBelowLowWatermark(lane, resume) }
        r.pointee.gate.pointee.park(.callback(resume)) { r.pointee.depth }
    }
}
