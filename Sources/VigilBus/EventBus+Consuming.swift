import CVigilBarrier
import Synchronization
import VigilCore

extension EventBus {
    // MARK: consuming (one consumer at a time)

    /// Moves up to `buffer.count` events of one lane into `buffer` without copying through an
    /// array; returns how many (the hot consumer's call). Visits the lane's shared ring and every
    /// producer's ring round-robin, so no producer starves another.
    public func drain(_ lane: Lane, into buffer: UnsafeMutableBufferPointer<Event>) -> Int {
        guard let base = buffer.baseAddress else { return 0 }
        let l = lanes + Int(lane.rawValue)
        let n = l.pointee.drain(into: base, max: buffer.count)
        if n > 0 { l.pointee.releaseDrained() }
        return n
    }

    /// Moves up to `max` events of one lane onto the end of `out`; returns how many.
    public func drain(_ lane: Lane, into out: inout [Event], max: Int) -> Int {
        var total = 0
        withUnsafeTemporaryAllocation(of: Event.self, capacity: Swift.min(Swift.max(max, 1), 1024)) { buffer in
            while total < max {
                let chunk = UnsafeMutableBufferPointer(rebasing: buffer[0..<Swift.min(max - total, buffer.count)])
                let n = drain(lane, into: chunk)
                if n == 0 { break }
                out.append(contentsOf: chunk[0..<n])
                total += n
            }
        }
        return total
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

    /// Drains every lane in priority order into `buffer`; returns how many.
    public func drainAll(into buffer: UnsafeMutableBufferPointer<Event>) -> Int {
        var total = 0
        for lane in Lane.allCases where total < buffer.count {
            total += drain(lane, into: UnsafeMutableBufferPointer(rebasing: buffer[total...]))
        }
        return total
    }

    /// Suspends the consumer until an event is published (returns at once if one is waiting, or
    /// if ``interruptConsumer()`` was called since the last wait).
    ///
    /// The consumer stores its continuation, announces `parked` (sequentially consistent), then
    /// looks at every ring once more; a producer publishes, then reads the state. Each side orders
    /// its store before its load, so either the consumer sees the new events, or the producer sees
    /// it parked. The producer, on the hot path, only keeps the compiler from reordering the two;
    /// the consumer, parking rarely, issues membarrier(2) between its store and its look, which
    /// puts a full barrier on every running thread (the asymmetric Dekker handshake of liburcu and
    /// folly). Where membarrier is unavailable, producers fence instead.
    public func waitForEvents() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            if consumerState.compareExchange(expected: ConsumerState.interrupted.rawValue,
                                             desired: ConsumerState.running.rawValue,
                                             ordering: .acquiringAndReleasing).exchanged {
                return c.resume()
            }
            parkedConsumer.pointee = c
            let (parked, _) = consumerState.compareExchange(
                expected: ConsumerState.running.rawValue, desired: ConsumerState.parked.rawValue,
                ordering: .sequentiallyConsistent)
            guard parked else {  // interrupted in between
                parkedConsumer.pointee = nil
                consumerState.store(ConsumerState.running.rawValue, ordering: .relaxed)
                return c.resume()
            }
            // A failed membarrier orders nothing: then do not sleep at all.
            if asymmetricBarriers, vigil_heavy_barrier() != 0 { return wakeParkedConsumer() }
            if hasReadyEvent { wakeParkedConsumer() }
        }
    }

    /// Wakes the consumer without an event, e.g. so it notices cancellation at shutdown. Sticky:
    /// if the consumer is not parked, its next ``waitForEvents()`` returns at once.
    public func interruptConsumer() {
        while true {
            let state = consumerState.load(ordering: .acquiring)
            if state == ConsumerState.parked.rawValue {
                wakeParkedConsumer()
                return
            }
            if state == ConsumerState.interrupted.rawValue { return }
            if consumerState.compareExchange(expected: state, desired: ConsumerState.interrupted.rawValue,
                                             ordering: .acquiringAndReleasing).exchanged { return }
        }
    }

    /// Whether any lane holds an event.
    var hasReadyEvent: Bool {
        for i in 0..<Lane.allCases.count where lanes[i].hasReadyEvent { return true }
        return false
    }

    // MARK: statistics

    /// Depth, capacity and counters of every lane, in lane order.
    public func statistics() -> [LaneStatistics] {
        Lane.allCases.map { lanes[Int($0.rawValue)].statistics() }
    }

    /// Shed telemetry per source symbol, for sources that shed at least one event.
    public func shedBySourceSymbol() -> [(source: Symbol, shed: UInt64)] { shedBySource.pointee.snapshot() }

    /// Shed events not attributed to a source (only when more than 4096 distinct sources shed).
    public var unattributedShed: UInt64 { shedBySource.pointee.unattributed }
}
