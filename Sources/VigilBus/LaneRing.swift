import Synchronization
import VigilCore

/// One slot of a ring: the Vyukov sequence number says whose turn the slot is.
///
/// Padded to a whole 64-byte cache line so a producer filling one slot never invalidates the
/// line a consumer is reading the previous slot from.
struct RingSlot: ~Copyable {
    /// `position` when free for the producer of that position; `position + 1` when it holds
    /// that position's event for a consumer.
    let sequence: Atomic<Int>
    var event: Event
    private let padding: (Int64, Int) = (0, 0)

    init(position: Int) {
        sequence = Atomic(position)
        event = Event(kind: .metric, lane: .telemetry, name: .none, value: 0, time: Timestamp(nanoseconds: 0))
    }
}

/// An atomic position alone on its own 128-byte block (two lines, against adjacent-line prefetch).
struct PaddedPosition: ~Copyable {
    let value = Atomic<Int>(0)
    private let padding: (Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int) =
        (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
}

/// A bounded lock-free ring of `Event`s (Dmitry Vyukov's bounded MPMC queue), with batched
/// claims so a producer or consumer moving many events pays for one compare-and-swap: the lane's
/// shared ring, for producers that have no ring of their own (``BusProducer``).
///
/// Many producers may enqueue concurrently. Dequeueing is also safe from many threads, which
/// the telemetry lane relies on: a producer that finds it full dequeues (sheds) the oldest
/// event itself. Nothing here takes a lock, allocates or retains per event.
struct LaneRing: ~Copyable {
    let capacity: Int
    /// Depth is sampled when the enqueue position crosses a multiple of `sampleMask + 1`.
    let sampleMask: Int
    private let mask: Int
    private let slots: UnsafeMutablePointer<RingSlot>
    private let positions: UnsafeMutablePointer<PaddedPosition>
    let gate: UnsafeMutablePointer<BackpressureGate>

    /// `capacity` is rounded up to a power of two (at least 2); `high`/`low` are watermark fractions.
    init(capacity requested: Int, high: Double, low: Double) {
        var c = 2
        while c < requested { c <<= 1 }
        capacity = c
        mask = c - 1
        slots = UnsafeMutableRawPointer.allocate(byteCount: c * MemoryLayout<RingSlot>.stride, alignment: 128)
            .bindMemory(to: RingSlot.self, capacity: c)
        for i in 0..<c { (slots + i).initialize(to: RingSlot(position: i)) }
        positions = UnsafeMutableRawPointer.allocate(byteCount: 2 * MemoryLayout<PaddedPosition>.stride, alignment: 128)
            .bindMemory(to: PaddedPosition.self, capacity: 2)
        positions.initialize(to: PaddedPosition())
        (positions + 1).initialize(to: PaddedPosition())
        gate = BackpressureGate.allocate(capacity: c, high: high, low: low)
        // Reading the consumer's position costs a cache-line transfer, so producers sample the
        // depth every 64 events (or an eighth of the high watermark on small rings).
        var interval = 1
        while interval < 64, interval * 2 <= max(1, gate.pointee.high / 8) { interval *= 2 }
        sampleMask = interval - 1
    }

    deinit {
        BackpressureGate.deallocate(gate)
        slots.deinitialize(count: capacity)
        UnsafeMutableRawPointer(slots).deallocate()
        positions.deinitialize(count: 2)
        UnsafeMutableRawPointer(positions).deallocate()
    }

    /// Events published so far (monotonic).
    var enqueued: Int { positions[0].value.load(ordering: .relaxed) }
    /// Events taken out so far, consumed or shed (monotonic).
    var dequeued: Int { positions[1].value.load(ordering: .relaxed) }
    /// Events waiting (a momentary estimate while others publish).
    var depth: Int { max(0, enqueued - dequeued) }

    /// Enqueues up to `events.count` events in order; returns how many went in (fewer only when full).
    func enqueue(_ events: UnsafeBufferPointer<Event>) -> Int {
        guard let base = events.baseAddress, !events.isEmpty else { return 0 }
        var pos = positions[0].value.load(ordering: .relaxed)
        var claimed = 0
        while true {
            // Count the free slots from `pos`: a slot is free for position p when its sequence is p.
            claimed = 0
            var behind = false
            while claimed < events.count {
                let p = pos + claimed
                let seq = slots[p & mask].sequence.load(ordering: .acquiring)
                if seq == p { claimed += 1; continue }
                behind = seq > p
                break
            }
            if claimed == 0 {
                if behind {  // another producer moved on: reload and retry
                    pos = positions[0].value.load(ordering: .relaxed)
                    continue
                }
                return 0  // full
            }
            let (exchanged, current) = positions[0].value.compareExchange(
                expected: pos, desired: pos + claimed, successOrdering: .relaxed, failureOrdering: .relaxed)
            if exchanged { break }
            pos = current
        }
        for i in 0..<claimed {
            let p = pos + i
            slots[p & mask].event = base[i]
            slots[p & mask].sequence.store(p + 1, ordering: .releasing)
        }
        return claimed
    }

    /// Dequeues up to `max` events in order into `out`; returns how many.
    func dequeue(max: Int, into out: UnsafeMutablePointer<Event>) -> Int {
        guard max > 0 else { return 0 }
        var pos = positions[1].value.load(ordering: .relaxed)
        var claimed = 0
        while true {
            claimed = 0
            var behind = false
            while claimed < max {
                let p = pos + claimed
                let seq = slots[p & mask].sequence.load(ordering: .acquiring)
                if seq == p + 1 { claimed += 1; continue }
                behind = seq > p + 1
                break
            }
            if claimed == 0 {
                if behind {
                    pos = positions[1].value.load(ordering: .relaxed)
                    continue
                }
                return 0  // empty
            }
            // Sequentially consistent: pairs with a pausing producer's fence (BackpressureGate).
            let (exchanged, current) = positions[1].value.compareExchange(
                expected: pos, desired: pos + claimed, successOrdering: .sequentiallyConsistent, failureOrdering: .relaxed)
            if exchanged { break }
            pos = current
        }
        for i in 0..<claimed {
            let p = pos + i
            out[i] = slots[p & mask].event
            slots[p & mask].sequence.store(p + capacity, ordering: .releasing)
        }
        return claimed
    }

    /// Whether the oldest position holds a published event (used before parking the consumer).
    var hasReadyEvent: Bool {
        let pos = positions[1].value.load(ordering: .sequentiallyConsistent)
        return slots[pos & mask].sequence.load(ordering: .sequentiallyConsistent) == pos + 1
    }
}
