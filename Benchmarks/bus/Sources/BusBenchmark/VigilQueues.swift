import Foundation
import Synchronization
import VigilBus
import VigilCore

func benchmarkBus() -> EventBus {
    EventBus(configuration: .init(capacity: [.incident: sharedCapacity], producerCapacity: [.incident: producerCapacity],
                                  highWatermark: 0.99, lowWatermark: 0.5))
}

/// Drains `n` events from the incident lane, summing their values.
@Sendable func consumeVigil(_ bus: EventBus, _ n: Int) {
    let out = UnsafeMutableBufferPointer<Event>.allocate(capacity: consumerBatch)
    defer { out.deallocate() }
    var got = 0
    var checksum = 0.0
    while got < n {
        let k = bus.drain(.incident, into: out)
        for j in 0..<k { checksum += out[j].value }
        got += k
    }
    if checksum < 0 { print(checksum) }
}

/// The daemon's fast path: each producer registered with a ring of its own, publishing batches.
func vigilProducers(producers: Int) -> Double {
    best {
        let bus = benchmarkBus()
        return measure(producers: producers, produce: { p, count in
            let producer = bus.makeProducer()
            let buf = UnsafeMutableBufferPointer<Event>.allocate(capacity: batch)
            defer { buf.deallocate() }
            var i = 0
            while i < count {
                let k = min(batch, count - i)
                fill(buf, from: i, count: k, producer: p)
                var sent = 0
                while sent < k {
                    let n = producer.offer(UnsafeBufferPointer(rebasing: buf[sent..<k]), lane: .incident).accepted
                    if n == 0 { sched_yield() }
                    sent += n
                }
                i += k
            }
        }, consume: { n in consumeVigil(bus, n) })
    }
}

/// Unregistered producers sharing the lane's Vyukov ring, publishing batches (one CAS each).
func vigilShared(producers: Int) -> Double {
    best {
        let bus = benchmarkBus()
        return measure(producers: producers, produce: { p, count in
            let buf = UnsafeMutableBufferPointer<Event>.allocate(capacity: batch)
            defer { buf.deallocate() }
            var i = 0
            while i < count {
                let k = min(batch, count - i)
                fill(buf, from: i, count: k, producer: p)
                var sent = 0
                while sent < k {
                    let n = bus.offer(UnsafeBufferPointer(rebasing: buf[sent..<k]), lane: .incident).accepted
                    if n == 0 { sched_yield() }
                    sent += n
                }
                i += k
            }
        }, consume: { n in consumeVigil(bus, n) })
    }
}

/// A registered producer offering one event per call (its ring; the consumer drains in batches).
func vigilSingle(producers: Int) -> Double {
    best {
        let bus = benchmarkBus()
        return measure(producers: producers, events: singleTotal, produce: { p, count in
            let producer = bus.makeProducer()
            for i in 0..<count {
                let e = event(i, p)
                while producer.offer(e).accepted == 0 { sched_yield() }
            }
        }, consume: { n in consumeVigil(bus, n) })
    }
}

/// For reference, not a contender: the plainest single-producer ring in Swift (a 40-byte struct
/// per slot, release/acquire head and tail, cached indices; no lanes, no backpressure, no
/// parking, no shedding), one event per call. What this run's machine allows a per-event ring.
final class BareRing: @unchecked Sendable {
    let capacity: Int
    let slots: UnsafeMutablePointer<Event>
    let tail = UnsafeMutablePointer<Atomic<Int>>.allocate(capacity: 16)  // own cache lines
    let head = UnsafeMutablePointer<Atomic<Int>>.allocate(capacity: 16)
    init(capacity: Int) {
        self.capacity = capacity
        slots = .allocate(capacity: capacity)
        tail.initialize(to: Atomic(0))
        head.initialize(to: Atomic(0))
    }
    deinit {
        slots.deallocate()
        tail.deallocate()
        head.deallocate()
    }
}

func bareRing() -> Double {
    best {
        let q = BareRing(capacity: producerCapacity)
        let mask = q.capacity - 1
        return measure(producers: 1, events: singleTotal, produce: { p, count in
            var cachedHead = 0
            for i in 0..<count {
                while i - cachedHead >= q.capacity {
                    cachedHead = q.head.pointee.load(ordering: .acquiring)
                    if i - cachedHead >= q.capacity { sched_yield() }
                }
                q.slots[i & mask] = event(i, p)
                q.tail.pointee.store(i + 1, ordering: .releasing)
            }
        }, consume: { n in
            let out = UnsafeMutableBufferPointer<Event>.allocate(capacity: consumerBatch)
            defer { out.deallocate() }
            var h = 0
            var checksum = 0.0
            while h < n {
                let k = min(consumerBatch, q.tail.pointee.load(ordering: .acquiring) - h)
                for j in 0..<k { out[j] = q.slots[(h + j) & mask] }
                for j in 0..<k { checksum += out[j].value }
                h += k
                if k > 0 { q.head.pointee.store(h, ordering: .releasing) }
            }
            if checksum < 0 { print(checksum) }
        })
    }
}
