import CAllocationCounter
import VigilBus
import VigilCore

/// Heap allocations and Swift retains made while `body` runs (on this thread; nothing else runs).
func counting(_ body: () -> Void) -> (allocations: UInt64, retains: UInt64) {
    let a0 = vigil_allocation_count(), r0 = vigil_retain_count()
    body()
    return (vigil_allocation_count() - a0, vigil_retain_count() - r0)
}

final class Probe {}

/// Proves the counters count: a loop that must allocate and retain is seen doing so.
func countersWork() -> (allocations: Bool, retains: Bool) {
    let probe = Probe()
    var keep: [[Int]] = []
    keep.reserveCapacity(100)
    let seen = counting {
        for i in 0..<100 { keep.append([i]) }
        for _ in 0..<100 { _ = Unmanaged.passUnretained(probe).retain() }
    }
    for _ in 0..<100 { Unmanaged.passUnretained(probe).release() }
    return (seen.allocations >= 100 && keep.count == 100, seen.retains >= 100)
}

/// One publishing path of the audit: publishes and drains `count` events.
struct AuditedPath {
    let name: String
    let run: (Int) -> Void
}

/// Publishes and drains events on one thread through every publishing path (a registered
/// producer's batch and single offers, the shared ring's batch and single offers, and telemetry
/// shedding on both), each after a warm-up that lets it take its rings; returns, per path, the
/// events moved and the allocations and retains counted while it ran.
func hotPathAudit(eventsPerPath: Int) -> [(name: String, events: Int, allocations: UInt64, retains: UInt64)] {
    let bus = EventBus(configuration: .init(capacity: [.incident: 4096, .telemetry: 1024],
                                            producerCapacity: [.incident: 4096, .telemetry: 1024]))
    let producer = bus.makeProducer()
    let buf = UnsafeMutableBufferPointer<Event>.allocate(capacity: batch)
    let out = UnsafeMutableBufferPointer<Event>.allocate(capacity: consumerBatch)
    defer { buf.deallocate(); out.deallocate() }
    let paths = [
        AuditedPath(name: "producer_batch") { count in
            var i = 0
            while i < count {
                fill(buf, from: i, count: batch, producer: 0)
                i += producer.offer(UnsafeBufferPointer(buf), lane: .incident).accepted
                _ = bus.drain(.incident, into: out)
            }
        },
        AuditedPath(name: "producer_single") { count in
            for j in 0..<count {
                producer.offer(event(j, 0))
                if j % 512 == 511 { _ = bus.drain(.incident, into: out) }
            }
        },
        AuditedPath(name: "shared_batch") { count in
            var i = 0
            while i < count {
                fill(buf, from: i, count: batch, producer: 1)
                i += bus.offer(UnsafeBufferPointer(buf), lane: .incident).accepted
                _ = bus.drain(.incident, into: out)
            }
        },
        AuditedPath(name: "shared_single") { count in
            for j in 0..<count {
                bus.offer(event(j, 1))
                if j % 512 == 511 { _ = bus.drain(.incident, into: out) }
            }
        },
        AuditedPath(name: "telemetry_shedding") { count in
            for j in 0..<count / 2 {
                var e = event(j, 2)
                e.lane = .telemetry
                producer.offer(e)
                bus.offer(e)
                if j % 4096 == 4095 { _ = bus.drain(.telemetry, into: out) }
            }
        },
    ]
    return paths.map { path in
        path.run(8192)
        while bus.drainAll(into: out) > 0 {}
        let seen = counting {
            path.run(eventsPerPath)
            while bus.drainAll(into: out) > 0 {}
        }
        return (path.name, eventsPerPath, seen.allocations, seen.retains)
    }
}
