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

/// A ring's watermarks and the producers paused by them.
///
/// The flag is set when a producer sees the depth reach `high` and cleared by the consumer once
/// it has drained the ring to `low`, at which point every parked waiter is resumed. The flag and
/// the ring's positions form a Dekker handshake (each side writes its own, fences, then reads the
/// other's), so a producer never parks on a ring the consumer has just finished draining.
/// The lock guards only the waiter list, which is touched on the slow path alone.
struct BackpressureGate: ~Copyable {
    /// Depth at or above which producers are told to pause.
    let high: Int
    /// Depth at or below which paused producers resume.
    let low: Int
    let paused = Atomic<Bool>(false)
    private let waiters = Mutex<[BackpressureWaiter]>([])

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
    /// ring is not above `high` or has already drained (checked under the lock, after announcing
    /// the pause, so the consumer's release cannot slip between the check and the parking).
    func park(_ waiter: BackpressureWaiter, depth: () -> Int) {
        let parked = waiters.withLock { list -> Bool in
            if !paused.load(ordering: .sequentiallyConsistent), depth() < high { return false }
            paused.store(true, ordering: .sequentiallyConsistent)
            atomicMemoryFence(ordering: .sequentiallyConsistent)
            if depth() <= low {
                paused.store(false, ordering: .sequentiallyConsistent)
                return false
            }
            list.append(waiter)
            return true
        }
        if !parked { waiter.resume() }
    }

    /// Suspends the calling task as ``park(_:depth:)`` describes.
    func wait(depth: () -> Int) async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in park(.task(c), depth: depth) }
    }

    /// The consumer's call after draining (and after a sequentially consistent fence): resumes
    /// every waiter once the ring is at or below `low`.
    func releaseIfDrained(depth: () -> Int) {
        guard paused.load(ordering: .relaxed), depth() <= low else { return }
        resumeAll()
    }

    /// Clears the pause and resumes every waiter (also used when a ring changes owner).
    func resumeAll() {
        let woken = waiters.withLock { list -> [BackpressureWaiter] in
            paused.store(false, ordering: .sequentiallyConsistent)
            var taken: [BackpressureWaiter] = []
            swap(&taken, &list)
            return taken
        }
        for w in woken { w.resume() }
    }
}
