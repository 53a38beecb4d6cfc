import CVigilBarrier
import Synchronization
import VigilCore

/// Whether this process may use membarrier(2) as the consumer's heavy barrier (registered once).
let heavyBarrierAvailable: Bool = vigil_heavy_barrier_register() == 1

/// The daemon's EventBus: three lanes, many producers, one consumer.
///
/// Each ``Lane`` has a shared lock-free ring (Vyukov-style, many producers) and, for every
/// registered ``BusProducer``, a ring of its own that the consumer drains round-robin with the
/// others. A registered producer publishes a batch without contending with other producers; the
/// shared ring serves everyone else (the control socket, tests, producers beyond the limit).
///
/// - `security` and `incident` never drop: an offer to a full ring reports the rest as
///   `rejected` (the caller keeps them and must retry or wait), and `publish` waits.
/// - `telemetry` sheds oldest-first when a ring is full, counting every shed event per source.
///   A flooding producer sheds only from its own ring.
/// - Backpressure is by depth: at or above the high watermark, `publish` suspends and `offer`
///   says `shouldPause`; a socket reader stops reading and registers `whenBelowLowWatermark`,
///   which fires once the consumer drains the ring to the low watermark. The kernel socket
///   buffer then fills and the plugin's own `write` blocks (see Docs/eventbus.md).
///
/// Nothing takes a lock. The publish and consume paths allocate nothing and touch no reference
/// counts (`make bench-bus` counts both); only parking (a producer above its watermark, the
/// consumer with nothing to do) allocates a list node or a continuation.
public final class EventBus: @unchecked Sendable {
    public let configuration: EventBusConfiguration
    /// The three lanes, in a raw table: an array would have producers and the consumer retaining
    /// its buffer on every access, a shared reference count bouncing between cores.
    let lanes: UnsafeMutablePointer<BusLane>
    let shedBySource = ShedCounters.allocate()
    let admission = TelemetryAdmission()
    /// reduce_eventbus_throughput: one telemetry event admitted in this many (1: all).
    let admissionRatio: UnsafeMutablePointer<Atomic<Int>>
    /// A ``ConsumerState`` raw value; see ``waitForEvents()``.
    let consumerState = Atomic<Int>(ConsumerState.running.rawValue)
    /// The parked consumer's continuation: written before `consumerState` becomes `parked`
    /// (release), taken only by whoever moves it from `parked` to `running` (acquire).
    let parkedConsumer: UnsafeMutablePointer<CheckedContinuation<Void, Never>?>
    /// Producers publish with a compiler barrier only, and the parking consumer issues
    /// membarrier(2); otherwise producers fence after publishing. See ``waitForEvents()``.
    let asymmetricBarriers: Bool

    enum ConsumerState: Int {
        case running = 0
        case parked = 1
        /// An interruption found no parked consumer; its next wait returns at once.
        case interrupted = 2
    }

    public init(configuration: EventBusConfiguration = EventBusConfiguration()) {
        self.configuration = configuration
        asymmetricBarriers = configuration.asymmetricBarriers && heavyBarrierAvailable
        parkedConsumer = .allocate(capacity: 1)
        parkedConsumer.initialize(to: nil)
        admissionRatio = .allocate(capacity: 1)
        admissionRatio.initialize(to: Atomic(1))
        lanes = .allocate(capacity: Lane.allCases.count)
        for lane in Lane.allCases {
            (lanes + Int(lane.rawValue)).initialize(to: BusLane(lane: lane, configuration: configuration))
        }
    }

    deinit {
        lanes.deinitialize(count: Lane.allCases.count)
        lanes.deallocate()
        ShedCounters.deallocate(shedBySource)
        parkedConsumer.deinitialize(count: 1)
        parkedConsumer.deallocate()
        admissionRatio.deinitialize(count: 1)
        admissionRatio.deallocate()
    }

    /// Whether producers publish without a fence, the parking consumer using membarrier(2)
    /// (``EventBusConfiguration/asymmetricBarriers``, where the kernel offers it).
    public var usesAsymmetricBarriers: Bool { asymmetricBarriers }

