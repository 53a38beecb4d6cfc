import DequeModule
import Foundation
import Synchronization
import VigilCore

/// Whether a producer finding the queue full yields the CPU (the rule every queue follows) or
/// spins; `mutexDeque` and `mutexSingle` measure both and keep the better, so the baseline is never
/// handicapped by the rule.
nonisolated(unsafe) var mutexYieldsWhenFull = true

@inline(__always)
func mutexQueueFull() { if mutexYieldsWhenFull { sched_yield() } }

final class MutexQueue: Sendable {
    let state = Mutex(Deque<Event>(minimumCapacity: sharedCapacity))
}

@Sendable func consumeMutex(_ q: MutexQueue, _ n: Int) {
    let out = UnsafeMutableBufferPointer<Event>.allocate(capacity: consumerBatch)
    defer { out.deallocate() }
    var got = 0
    var checksum = 0.0
    while got < n {
        let k = q.state.withLock { d -> Int in
            let k = min(consumerBatch, d.count)
            for j in 0..<k { out[j] = d[j] }
            d.removeFirst(k)
            return k
        }
        for j in 0..<k { checksum += out[j].value }
        got += k
    }
    if checksum < 0 { print(checksum) }
}

/// A `Mutex`-guarded `Deque` (swift-collections), bounded to the shared capacity, batches of 64.
func mutexDeque(producers: Int) -> Double {
    best {
        let q = MutexQueue()
        return measure(producers: producers, produce: { p, count in
            let buf = UnsafeMutableBufferPointer<Event>.allocate(capacity: batch)
            defer { buf.deallocate() }
            var i = 0
            while i < count {
                let k = min(batch, count - i)
                fill(buf, from: i, count: k, producer: p)
                var sent = 0
                while sent < k {
                    let n = q.state.withLock { d -> Int in
                        let room = min(sharedCapacity - d.count, k - sent)
                        if room > 0 { d.append(contentsOf: buf[sent..<(sent + room)]) }
                        return max(room, 0)
                    }
                    if n == 0 { mutexQueueFull() }
                    sent += n
                }
                i += k
            }
        }, consume: { n in consumeMutex(q, n) })
    }
}

/// The same queue, one event per lock.
func mutexSingle(producers: Int) -> Double {
    best {
        let q = MutexQueue()
        return measure(producers: producers, events: singleTotal, produce: { p, count in
            for i in 0..<count {
                let e = event(i, p)
                while !q.state.withLock({ d -> Bool in
                    guard d.count < sharedCapacity else { return false }
                    d.append(e)
                    return true
                }) { mutexQueueFull() }
            }
        }, consume: { n in consumeMutex(q, n) })
    }
}
