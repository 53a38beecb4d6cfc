import DequeModule
import Foundation
import Synchronization
import VigilBus
import VigilCore

// Moves `total` 40-byte events from P producer threads to one consumer thread and reports
// events per second (best of `runs`). Every queue is bounded to the same capacity and the
// producers retry when it is full, so nothing is dropped and the figures compare like for like.

let total = Int(ProcessInfo.processInfo.environment["BUS_BENCH_EVENTS"] ?? "") ?? 20_000_000
let runs = 3
let capacity = 65_536
let batch = 64

func event(_ i: Int, _ p: Int) -> Event {
    Event(kind: .signal, lane: .incident, name: Symbol(id: 1), value: Double(i), source: Symbol(id: UInt32(p + 1)),
          time: Timestamp(nanoseconds: Int64(i)))
}

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Starts `producers` threads running `produce(p, count)` and one consumer running `consume(total)`;
/// returns events per second.
func measure(producers: Int, produce: @escaping @Sendable (Int, Int) -> Void, consume: @escaping @Sendable (Int) -> Void) -> Double {
    let perProducer = total / producers
    let n = perProducer * producers
    let start = DispatchSemaphore(value: 0)
    let group = DispatchGroup()
    for p in 0..<producers {
        group.enter()
        Thread { start.wait(); produce(p, perProducer); group.leave() }.start()
    }
    group.enter()
    Thread { start.wait(); consume(n); group.leave() }.start()
    let t0 = now()
    for _ in 0...producers { start.signal() }
    group.wait()
    return Double(n) / (now() - t0)
}

func best(_ f: () -> Double) -> Double { (0..<runs).map { _ in f() }.max() ?? 0 }

func vigil(producers: Int) -> Double {
    best {
        let bus = EventBus(configuration: .init(capacity: [.incident: capacity], highWatermark: 0.99, lowWatermark: 0.5))
        return measure(producers: producers, produce: { p, count in
            var buf = [Event](repeating: event(0, p), count: batch)
            var i = 0
            while i < count {
                let k = min(batch, count - i)
                for j in 0..<k { buf[j] = event(i + j, p) }
                var sent = 0
                buf.withUnsafeBufferPointer { b in
                    while sent < k { sent += bus.offer(UnsafeBufferPointer(rebasing: b[sent..<k]), lane: .incident).accepted }
                }
                i += k
            }
        }, consume: { n in
            let out = UnsafeMutableBufferPointer<Event>.allocate(capacity: 1024)
            defer { out.deallocate() }
            var got = 0
            var checksum = 0.0
            while got < n {
                let k = bus.drain(.incident, into: out)
                for j in 0..<k { checksum += out[j].value }
                got += k
            }
            if checksum < 0 { print(checksum) }
        })
    }
}

func vigilSingle(producers: Int) -> Double {
    best {
        let bus = EventBus(configuration: .init(capacity: [.incident: capacity], highWatermark: 0.99, lowWatermark: 0.5))
        return measure(producers: producers, produce: { p, count in
            for i in 0..<count {
                let e = event(i, p)
                while bus.offer(e).accepted == 0 {}
            }
        }, consume: { n in
            let out = UnsafeMutableBufferPointer<Event>.allocate(capacity: 1024)
            defer { out.deallocate() }
            var got = 0
            while got < n {
                let k = bus.drain(.incident, into: out)
                got += k
            }
        })
    }
}

final class MutexQueue: Sendable {
    let state = Mutex(Deque<Event>(minimumCapacity: capacity))
}

func mutexDeque(producers: Int) -> Double {
    best {
        let q = MutexQueue()
        return measure(producers: producers, produce: { p, count in
            var buf = [Event](repeating: event(0, p), count: batch)
            var i = 0
            while i < count {
                let k = min(batch, count - i)
                for j in 0..<k { buf[j] = event(i + j, p) }
                var sent = 0
                while sent < k {
                    sent += q.state.withLock { d -> Int in
                        let room = min(capacity - d.count, k - sent)
                        if room > 0 { d.append(contentsOf: buf[sent..<(sent + room)]) }
                        return max(room, 0)
                    }
                }
                i += k
            }
        }, consume: { n in
            var got = 0
            var local: [Event] = []
            local.reserveCapacity(1024)
            while got < n {
                local.removeAll(keepingCapacity: true)
                q.state.withLock { d in
                    let k = min(1024, d.count)
                    local.append(contentsOf: d.prefix(k))
                    d.removeFirst(k)
                }
                got += local.count
            }
        })
    }
}

func mutexSingle(producers: Int) -> Double {
    best {
        let q = MutexQueue()
        return measure(producers: producers, produce: { p, count in
            for i in 0..<count {
                let e = event(i, p)
                while !q.state.withLock({ d -> Bool in
                    guard d.count < capacity else { return false }
                    d.append(e)
                    return true
                }) {}
            }
        }, consume: { n in
            var got = 0
            while got < n {
                got += q.state.withLock { d -> Int in
                    let k = min(1024, d.count)
                    d.removeFirst(k)
                    return k
                }
            }
        })
    }
}

var results: [String: Double] = [:]
results["vigil_1p1c"] = vigil(producers: 1)
results["vigil_4p1c"] = vigil(producers: 4)
results["vigil_single_1p1c"] = vigilSingle(producers: 1)
results["mutex_1p1c"] = mutexDeque(producers: 1)
results["mutex_4p1c"] = mutexDeque(producers: 4)
results["mutex_single_1p1c"] = mutexSingle(producers: 1)
for key in results.keys.sorted() { print("\(key) \(Int(results[key] ?? 0))") }