    /// A producer with rings of its own (one per lane it uses), for a long-lived source such as a
    /// plugin connection. Use it from one task or thread at a time.
    public func makeProducer() -> BusProducer { BusProducer(bus: self) }

    // MARK: producing on the shared rings

    /// Offers one event on its lane's shared ring without waiting; see ``PublishOutcome``.
    @discardableResult
    public func offer(_ event: Event) -> PublishOutcome {
        withUnsafePointer(to: event) { offer(UnsafeBufferPointer(start: $0, count: 1), lane: event.lane) }
    }

    /// Offers a batch bound for one lane (each event's own `lane` field is not consulted).
    @discardableResult
    public func offer(_ events: UnsafeBufferPointer<Event>, lane: Lane) -> PublishOutcome {
        if isThrottling(lane) { return admitting(events, lane: lane) { offerAdmitted($0, lane: lane) } }
        return offerAdmitted(events, lane: lane)
    }

    private func offerAdmitted(_ events: UnsafeBufferPointer<Event>, lane: Lane) -> PublishOutcome {
        let l = lanes + Int(lane.rawValue)
        var outcome = PublishOutcome()
        var remaining = events
        while !remaining.isEmpty {
            let n = l.pointee.shared.enqueue(remaining)
            outcome.accepted += n
            remaining = UnsafeBufferPointer(rebasing: remaining[n...])
            if remaining.isEmpty { break }
            if lane == .telemetry {
                outcome.shed += shedOldestShared(l, count: remaining.count)
            } else {
                outcome.rejected = remaining.count
                l.pointee.counters.pointee.stallTotal.add(1, ordering: .relaxed)
                break
            }
        }
        if outcome.accepted > 0 { wakeConsumerAfterPublish() }
        // The depth costs a transfer of the consumer's cache line, so it is read when the enqueue
        // position crosses a multiple of the sampling interval or after a refusal: the watermark
        // is noticed at most one interval late, and a single-event producer stays fast.
        let sampleMask = l.pointee.shared.sampleMask
        let gate = l.pointee.shared.gate
        if outcome.rejected > 0 || outcome.shed > 0 || outcome.accepted > sampleMask
            || l.pointee.shared.enqueued & sampleMask < outcome.accepted {
            gate.pointee.mark(depth: l.pointee.shared.depth)
        }
        outcome.shouldPause = gate.pointee.isPaused
        return outcome
    }

    /// Offers a batch whose events may be bound for different lanes, in order, stopping at the
    /// first refusal: the outcome's `rejected` events are the batch's last ones.
    @discardableResult
    public func offer(_ events: UnsafeBufferPointer<Event>) -> PublishOutcome {
        Self.offerByLane(events) { run, lane in offer(run, lane: lane) }
    }

    /// Splits `events` into runs of one lane and offers each, stopping at the first refusal.
    static func offerByLane(_ events: UnsafeBufferPointer<Event>,
                            _ offerRun: (UnsafeBufferPointer<Event>, Lane) -> PublishOutcome) -> PublishOutcome {
        var outcome = PublishOutcome()
        var start = 0
        while start < events.count {
            let lane = events[start].lane
            var end = start + 1
            while end < events.count, events[end].lane == lane { end += 1 }
            let o = offerRun(UnsafeBufferPointer(rebasing: events[start..<end]), lane)
            outcome.absorb(o)
            if o.rejected > 0 {
                outcome.rejected = events.count - (end - o.rejected)
                break
            }
            start = end
        }
        return outcome
    }

