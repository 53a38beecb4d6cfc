import Synchronization
import VigilCore

/// Shed telemetry counted per source symbol, without a lock.
///
/// An open-addressing table keyed by the source's symbol id: any id works (the daemon's symbol
/// table interns metric names and label values too, so source ids grow without bound), and a
/// source takes a slot the first time one of its events is shed. If more distinct sources shed
/// than the table has slots, the rest are counted in ``unattributed`` so totals stay exact.
/// Lives in raw memory owned by the bus, so counting touches no reference count.
struct ShedCounters: ~Copyable {
    static let slots = 4096
    /// Source id + 1 (0 marks a free slot).
    private let keys: UnsafeMutablePointer<Atomic<UInt64>>
    private let counts: UnsafeMutablePointer<Atomic<UInt64>>
    private let overflow = Atomic<UInt64>(0)

    static func allocate() -> UnsafeMutablePointer<ShedCounters> {
        let table = UnsafeMutablePointer<ShedCounters>.allocate(capacity: 1)
        table.initialize(to: ShedCounters())
        return table
    }

    static func deallocate(_ table: UnsafeMutablePointer<ShedCounters>) {
        table.deinitialize(count: 1)
        table.deallocate()
    }

    private init() {
        keys = .allocate(capacity: Self.slots)
        counts = .allocate(capacity: Self.slots)
        for i in 0..<Self.slots {
            (keys + i).initialize(to: Atomic(0))
            (counts + i).initialize(to: Atomic(0))
        }
    }

    deinit {
        keys.deinitialize(count: Self.slots)
        keys.deallocate()
        counts.deinitialize(count: Self.slots)
        counts.deallocate()
    }

    /// Adds `count` shed events of `source`.
    func add(source: Symbol, count: Int) {
        guard count > 0 else { return }
        let key = UInt64(source.id) + 1
        var i = Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 52) & (Self.slots - 1)
        for _ in 0..<Self.slots {
            var k = keys[i].load(ordering: .acquiring)
            if k == 0 {
                k = keys[i].compareExchange(expected: 0, desired: key, ordering: .acquiringAndReleasing).original
                if k == 0 { k = key }
            }
            if k == key {
                counts[i].add(UInt64(count), ordering: .relaxed)
                return
            }
            i = (i + 1) & (Self.slots - 1)
        }
        overflow.add(UInt64(count), ordering: .relaxed)
    }

    /// Every source with shed events, in slot order.
    func snapshot() -> [(source: Symbol, shed: UInt64)] {
        (0..<Self.slots).compactMap { i in
            let k = keys[i].load(ordering: .acquiring)
            let v = counts[i].load(ordering: .relaxed)
            return k == 0 || v == 0 ? nil : (Symbol(id: UInt32(truncatingIfNeeded: k - 1)), v)
        }
    }

    /// Shed events whose source found no free slot (more than ``slots`` distinct sources shed).
    var unattributed: UInt64 { overflow.load(ordering: .relaxed) }
}
