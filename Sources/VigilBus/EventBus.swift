import Synchronization
import VigilCore

/// The daemon's EventBus: one bounded lock-free ring per ``Lane``, many producers, one consumer.
///
/// - `security` and `incident` never drop: ``offer(_:)`` reports a full lane as `rejected`
///   (the caller keeps the event and must retry or wait), and ``publish(_:)`` waits.
/// - `telemetry` sheds oldest-first when full, counting every shed event per source.
/// - Backpressure is by depth: at or above the high watermark, ``publish(_:)`` suspends and
///   ``offer(_:)`` says `shouldPause`; a socket reader stops reading and registers
///   ``whenBelowLowWatermark(_:_:)``, which fires once the consumer drains to the low watermark.
///   The kernel socket buffer then fills and the plugin's own `write` blocks.
///
/// The publish and consume paths take no locks; locks guard only the rare paths (parking the
/// consumer, waking paused producers).
public final class EventBus: @unchecked Sendable {
    public let configuration: EventBusConfiguration
    /// One ring per lane, in a raw table: an array here would have both the producers and the
    /// consumer retaining its buffer on every access, a shared refcount line bouncing between cores.
    private let ringTable: UnsafeMutablePointer<LaneRing>
    var rings: UnsafeMutableBufferPointer<LaneRing> { UnsafeMutableBufferPointer(start: ringTable, count: 3) }
    let shedBySource: ShedCounters
    private let consumerParked = Atomic<Bool>(false)
    private let parking = Mutex<ParkingState>(ParkingState())

    struct ParkingState {
        var consumer: CheckedContinuation<Void, Never>?
        var producers: [[CheckedContinuation<Void, Never>]] = [[], [], []]
        var callbacks: [[@Sendable () -> Void]] = [[], [], []]
    }

    deinit {
        for r in rings { r.deallocate() }
        ringTable.deinitialize(count: 3)
        ringTable.deallocate()
    }

    public init(configuration: EventBusConfiguration = EventBusConfiguration()) {
        self.configuration = configuration
        ringTable = .allocate(capacity: 3)
        for (i, lane) in Lane.allCases.enumerated() {
            var ring = LaneRing(capacity: max(2, configuration.capacity[lane] ?? 4096))
            ring.high = max(1, Int(Double(ring.capacity) * configuration.highWatermark))
            ring.low = Int(Double(ring.capacity) * configuration.lowWatermark)
            var interval = 1
            while interval < 64, interval * 2 <= max(1, ring.high / 8) { interval *= 2 }
            ring.sampleMask = interval - 1
            (ringTable + i).initialize(to: ring)
        }
        shedBySource = ShedCounters()
    }

    // MARK: producing

    /// Offers one event without waiting; see ``PublishOutcome``.
    @discardableResult
    public func offer(_ event: Event) -> PublishOutcome {
        withUnsafePointer(to: event) { offer(UnsafeBufferPointer(start: $0, count: 1), lane: event.lane) }
    }

    /// Offers a batch bound for one lane (each event's own `lane` field is not consulted).
    @discardableResult
    public func offer(_ events: UnsafeBufferPointer<Event>, lane: Lane) -> PublishOutcome {
        let i = Int(lane.rawValue)
        let ring = ringTable[i]
        var outcome = PublishOutcome()
        var remaining = events
        while !remaining.isEmpty {
            let n = ring.enqueue(remaining)
            outcome.accepted += n
            remaining = UnsafeBufferPointer(rebasing: remaining[n...])
            if remaining.isEmpty { break }
            if lane == .telemetry {
                outcome.shed += shedOldest(ring: ring, lane: i, count: remaining.count)
            } else {
                outcome.rejected = remaining.count
                rings[i].counters.pointee.stallTotal.add(1, ordering: .relaxed)
                break
            }
        }
        if outcome.accepted > 0 { wakeConsumer() }
        // Reading the consumer's position costs a cache-line transfer, so the depth is sampled
        // when the enqueue position crosses a multiple of the sampling interval (64, or an eighth
        // of the high watermark on small lanes) or after a refusal: the watermark is noticed at
        // most one interval late, and a single-event producer stays fast.
        let end = ring.enqueued
        if outcome.rejected > 0 || outcome.shed > 0 || outcome.accepted > ring.sampleMask
            || end & ring.sampleMask < outcome.accepted {
            if ring.depth >= ring.high { ring.counters.pointee.paused.store(true, ordering: .relaxed) }
        }
        outcome.shouldPause = ring.counters.pointee.paused.load(ordering: .relaxed)
        return outcome
    }

