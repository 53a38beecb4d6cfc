import Synchronization
import VigilCore

/// One ring slot: an ``Event`` as five atomic words, the last of which also says which position
/// the cell holds.
///
/// An `Event` is 34 bytes in a 40-byte stride; the six bytes of padding after its `kind` and
/// `lane` carry a 48-bit tag, `position + 1`, written last with release ordering. So a cell is
/// exactly one 40-byte event (no separate sequence word to move between cores). The consumer
/// does not poll the tags: it acquires the producer's tail once per drain and copies the whole
/// range below it (the tail's release covers every cell written before it), which measured 1.8×
/// faster at one producer than checking each cell's tag right behind the producer. The tag
/// still says which position a cell holds (48 bits wrap after 2^48 events, harmlessly: a stale
/// tag is always `capacity` behind, never equal).
///
/// A telemetry producer may shed its oldest events and refill their cells while the consumer is
/// copying them out (the consumer then discards the copy: its claim fails). Relaxed atomic words
/// make that overlap well defined (and visible to ThreadSanitizer as such); on x86-64 and arm64 a
/// relaxed word load or store is a plain move, so this costs nothing.
struct EventCell: ~Copyable {
    private let w0 = Atomic<UInt64>(0), w1 = Atomic<UInt64>(0), w2 = Atomic<UInt64>(0), w3 = Atomic<UInt64>(0)
    /// Bytes 32..<40: the event's last two bytes, then the position tag.
    private let w4 = Atomic<UInt64>(0)

    typealias Words = (UInt64, UInt64, UInt64, UInt64, UInt64)
    /// The event's own bits in `w4`; the rest is the tag.
    static let eventBitsOfLastWord: UInt64 = 0xFFFF
    /// Bytes of an `Event` that are not padding: the tag needs the last six of the 40.
    static let eventBytes = 34

    @inline(__always)
    static func tag(_ position: Int) -> UInt64 { UInt64(truncatingIfNeeded: position &+ 1) << 16 }

    /// Writes the event of `position` and then publishes it (release).
    @inline(__always)
    func store(_ event: Event, position: Int) {
        var w: Words = (0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &w) { $0.storeBytes(of: event, as: Event.self) }
        w0.store(w.0, ordering: .relaxed)
        w1.store(w.1, ordering: .relaxed)
        w2.store(w.2, ordering: .relaxed)
        w3.store(w.3, ordering: .relaxed)
        w4.store(w.4 & Self.eventBitsOfLastWord | Self.tag(position), ordering: .releasing)
    }

    /// The event, whatever position it holds (the consumer, below a tail it acquired; the
    /// producer reading back its own cells).
    @inline(__always)
    func load() -> Event {
        let w: Words = (w0.load(ordering: .relaxed), w1.load(ordering: .relaxed), w2.load(ordering: .relaxed),
                        w3.load(ordering: .relaxed), w4.load(ordering: .relaxed) & Self.eventBitsOfLastWord)
        return withUnsafeBytes(of: w) { $0.load(as: Event.self) }
    }
}

/// The producer's end of a ``ProducerRing``: written only by the owning producer.
struct ProducerEnd: ~Copyable {
    /// Positions below `tail` hold published events.
    let tail = Atomic<Int>(0)
    /// The last `head` the producer read; stale-low, so free space is never overestimated.
    var cachedHead = 0
    private let padding: (Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int) =
        (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
}

/// The consumer's end of a ``ProducerRing``.
struct ConsumerEnd: ~Copyable {
    /// Positions below `head` were consumed or shed. The consumer advances it, and so does the
    /// producer when it sheds (telemetry), both by compare-and-swap.
    let head = Atomic<Int>(0)
    /// How many events the consumer copies before claiming them; shrinks while a shedding
    /// producer keeps winning the race for the oldest events, so the consumer still progresses.
    var claimLimit = Int.max
    private let padding: (Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int) =
        (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
}

/// Who holds a ``ProducerRing``.
enum RingOwnership: Int {
    /// Empty and unowned: a new producer may take it.
    case free = 0
    /// Owned by a live ``BusProducer``.
    case owned = 1
    /// Its producer closed; the consumer drains what is left, then frees it.
    case closing = 2
}

/// A bounded single-producer ring: one per registered producer and lane, drained by the lane's
/// consumer. The producer publishes with plain stores and never contends with other producers;
/// the consumer claims a batch with one uncontended compare-and-swap.
///
/// Lives at a fixed address for the life of its bus (rings are reused, never freed early), so
/// the consumer and statistics readers hold plain pointers and touch no reference counts.
struct ProducerRing: ~Copyable {
    let capacity: Int
    private let mask: Int
    private let cells: UnsafeMutablePointer<EventCell>
    private let producer: UnsafeMutablePointer<ProducerEnd>
    private let consumer: UnsafeMutablePointer<ConsumerEnd>
    let gate: UnsafeMutablePointer<BackpressureGate>
    /// A ``RingOwnership`` raw value.
    let ownership = Atomic<Int>(RingOwnership.owned.rawValue)

