import Synchronization
import VigilCore

/// A lane's counters: the producers' on one 128-byte block, the consumer's on the next, so a
/// flood of sheds does not keep taking the consumer's line away.
struct LaneCounters: ~Copyable {
    /// Telemetry events dropped oldest-first.
    let shedTotal = Atomic<UInt64>(0)
    /// Producer refusals (full never-drop ring) and waits (watermark).
    let stallTotal = Atomic<UInt64>(0)
    private let producerPadding: (Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int) =
        (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    /// Events handed to the consumer (written by the consumer only).
    let consumed = Atomic<UInt64>(0)
    /// The consumer's round-robin position among the lane's rings (consumer only).
    var cursor = 0
}

/// Everything of one lane: the shared ring for unregistered producers, the rings of registered
/// producers (``BusProducer``), and the counters. The consumer drains the rings round-robin, so a
/// flooding producer fills and sheds only its own ring and cannot starve the others.
struct BusLane: ~Copyable {
    let lane: Lane
    let shared: LaneRing
    let counters: UnsafeMutablePointer<LaneCounters>
    /// Rings of registered producers. An entry below `ringCount` is set once (after its index is
    /// claimed) and then never changes: rings are reused by later producers, never freed before
    /// the bus, so the consumer and statistics readers use the pointers without reference counts.
    private let table: UnsafeMutablePointer<Atomic<UnsafeMutablePointer<ProducerRing>?>>
    private let tableSize: Int
    private let ringCount = Atomic<Int>(0)
    private let producerCapacity: Int
    private let watermarks: Watermarks

    init(lane: Lane, configuration: EventBusConfiguration) {
        self.lane = lane
        watermarks = configuration.watermarks(for: lane)
        shared = LaneRing(capacity: max(2, configuration.capacity[lane] ?? 4096),
                          high: watermarks.high, low: watermarks.low)
        producerCapacity = max(2, configuration.producerCapacity[lane] ?? 4096)
        tableSize = max(0, configuration.maxProducersPerLane)
        table = .allocate(capacity: max(1, tableSize))
        for i in 0..<max(1, tableSize) { (table + i).initialize(to: Atomic(nil)) }
        counters = UnsafeMutableRawPointer.allocate(byteCount: max(256, MemoryLayout<LaneCounters>.stride), alignment: 128)
            .bindMemory(to: LaneCounters.self, capacity: 1)
        counters.initialize(to: LaneCounters())
    }

    deinit {
        for i in 0..<ringCount.load(ordering: .acquiring) {
            if let r = table[i].load(ordering: .acquiring) {
                r.deinitialize(count: 1)
                r.deallocate()
            }
        }
        table.deinitialize(count: max(1, tableSize))
        table.deallocate()
        counters.deinitialize(count: 1)
        UnsafeMutableRawPointer(counters).deallocate()
    }

    // MARK: registration

    /// A ring for a new producer: a free one if any, else a new one; nil when the lane already has
    /// `maxProducersPerLane` rings in use (the producer then shares the lane's ring).
    func acquireRing() -> UnsafeMutablePointer<ProducerRing>? {
        let existing = ringCount.load(ordering: .acquiring)
        for i in 0..<existing {
            guard let r = table[i].load(ordering: .acquiring) else { continue }
            if r.pointee.ownership.compareExchange(expected: RingOwnership.free.rawValue,
                                                   desired: RingOwnership.owned.rawValue,
                                                   ordering: .acquiringAndReleasing).exchanged {
                r.pointee.adopt()
                return r
            }
        }
        var index = ringCount.load(ordering: .relaxed)
        while true {
            guard index < tableSize else { return nil }
            let (won, current) = ringCount.compareExchange(expected: index, desired: index + 1, ordering: .relaxed)
            if won { break }
            index = current
        }
        let ring = UnsafeMutablePointer<ProducerRing>.allocate(capacity: 1)
        ring.initialize(to: ProducerRing(capacity: producerCapacity, high: watermarks.high, low: watermarks.low))
        // Sequentially consistent, like the consumer's pre-parking scan, so a consumer about to
        // park either sees this ring or is seen parked by the ring's first publish.
        table[index].store(ring, ordering: .sequentiallyConsistent)
        return ring
    }