    /// Publishes one event, waiting while its lane is above the high watermark or full.
    /// Never drops on any lane (telemetry producers that prefer shedding use ``offer(_:)``).
    public func publish(_ event: Event) async {
        await publish([event])
    }

    /// Publishes a batch bound for `events[0].lane`, in order, waiting as ``publish(_:)`` does.
    public func publish(_ events: [Event]) async {
        guard let lane = events.first?.lane else { return }
        let i = Int(lane.rawValue)
        var start = 0
        while start < events.count {
            if rings[i].counters.pointee.paused.load(ordering: .relaxed) || rings[i].depth >= rings[i].high {
                // Set the flag before parking: the consumer only releases lanes marked paused.
                rings[i].counters.pointee.paused.store(true, ordering: .sequentiallyConsistent)
                rings[i].counters.pointee.stallTotal.add(1, ordering: .relaxed)
                await waitBelowLowWatermark(i)
            }
            let n = events.withUnsafeBufferPointer { all in
                rings[i].enqueue(UnsafeBufferPointer(rebasing: all[start...]))
            }
            start += n
            if n > 0 { wakeConsumer() }
            if rings[i].depth >= rings[i].high { rings[i].counters.pointee.paused.store(true, ordering: .relaxed) }
            if n == 0 {
                rings[i].counters.pointee.paused.store(true, ordering: .relaxed)
                rings[i].counters.pointee.stallTotal.add(1, ordering: .relaxed)
                await waitBelowLowWatermark(i)
            }
        }
    }

    private func shedOldest(ring: LaneRing, lane: Int, count: Int) -> Int {
        var dropped = 0
        withUnsafeTemporaryAllocation(of: Event.self, capacity: min(count, 256)) { buffer in
            guard let base = buffer.baseAddress else { return }
            while dropped < count {
                let n = ring.dequeue(max: min(count - dropped, buffer.count), into: base)
                if n == 0 { break }
                for k in 0..<n { shedBySource.add(source: base[k].source) }
                dropped += n
            }
        }
        if dropped > 0 { ring.counters.pointee.shedTotal.add(UInt64(dropped), ordering: .relaxed) }
        return dropped
    }

    // MARK: backpressure

    /// Whether producers of `lane` should hold back (depth reached the high watermark and has
    /// not yet drained to the low one).
    public func shouldPause(_ lane: Lane) -> Bool {
        let i = Int(lane.rawValue)
        return rings[i].counters.pointee.paused.load(ordering: .relaxed) || rings[i].depth >= rings[i].high
    }

    /// Calls `resume` once `lane` has drained to its low watermark (at once if it is not paused).
    public func whenBelowLowWatermark(_ lane: Lane, _ resume: @escaping @Sendable () -> Void) {
        let i = Int(lane.rawValue)
        let now = parking.withLock { state -> Bool in
            if pauseOrPass(i) { return true }
            state.callbacks[i].append(resume)
            return false
        }
        if now { resume() }
    }

