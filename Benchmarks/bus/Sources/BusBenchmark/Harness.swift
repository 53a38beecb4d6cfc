import Foundation
import VigilCore

// Moves `total` 40-byte events from P producer threads to one consumer thread and reports events
// per second (best of `runs`). Every queue is bounded; a producer whose attempt moved nothing
// yields the CPU (as a real producer would wait) and retries, so nothing is dropped and, with five
// threads on two cores, a full queue's producers do not starve its consumer. Every producer builds
// its events in batches of `batch` and every consumer takes up to 1024 at a time and reads each
// event's value, so all queues get the same chances. (moodycamel.cpp follows the same rules.)
// The bounded baselines (Mutex<Deque>, bounded moodycamel) are also measured spinning instead of
// yielding, and keep the better of the two, so the rule never handicaps them.

let total = Int(ProcessInfo.processInfo.environment["BUS_BENCH_EVENTS"] ?? "") ?? 20_000_000
/// Events moved one per call: a quarter as many (a Mutex<Deque> at 4p→1c moves under 2 M/s).
let singleTotal = max(1, total / 4)
let runs = Int(ProcessInfo.processInfo.environment["BUS_BENCH_RUNS"] ?? "") ?? 3
/// Capacity of each producer's queue (Vigil producer rings, moodycamel's per-producer blocks).
let producerCapacity = Int(ProcessInfo.processInfo.environment["BUS_BENCH_PRODUCER_CAPACITY"] ?? "") ?? 8192
/// Capacity of a shared queue (the Vigil lane's shared ring, the Mutex<Deque>).
let sharedCapacity = 65_536
let batch = 64
let consumerBatch = 1024

@inline(__always)
func event(_ i: Int, _ p: Int) -> Event {
    Event(kind: .signal, lane: .incident, name: Symbol(id: 1), value: Double(i), source: Symbol(id: UInt32(p + 1)),
          time: Timestamp(nanoseconds: Int64(i)))
}

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Starts `producers` threads running `produce(p, count)` and one consumer running `consume(n)`,
/// all released at once; returns events per second from release to the last thread's end.
func measure(producers: Int, events: Int = total, produce: @escaping @Sendable (Int, Int) -> Void,
             consume: @escaping @Sendable (Int) -> Void) -> Double {
    let perProducer = events / producers
    let n = perProducer * producers
    let start = DispatchSemaphore(value: 0)
    let ready = DispatchSemaphore(value: 0)
    let group = DispatchGroup()
    for p in 0..<producers {
        group.enter()
        Thread { ready.signal(); start.wait(); produce(p, perProducer); group.leave() }.start()
    }
    group.enter()
    Thread { ready.signal(); start.wait(); consume(n); group.leave() }.start()
    for _ in 0...producers { ready.wait() }
    let t0 = now()
    for _ in 0...producers { start.signal() }
    group.wait()
    return Double(n) / (now() - t0)
}

func best(_ f: () -> Double) -> Double { (0..<runs).map { _ in f() }.max() ?? 0 }

/// Fills `buffer` with producer `p`'s events `i..<i+k`, as every benchmark's producer does.
@inline(__always)
func fill(_ buffer: UnsafeMutableBufferPointer<Event>, from i: Int, count k: Int, producer p: Int) {
    for j in 0..<k { buffer[j] = event(i + j, p) }
}