    /// Calls `body` with every registered ring (owned, closing or free).
    @inline(__always)
    func forEachRing(_ body: (UnsafeMutablePointer<ProducerRing>) -> Void) {
        for i in 0..<ringCount.load(ordering: .acquiring) {
            if let r = table[i].load(ordering: .acquiring) { body(r) }
        }
    }

    // MARK: consuming (the lane's single consumer)

    /// Moves up to `max` events into `out`, visiting the shared ring and each producer's ring in
    /// turn, starting one further along on every call; returns how many. A first pass takes at
    /// most an equal share from each ring, so one full ring cannot crowd the others out of a call;
    /// a second pass fills what is left.
    func drain(into out: UnsafeMutablePointer<Event>, max: Int) -> Int {
        let rings = ringCount.load(ordering: .acquiring)
        let turns = rings + 1  // index `rings` is the shared ring
        let start = counters.pointee.cursor % turns
        counters.pointee.cursor = start + 1
        let share = Swift.max(64, (max + turns - 1) / turns)
        var saturated = false
        var total = drainPass(rings: rings, from: start, into: out, max: max, share: share, saturated: &saturated)
        if total < max, saturated {
            total += drainPass(rings: rings, from: start, into: out + total, max: max - total, share: max,
                               saturated: &saturated)
        }
        if total > 0 {  // the consumer is its only writer: no read-modify-write needed
            let consumed = counters.pointee.consumed.load(ordering: .relaxed)
            counters.pointee.consumed.store(consumed + UInt64(total), ordering: .relaxed)
        }
        return total
    }

    /// One pass over the rings taking at most `share` from each; `saturated` tells whether some
    /// ring gave its whole share (and may hold more).
    private func drainPass(rings: Int, from start: Int, into out: UnsafeMutablePointer<Event>, max: Int,
                           share: Int, saturated: inout Bool) -> Int {
        let turns = rings + 1
        var total = 0
        var k = 0
        while k < turns, total < max {
            var index = start + k
            if index >= turns { index -= turns }
            let take = Swift.min(max - total, share)
            var n = 0
            if index == rings {
                n = shared.dequeue(max: take, into: out + total)
            } else if let r = table[index].load(ordering: .acquiring) {
                n = r.pointee.dequeue(max: take, into: out + total)
                if r.pointee.ownership.load(ordering: .acquiring) == RingOwnership.closing.rawValue,
                   r.pointee.depth == 0 {
                    // Its producer is gone and everything it published was consumed: free it.
                    r.pointee.gate.pointee.resumeAll()
                    r.pointee.ownership.store(RingOwnership.free.rawValue, ordering: .releasing)
                }
            }
            total += n
            saturated = saturated || n == take
            k += 1
        }
        return total
    }

    /// After draining: resumes producers of every ring that is at or below its low watermark.
    func releaseDrained() {
        shared.gate.pointee.releaseIfDrained { shared.depth }
        forEachRing { r in r.pointee.gate.pointee.releaseIfDrained { r.pointee.depth } }
    }

    /// Whether any ring of the lane holds an event; sequentially consistent, for parking.
    var hasReadyEvent: Bool {
        if shared.hasReadyEvent { return true }
        for i in 0..<ringCount.load(ordering: .sequentiallyConsistent) {
            if let r = table[i].load(ordering: .sequentiallyConsistent), r.pointee.hasReadyEvent { return true }
        }
        return false
    }

    // MARK: statistics

    func statistics() -> LaneStatistics {
        var depth = shared.depth
        var capacity = shared.capacity
        var published = UInt64(shared.enqueued)
        var producers = 0
        var paused = shared.gate.pointee.shouldPause(depth: shared.depth)
        forEachRing { r in
            published += UInt64(r.pointee.published)  // free rings too: what their past owners published
            let ownership = r.pointee.ownership.load(ordering: .relaxed)
            guard ownership != RingOwnership.free.rawValue else { return }
            if ownership == RingOwnership.owned.rawValue { producers += 1 }
            depth += r.pointee.depth
            capacity += r.pointee.capacity
            paused = paused || r.pointee.gate.pointee.isPaused
        }
        return LaneStatistics(lane: lane, depth: depth, capacity: capacity, published: published,
                              consumed: counters.pointee.consumed.load(ordering: .relaxed),
                              shed: counters.pointee.shedTotal.load(ordering: .relaxed),
                              stalls: counters.pointee.stallTotal.load(ordering: .relaxed),
                              aboveHighWatermark: paused, producers: producers)
    }
}
