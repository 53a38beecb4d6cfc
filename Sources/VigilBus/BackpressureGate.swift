import Synchronization

/// Someone waiting for a ring to drain to its low watermark.
enum BackpressureWaiter {
    /// A suspended async producer.
    case task(CheckedContinuation<Void, Never>)
    /// A socket reader's "resume reading" callback.
    case callback(@Sendable () -> Void)

    func resume() {
        switch self {
        case .task(let c): c.resume()
        case .callback(let f): f()
        }
    }
}

/// One parked waiter in a gate's list.
struct WaiterNode {
    let waiter: BackpressureWaiter
    var next: UnsafeMutablePointer<WaiterNode>?
}

/// A ring's watermarks and the producers paused by them.
///
/// The flag is set when a producer sees the depth reach `high` and cleared by the consumer once
/// it has drained the ring to `low`, at which point every parked waiter is resumed. The flag and
/// the ring's positions form a Dekker handshake (each side writes its own, then reads the
/// other's, with sequentially consistent operations in between), so a producer never stays
/// parked on a ring the consumer has just finished draining.
///
/// Waiters are kept in a lock-free list: parking pushes with a compare-and-swap, releasing takes
/// the whole list with one exchange (so there is no ABA). No lock at all, which also keeps every
/// hand-off visible to ThreadSanitizer. Nodes are allocated only when a producer parks.
struct BackpressureGate: ~Copyable {
    /// Depth at or above which producers are told to pause.
    let high: Int
    /// Depth at or below which paused producers resume.
    let low: Int
    let paused = Atomic<Bool>(false)
    private let waiters = Atomic<UnsafeMutablePointer<WaiterNode>?>(nil)

    /// A gate on its own cache lines for a ring of `capacity`, watermarks given as fractions.
    static func allocate(capacity: Int, high: Double, low: Double) -> UnsafeMutablePointer<BackpressureGate> {
        let h = min(capacity, max(1, Int(Double(capacity) * high)))
        let l = min(h - 1, max(0, Int(Double(capacity) * low)))
        let gate = UnsafeMutableRawPointer.allocate(byteCount: max(128, MemoryLayout<BackpressureGate>.stride),
                                                    alignment: 128).bindMemory(to: BackpressureGate.self, capacity: 1)
        gate.initialize(to: BackpressureGate(high: h, low: l))
        return gate
    }

    static func deallocate(_ gate: UnsafeMutablePointer<BackpressureGate>) {
        gate.pointee.resumeAll()  // nobody may stay suspended on a ring that goes away
        gate.deinitialize(count: 1)
        UnsafeMutableRawPointer(gate).deallocate()
    }

    private init(high: Int, low: Int) {
        self.high = high
        self.low = low
    }

    var isPaused: Bool { paused.load(ordering: .relaxed) }

    /// Marks the ring paused if `depth` reached the high watermark.
    func mark(depth: Int) {
        if depth >= high, !paused.load(ordering: .relaxed) { paused.store(true, ordering: .relaxed) }
    }

    /// Whether a producer should hold back now.
    func shouldPause(depth: Int) -> Bool { paused.load(ordering: .relaxed) || depth >= high }

    /// Parks `waiter` until the consumer drains the ring to `low`, or resumes it at once when the
    /// ring is not above `high`, or has drained already.
    ///
    /// The waiter is listed first, then the pause announced, then the depth read: if the consumer
    /// took the list before our node was in it, its release made the drained depth visible to us
    /// (the exchange synchronises with our push), and if it missed our flag, the Dekker handshake
    /// shows us the drained depth. Either way someone resumes us.
    func park(_ waiter: BackpressureWaiter, depth: () -> Int) {
        if !paused.load(ordering: .sequentiallyConsistent), depth() < high { return waiter.resume() }
        let node = UnsafeMutablePointer<WaiterNode>.allocate(capacity: 1)
        node.initialize(to: WaiterNode(waiter: waiter, next: nil))
        var head = waiters.load(ordering: .relaxed)
        while true {
            node.pointee.next = head
            let (pushed, current) = waiters.compareExchange(
                expected: head, desired: node, successOrdering: .acquiringAndReleasing, failureOrdering: .relaxed)
            if pushed { break }
            head = current
        }
        paused.store(true, ordering: .sequentiallyConsistent)
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        if depth() <= low { resumeAll() }
    }

    /// Suspends the calling task as ``park(_:depth:)`` describes.
    func wait(depth: () -> Int) async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in park(.task(c), depth: depth) }
    }

    /// The consumer's call after draining: resumes every waiter once the ring is at or below `low`.
    ///
    /// The consumer's claims are sequentially consistent compare-and-swaps and this load is
    /// sequentially consistent too; a pausing producer stores its flag, fences, then reads the
    /// depth. So if this load misses the flag, that producer's read sees the drained depth.
    func releaseIfDrained(depth: () -> Int) {
        guard paused.load(ordering: .sequentiallyConsistent), depth() <= low else { return }
        resumeAll()
    }

    /// Clears the pause, then resumes every listed waiter (also used when a ring changes owner).
    /// Clearing first matters: a producer that lists itself after the list was taken raises the
    /// flag again, so the next drain sees it.
    func resumeAll() {
        paused.store(false, ordering: .sequentiallyConsistent)
        var node = waiters.exchange(nil, ordering: .acquiringAndReleasing)
        while let n = node {
            node = n.pointee.next
            n.pointee.waiter.resume()
            n.deinitialize(count: 1)
            n.deallocate()
        }
    }
}