    /// Publishes one event, waiting while its lane's shared ring is above the high watermark or
    /// full. Never drops on any lane (telemetry producers that prefer shedding use `offer`).
    public func publish(_ event: Event) async {
        var done = false
        while !done {
            done = await publishStep(lane: event.lane) { l in
                withUnsafePointer(to: event) { l.pointee.shared.enqueue(UnsafeBufferPointer(start: $0, count: 1)) }
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
            while start < end {
                let from = start
                let n = await publishStep(lane: lane) { l in
                    events.withUnsafeBufferPointer { l.pointee.shared.enqueue(UnsafeBufferPointer(rebasing: $0[from..<end])) }
                }
                start += n
            }
        }
    }

    /// One attempt of a waiting publish: waits first if the shared ring asks producers to pause,
    /// then enqueues what fits; waits again if nothing did. Returns how many went in.
    private func publishStep(lane: Lane, _ enqueue: (UnsafeMutablePointer<BusLane>) -> Int) async -> Int {
        let l = lanes + Int(lane.rawValue)
        let gate = l.pointee.shared.gate
        if gate.pointee.shouldPause(depth: l.pointee.shared.depth) {
            l.pointee.counters.pointee.stallTotal.add(1, ordering: .relaxed)
            await gate.pointee.wait { l.pointee.shared.depth }
        }
        let n = enqueue(l)
        if n > 0 {
            wakeConsumerAfterPublish()
            gate.pointee.mark(depth: l.pointee.shared.depth)
        } else {
            l.pointee.counters.pointee.stallTotal.add(1, ordering: .relaxed)
            await gate.pointee.wait { l.pointee.shared.depth }
        }
        return n
    }

    /// Telemetry's shared ring is full: dequeue (shed) its `count` oldest events, counting them
    /// per source; returns how many were dropped (fewer if the consumer emptied it meanwhile).
    private func shedOldestShared(_ l: UnsafeMutablePointer<BusLane>, count: Int) -> Int {
        var dropped = 0
        withUnsafeTemporaryAllocation(of: Event.self, capacity: min(count, 256)) { buffer in
            guard let base = buffer.baseAddress else { return }
            while dropped < count {
                let n = l.pointee.shared.dequeue(max: min(count - dropped, buffer.count), into: base)
                if n == 0 { break }
                var runStart = 0
                for k in 1...n where k == n || base[k].source != base[runStart].source {
                    shedBySource.pointee.add(source: base[runStart].source, count: k - runStart)
                    runStart = k
                }
                dropped += n
            }
        }
        if dropped > 0 { l.pointee.counters.pointee.shedTotal.add(UInt64(dropped), ordering: .relaxed) }
        return dropped
    }

    // MARK: backpressure on the shared rings

    /// Whether producers on `lane`'s shared ring should hold back (depth reached the high
    /// watermark and has not yet drained to the low one).
    public func shouldPause(_ lane: Lane) -> Bool {
        let l = lanes + Int(lane.rawValue)
        return l.pointee.shared.gate.pointee.shouldPause(depth: l.pointee.shared.depth)
    }

    /// Calls `resume` once `lane`'s shared ring has drained to its low watermark (at once if it
    /// is not paused). `resume` runs on the consumer's thread: keep it short (schedule the work).
    public func whenBelowLowWatermark(_ lane: Lane, _ resume: @escaping @Sendable () -> Void) {
        let l = lanes + Int(lane.rawValue)
        l.pointee.shared.gate.pointee.park(.callback(resume)) { l.pointee.shared.depth }
    }

    // MARK: waking the consumer

    /// A producer's side of the parking handshake, after the release store that published events:
    /// orders that store before reading whether the consumer is parked, then wakes it if it is.
    /// With asymmetric barriers the order costs nothing here (the consumer's membarrier provides
    /// it); otherwise a full fence.
    @inline(__always)
    func wakeConsumerAfterPublish() {
        if asymmetricBarriers { vigil_light_barrier() } else { atomicMemoryFence(ordering: .sequentiallyConsistent) }
        if consumerState.load(ordering: .relaxed) == ConsumerState.parked.rawValue { wakeParkedConsumer() }
    }

    /// Resumes the parked consumer, if this caller is the one that unparks it. Never inlined: the
    /// continuation's type metadata lookups and stack space would otherwise sit in every
    /// publisher's prologue, taken or not.
    @inline(never)
    func wakeParkedConsumer() {
        let (unparked, _) = consumerState.compareExchange(
            expected: ConsumerState.parked.rawValue, desired: ConsumerState.running.rawValue, ordering: .acquiringAndReleasing)
        guard unparked, let c = parkedConsumer.pointee else { return }
        parkedConsumer.pointee = nil
        c.resume()
    }
}
