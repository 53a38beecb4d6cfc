import Foundation
import Synchronization
import Testing
import VigilBus
import VigilCore

/// An event that carries its producer and its sequence number in every one of its words, so a
/// torn copy (words of two different events) is caught by ``isIntact``: the sequence is in
/// `time` and `value`, the producer in `source` and `unit`, and both in `labels`.
func tagged(_ producer: Int, _ seq: Int, lane: Lane) -> Event {
    Event(kind: lane == .telemetry ? .metric : .signal, lane: lane, name: Symbol(id: 1), value: Double(seq),
          unit: Symbol(id: UInt32(producer + 100)), source: Symbol(id: UInt32(producer + 1)),
          labels: LabelSetID(id: UInt32(truncatingIfNeeded: seq &* 31 &+ producer)),
          time: Timestamp(nanoseconds: Int64(seq)))
}

extension Event {
    var producer: Int { Int(source.id) - 1 }
    var seq: Int { Int(value) }

    /// Whether every word still belongs to the event ``tagged(_:_:lane:)`` made.
    var isIntact: Bool {
        let p = producer, s = seq
        return p >= 0 && name == Symbol(id: 1) && time.nanoseconds == Int64(s) && unit.id == UInt32(p + 100)
            && labels.id == UInt32(truncatingIfNeeded: s &* 31 &+ p)
    }
}

/// Runs `body` on `count` OS threads at once and waits for all of them (threads, not tasks, so
/// producers really run in parallel with the consumer whatever the cooperative pool is doing).
func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    for i in 0..<count {
        group.enter()
        Thread {
            body(i)
            group.leave()
        }.start()
    }
    group.wait()
}

/// What a consumer received, checked for per-producer FIFO, duplicates and torn events.
struct Delivery {
    /// Events received per producer.
    var count: [Int]
    /// Events that were out of order or repeated (sequence not above the producer's last).
    var disorder = 0
    /// Events whose words do not belong together.
    var torn = 0
    var total: Int { count.reduce(0, +) }

    init(_ events: [Event], producers: Int) {
        count = Array(repeating: 0, count: producers)
        var last = Array(repeating: -1, count: producers)
        for e in events {
            guard e.isIntact, (0..<producers).contains(e.producer) else {
                torn += 1
                continue
            }
            if e.seq <= last[e.producer] { disorder += 1 }
            last[e.producer] = e.seq
            count[e.producer] += 1
        }
    }
}

/// A thread-safe event sink for consumers running on their own thread.
final class Collected: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [Event] = []
    func append(_ e: some Collection<Event>) { lock.withLock { events.append(contentsOf: e) } }
    var all: [Event] { lock.withLock { events } }
}

/// A flag one thread raises for another.
final class Flag: Sendable {
    private let value = Atomic<Bool>(false)
    func raise() { value.store(true, ordering: .releasing) }
    /// Raises the flag; true for the one caller that raised it first.
    func raiseFirst() -> Bool { !value.exchange(true, ordering: .acquiringAndReleasing) }
    var isRaised: Bool { value.load(ordering: .acquiring) }
}

/// Consumes one lane on a dedicated thread until `expected` events arrived or, when `expected`
/// is nil, until `stop` is raised and the lane is empty; the consumer reads `stop` before its
/// last drain, so nothing published before `stop` was raised is missed.
func startConsumer(_ bus: EventBus, lane: Lane, expected: Int? = nil, stop: Flag? = nil,
                   into received: Collected) -> DispatchSemaphore {
    let done = DispatchSemaphore(value: 0)
    Thread {
        let buffer = UnsafeMutableBufferPointer<Event>.allocate(capacity: 256)
        defer { buffer.deallocate() }
        var count = 0
        while true {
            let stopping = stop?.isRaised ?? false
            let n = bus.drain(lane, into: buffer)
            if n > 0 {
                received.append(buffer[0..<n])
                count += n
            }
            if let expected, count >= expected { break }
            if expected == nil, stopping, n == 0 { break }
        }
        done.signal()
    }.start()
    return done
}

/// Bounded wait for a background consumer: a hang (a lost wakeup) fails the test instead of
/// blocking the run forever.
func finished(_ done: DispatchSemaphore, _ what: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) -> Bool {
    let ok = done.wait(timeout: .now() + .seconds(300)) == .success
    #expect(ok, "\(what) did not finish: lost wakeup or lost events", sourceLocation: sourceLocation)
    return ok
}

func stats(_ bus: EventBus, _ lane: Lane) -> LaneStatistics? {
    bus.statistics().first { $0.lane == lane }
}

/// Runs `work`, failing the test if it has not finished within `limit`: a hang means a lost
/// wakeup. (The clock here only bounds a failure; no result depends on timing.)
func withHangGuard<T: Sendable>(_ what: String, limit: Duration = .seconds(300),
                                sourceLocation: Testing.SourceLocation = #_sourceLocation,
                                _ work: @escaping @Sendable () async -> T) async -> T? {
    let settled = Flag()
    let result: T? = await withCheckedContinuation { (c: CheckedContinuation<T?, Never>) in
        let watchdog = Task {
            try? await Task.sleep(for: limit)
            if settled.raiseFirst() { c.resume(returning: nil) }
        }
        Task {
            let r = await work()
            if settled.raiseFirst() {
                watchdog.cancel()
                c.resume(returning: r)
            }
        }
    }
    #expect(result != nil, "\(what) did not finish: lost wakeup", sourceLocation: sourceLocation)
    return result
}

/// Whether this kernel offers private expedited membarrier (Linux 4.14 and later), read from
/// uname independently of the bus.
let kernelHasPrivateExpeditedMembarrier: Bool = {
    var u = utsname()
    uname(&u)
    let release = withUnsafeBytes(of: &u.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    let parts = release.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
    guard parts.count == 2 else { return false }
    return parts[0] > 4 || (parts[0] == 4 && parts[1] >= 14)
}()
