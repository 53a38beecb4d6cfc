import Synchronization
import VigilCore

/// `reduce_eventbus_throughput`: the bus admits one telemetry event in `keepOneIn` and sheds the
/// rest at the door, counted per source like any other shed event (and in ``throttled``).
/// Never-drop lanes are not touched. With `keepOneIn == 1` (the normal state) the cost on the
/// publish path is one relaxed atomic load per batch.
final class TelemetryAdmission: Sendable {
    let sequence = Atomic<Int>(0)
    let throttled = Atomic<UInt64>(0)
}

extension EventBus {
    /// Admits one telemetry event in `n` from now on (1 admits every event again).
    public func setTelemetryAdmission(keepOneIn n: Int) {
        admissionRatio.pointee.store(max(1, n), ordering: .relaxed)
    }

    /// One telemetry event in this many is admitted (1: all of them).
    public var telemetryAdmission: Int { admissionRatio.pointee.load(ordering: .relaxed) }

    /// Whether a telemetry batch must go through ``admitting(_:lane:_:)`` (the fast path is one
    /// relaxed load of a raw cell: no reference is touched).
    @inline(__always)
    func isThrottling(_ lane: Lane) -> Bool {
        lane == .telemetry && admissionRatio.pointee.load(ordering: .relaxed) > 1
    }

    /// Telemetry events turned away at the door by ``setTelemetryAdmission(keepOneIn:)``.
    public var throttledTelemetry: UInt64 { admission.throttled.load(ordering: .relaxed) }

    /// Runs `offer` on the admitted part of a telemetry batch; the rest is shed and counted.
    /// The slow path, taken only while throttling (see ``isThrottling(_:)``).
    @inline(never)
    func admitting(_ events: UnsafeBufferPointer<Event>, lane: Lane,
                   _ offer: (UnsafeBufferPointer<Event>) -> PublishOutcome) -> PublishOutcome {
        let n = admissionRatio.pointee.load(ordering: .relaxed)
        guard lane == .telemetry, n > 1, !events.isEmpty else { return offer(events) }
        let first = admission.sequence.wrappingAdd(events.count, ordering: .relaxed).oldValue
        return withUnsafeTemporaryAllocation(of: Event.self, capacity: events.count) { kept in
            var count = 0
            var dropped = 0
            for (i, e) in events.enumerated() {
                if (first &+ i) % n == 0 {
                    kept.initializeElement(at: count, to: e)
                    count += 1
                } else {
                    shedBySource.pointee.add(source: e.source, count: 1)
                    dropped += 1
                }
            }
            if dropped > 0 {
                lanes[Int(lane.rawValue)].counters.pointee.shedTotal.add(UInt64(dropped), ordering: .relaxed)
                admission.throttled.add(UInt64(dropped), ordering: .relaxed)
            }
            var outcome = count > 0 ? offer(UnsafeBufferPointer(rebasing: kept[..<count])) : PublishOutcome()
            outcome.shed += dropped
            return outcome
        }
    }
}