    /// `capacity` is rounded up to a power of two (at least 2); `high`/`low` are watermark fractions.
    init(capacity requested: Int, high: Double, low: Double) {
        // A build invariant, checked by the bus tests too: the position tag lives in Event's padding.
        precondition(MemoryLayout<Event>.size <= EventCell.eventBytes && MemoryLayout<Event>.alignment <= 8,
                     "Event outgrew the 34 bytes a ring cell leaves it")
        var c = 2
        while c < requested { c <<= 1 }
        capacity = c
        mask = c - 1
        cells = UnsafeMutableRawPointer.allocate(byteCount: c * MemoryLayout<EventCell>.stride, alignment: 128)
            .bindMemory(to: EventCell.self, capacity: c)
        for i in 0..<c { (cells + i).initialize(to: EventCell()) }
        producer = UnsafeMutableRawPointer.allocate(byteCount: 128, alignment: 128)
            .bindMemory(to: ProducerEnd.self, capacity: 1)
        producer.initialize(to: ProducerEnd())
        consumer = UnsafeMutableRawPointer.allocate(byteCount: 128, alignment: 128)
            .bindMemory(to: ConsumerEnd.self, capacity: 1)
        consumer.initialize(to: ConsumerEnd())
        gate = BackpressureGate.allocate(capacity: c, high: high, low: low)
    }

    deinit {
        cells.deinitialize(count: capacity)
        UnsafeMutableRawPointer(cells).deallocate()
        producer.deinitialize(count: 1)
        UnsafeMutableRawPointer(producer).deallocate()
        consumer.deinitialize(count: 1)
        UnsafeMutableRawPointer(consumer).deallocate()
        BackpressureGate.deallocate(gate)
    }

    /// Events waiting (a momentary estimate from any thread).
    var depth: Int {
        let t = producer.pointee.tail.load(ordering: .relaxed)
        return max(0, t - consumer.pointee.head.load(ordering: .relaxed))
    }

    /// Events ever published into this ring.
    var published: Int { producer.pointee.tail.load(ordering: .relaxed) }

    /// The producer's estimate of its depth: exact or high, and costs no cache-line transfer
    /// unless it reaches the high watermark, when it is refreshed from the consumer's end.
    func producerDepth() -> Int {
        let t = producer.pointee.tail.load(ordering: .relaxed)
        if t - producer.pointee.cachedHead >= gate.pointee.high {
            producer.pointee.cachedHead = consumer.pointee.head.load(ordering: .acquiring)
        }
        return t - producer.pointee.cachedHead
    }

    // MARK: producer side (the owning producer only)

    /// Publishes up to `events.count` events in order; returns how many fit.
    ///
    /// One release store of the tail publishes them all; the caller then checks whether the
    /// consumer parked (``EventBus/wakeConsumerAfterPublish()``). The consumer reads the tail once
    /// per drain, so its line moves between cores once per batch, not once per event.
    func enqueue(_ events: UnsafeBufferPointer<Event>) -> Int {
        guard let base = events.baseAddress else { return 0 }
        let t = producer.pointee.tail.load(ordering: .relaxed)
        var free = capacity - (t - producer.pointee.cachedHead)
        if free < events.count {
            producer.pointee.cachedHead = consumer.pointee.head.load(ordering: .acquiring)
            free = capacity - (t - producer.pointee.cachedHead)
        }
        let n = min(free, events.count)
        guard n > 0 else { return 0 }
        for i in 0..<n { cells[(t &+ i) & mask].store(base[i], position: t &+ i) }
        producer.pointee.tail.store(t &+ n, ordering: .releasing)
        return n
    }