    private func waitBelowLowWatermark(_ i: Int) async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let resumeNow = parking.withLock { state -> Bool in
                if pauseOrPass(i) { return true }
                state.producers[i].append(c)
                return false
            }
            if resumeNow { c.resume() }
        }
    }

    /// Under the parking lock, before a producer parks: marks lane `i` paused, then decides whether
    /// the producer may go on after all (true: the lane is not above its high watermark, or it has
    /// already drained to the low one). Setting the flag before reading the depth, with the
    /// consumer reading the depth before the flag, means one of the two always sees the other:
    /// a producer never parks on a lane the consumer has finished draining.
    private func pauseOrPass(_ i: Int) -> Bool {
        let counters = rings[i].counters
        if !counters.pointee.paused.load(ordering: .sequentiallyConsistent), rings[i].depth < rings[i].high {
            return true
        }
        counters.pointee.paused.store(true, ordering: .sequentiallyConsistent)
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        if rings[i].depth <= rings[i].low {
            counters.pointee.paused.store(false, ordering: .sequentiallyConsistent)
            return true
        }
        return false
    }

    /// Called by the consumer after draining: releases paused producers of lanes at or below
    /// their low watermark.
    private func releaseProducers() {
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        for i in 0..<rings.count where rings[i].counters.pointee.paused.load(ordering: .relaxed) && rings[i].depth <= rings[i].low {
            let (waiters, callbacks) = parking.withLock { state in
                rings[i].counters.pointee.paused.store(false, ordering: .relaxed)
                defer {
                    state.producers[i].removeAll()
                    state.callbacks[i].removeAll()
                }
                return (state.producers[i], state.callbacks[i])
            }
            for w in waiters { w.resume() }
            for cb in callbacks { cb() }
        }
    }

    // MARK: consuming

    /// Moves up to `max` events of one lane into `out`; the single consumer's call.
    public func drain(_ lane: Lane, into out: inout [Event], max: Int) -> Int {
        let ring = ringTable[Int(lane.rawValue)]
        var total = 0
        withUnsafeTemporaryAllocation(of: Event.self, capacity: 512) { buffer in
            guard let base = buffer.baseAddress else { return }
            while total < max {
                let n = ring.dequeue(max: Swift.min(max - total, buffer.count), into: base)
                if n == 0 { break }
                out.append(contentsOf: UnsafeBufferPointer(start: base, count: n))
                total += n
            }
        }
        releaseProducers()
        return total
    }

    /// Moves up to `buffer.count` events of one lane into `buffer` without copying through an
    /// array; returns how many (the benchmark's and the hot consumer's call).
    public func drain(_ lane: Lane, into buffer: UnsafeMutableBufferPointer<Event>) -> Int {
        guard let base = buffer.baseAddress else { return 0 }
        let n = rings[Int(lane.rawValue)].dequeue(max: buffer.count, into: base)
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        if rings[Int(lane.rawValue)].counters.pointee.paused.load(ordering: .relaxed) { releaseProducers() }
        return n
    }

    /// Drains every lane in priority order (security, then incident, then telemetry) up to
    /// `max` events in all.
    public func drainAll(into out: inout [Event], max: Int) -> Int {
        var total = 0
        for lane in Lane.allCases where total < max {
            total += drain(lane, into: &out, max: max - total)
        }
        return total
    }

    /// Suspends the consumer until an event is published (returns at once if one is waiting).
    public func waitForEvents() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            parking.withLock { $0.consumer = c }
            consumerParked.store(true, ordering: .sequentiallyConsistent)
            atomicMemoryFence(ordering: .sequentiallyConsistent)
            if rings.contains(where: \.hasReadyEvent) { wakeConsumer(force: true) }
        }
    }

    /// Wakes the consumer without an event, e.g. so it notices cancellation at shutdown.
    public func interruptConsumer() { wakeConsumer(force: true) }

    /// Wakes a parked consumer; one fence and one load when nobody is parked.
    private func wakeConsumer(force: Bool = false) {
        if !force {
            atomicMemoryFence(ordering: .sequentiallyConsistent)
            guard consumerParked.load(ordering: .relaxed) else { return }
        }
        let c = parking.withLock { state -> CheckedContinuation<Void, Never>? in
            consumerParked.store(false, ordering: .relaxed)
            defer { state.consumer = nil }
            return state.consumer
        }
        c?.resume()
    }

    // MARK: statistics

    public func statistics() -> [LaneStatistics] {
        Lane.allCases.map { lane in
            let i = Int(lane.rawValue)
            let r = rings[i]
            return LaneStatistics(lane: lane, depth: r.depth, capacity: r.capacity, published: UInt64(r.enqueued),
                                  consumed: UInt64(r.dequeued) - rings[i].counters.pointee.shedTotal.load(ordering: .relaxed),
                                  shed: rings[i].counters.pointee.shedTotal.load(ordering: .relaxed),
                                  stalls: rings[i].counters.pointee.stallTotal.load(ordering: .relaxed),
                                  aboveHighWatermark: shouldPause(lane))
        }
    }

    /// Shed telemetry per source symbol (sources beyond the table's size count under `Symbol.none`).
    public func shedBySourceSymbol() -> [(source: Symbol, shed: UInt64)] { shedBySource.snapshot() }
}

struct Counter: ~Copyable {
    let value = Atomic<UInt64>(0)
}

/// Per-source shed counters indexed by source symbol id; no lock on the counting path.
final class ShedCounters: @unchecked Sendable {
    static let size = 4096
    private let counts: UnsafeMutablePointer<Counter>

    init() {
        counts = .allocate(capacity: Self.size)
        for i in 0..<Self.size { (counts + i).initialize(to: Counter()) }
    }

    deinit {
        counts.deinitialize(count: Self.size)
        counts.deallocate()
    }

    func add(source: Symbol) {
        let i = Int(source.id) < Self.size ? Int(source.id) : 0
        counts[i].value.add(1, ordering: .relaxed)
    }

    func snapshot() -> [(source: Symbol, shed: UInt64)] {
        (0..<Self.size).compactMap { i in
            let v = counts[i].value.load(ordering: .relaxed)
            return v == 0 ? nil : (Symbol(id: UInt32(i)), v)
        }
    }
}
