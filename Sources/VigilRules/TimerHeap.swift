/// A binary min-heap of (due time, state reference): the next moment some rule state must be
/// re-judged without a sample (a `for` deadline, a stale series, an event leaving a window).
///
/// Entries are not removed when a state's due time moves later; the engine checks an entry against
/// the state when it pops and re-queues it at the real time. A state's due time only moves earlier
/// on a transition, so the heap holds about one entry per timed state, not one per sample.
struct TimerHeap: Sendable {
    struct Entry: Sendable {
        var due: Int64
        var ref: StateRef
    }

    private(set) var entries: [Entry] = []

    var isEmpty: Bool { entries.isEmpty }
    var count: Int { entries.count }
    var top: Entry? { entries.first }

    mutating func push(_ due: Int64, _ ref: StateRef) {
        entries.append(Entry(due: due, ref: ref))
        var i = entries.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard entries[i].due < entries[parent].due else { break }
            entries.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> Entry? {
        guard let first = entries.first else { return nil }
        let last = entries.removeLast()
        if !entries.isEmpty {
            entries[0] = last
            var i = 0
            let n = entries.count
            while true {
                let l = 2 * i + 1
                let r = l + 1
                var m = i
                if l < n, entries[l].due < entries[m].due { m = l }
                if r < n, entries[r].due < entries[m].due { m = r }
                if m == i { break }
                entries.swapAt(i, m)
                i = m
            }
        }
        return first
    }
}

/// A reference to one rule state: which store it lives in and its index there.
struct StateRef: Hashable, Sendable {
    var raw: UInt32
    static let windowBit: UInt32 = 1 << 31
    static func threshold(_ i: Int32) -> StateRef { StateRef(raw: UInt32(i)) }
    static func window(_ i: Int32) -> StateRef { StateRef(raw: UInt32(i) | windowBit) }
    var isWindow: Bool { raw & Self.windowBit != 0 }
    var index: Int32 { Int32(bitPattern: raw & ~Self.windowBit) }
}