    /// Publishes one event if it fits: ``enqueue(_:)`` for a single event, without the loop.
    @inline(__always)
    func enqueueOne(_ event: Event) -> Bool {
        let t = producer.pointee.tail.load(ordering: .relaxed)
        if t &- producer.pointee.cachedHead >= capacity {
            producer.pointee.cachedHead = consumer.pointee.head.load(ordering: .acquiring)
            if t &- producer.pointee.cachedHead >= capacity { return false }
        }
        cells[t & mask].store(event, position: t)
        producer.pointee.tail.store(t &+ 1, ordering: .releasing)
        return true
    }

    /// Whether `count` more events fit (reading the consumer's position only when the cached one
    /// says they might not).
    func hasRoom(for count: Int) -> Bool {
        let t = producer.pointee.tail.load(ordering: .relaxed)
        if capacity - (t - producer.pointee.cachedHead) >= count { return true }
        producer.pointee.cachedHead = consumer.pointee.head.load(ordering: .acquiring)
        return capacity - (t - producer.pointee.cachedHead) >= count
    }

    /// Telemetry only: drops the oldest events until `room` slots are free, counting each dropped
    /// event for its source; returns how many were dropped. `room` must not exceed `capacity`.
    func shedOldest(toFit room: Int, counters: UnsafeMutablePointer<ShedCounters>) -> Int {
        let t = producer.pointee.tail.load(ordering: .relaxed)
        var dropped = 0
        var h = consumer.pointee.head.load(ordering: .acquiring)
        while capacity - (t - h) < room {
            let d = min(room - (capacity - (t - h)), t - h)
            let (won, current) = consumer.pointee.head.compareExchange(
                expected: h, desired: h + d, successOrdering: .acquiringAndReleasing, failureOrdering: .acquiring)
            guard won else { h = current; continue }
            // Only this producer writes the cells, and it has not refilled these yet: safe to read.
            var run = cells[h & mask].load().source
            var runLength = 0
            for p in h..<(h + d) {
                let s = cells[p & mask].load().source
                if s != run {
                    counters.pointee.add(source: run, count: runLength)
                    run = s
                    runLength = 0
                }
                runLength += 1
            }
            counters.pointee.add(source: run, count: runLength)
            dropped += d
            h += d
        }
        producer.pointee.cachedHead = h
        return dropped
    }

    // MARK: consumer side (the lane's single consumer)

    /// Moves up to `max` events in order into `out`; returns how many.
    ///
    /// The claim is sequentially consistent: with a pausing producer's fence, it makes sure that
    /// either the producer sees the drained depth or the consumer sees its pause flag afterwards.
    func dequeue(max: Int, into out: UnsafeMutablePointer<Event>) -> Int {
        guard max > 0 else { return 0 }
        var h = consumer.pointee.head.load(ordering: .relaxed)
        while true {
            // One acquire of the producer's tail covers every cell below it: copy the range.
            let t = producer.pointee.tail.load(ordering: .acquiring)
            let n = Swift.max(0, Swift.min(max, consumer.pointee.claimLimit, t &- h))
            for i in 0..<n { out[i] = cells[(h &+ i) & mask].load() }
            if n == 0 {
                // Empty, unless the producer shed past `h` (and may have refilled its cell).
                let current = consumer.pointee.head.load(ordering: .relaxed)
                if current == h { return 0 }
                h = current
                continue
            }
            // Release orders the copies above before the claim: once the producer sees the new
            // head it may refill these cells.
            let (won, current) = consumer.pointee.head.compareExchange(
                expected: h, desired: h &+ n, successOrdering: .sequentiallyConsistent, failureOrdering: .relaxed)
            if won {
                if consumer.pointee.claimLimit != .max { consumer.pointee.claimLimit = .max }
                return n
            }
            // The producer shed some of these while we copied: the copy may be torn, drop it.
            consumer.pointee.claimLimit = Swift.max(1, n / 4)
            h = current
        }
    }

    /// Whether an event is waiting; sequentially consistent for the consumer's parking handshake.
    var hasReadyEvent: Bool {
        producer.pointee.tail.load(ordering: .sequentiallyConsistent) > consumer.pointee.head.load(ordering: .relaxed)
    }

    /// Called by a new owner: forget the previous owner's view of the consumer's position.
    func adopt() {
        producer.pointee.cachedHead = consumer.pointee.head.load(ordering: .acquiring)
    }
}
