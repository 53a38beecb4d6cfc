import Foundation
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

/// A registered producer offering one event per call.
func vigilSingle(producers: Int) -> Double {
    best {
        let bus = benchmarkBus()
        return measure(producers: producers, produce: { p, count in
            let producer = bus.makeProducer()
            for i in 0..<count {
                let e = event(i, p)
                while producer.offer(e).accepted == 0 { sched_yield() }
            }
        }, consume: { n in consumeVigil(bus, n) })
    }
}
