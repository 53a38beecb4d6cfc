/// Series key → series index, open addressing with linear probing.
///
/// The one lookup every event pays for; a multiply-shift hash of the three ids is several times
/// cheaper than `Dictionary`'s SipHash, and the keys come from interning, not from an attacker who
/// could choose collisions (label values do, but they are interned to sequential ids first).
struct SeriesTable: Sendable {
    private var names: [UInt32]
    private var labels: [UInt32]
    private var sources: [UInt32]
    /// Series index + 1; 0 marks an empty slot.
    private var values: [Int32]
    private var mask: Int
    private(set) var count = 0

    init(capacity: Int = 1024) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        names = Array(repeating: 0, count: size)
        labels = Array(repeating: 0, count: size)
        sources = Array(repeating: 0, count: size)
        values = Array(repeating: 0, count: size)
        mask = size - 1
    }

    @inline(__always)
    private func slot(_ k: SeriesKey) -> Int {
        let mixed = (UInt64(k.name) << 32 | UInt64(k.labels)) ^ (UInt64(k.source) &* 0xC2B2_AE3D_27D4_EB4F)
        return Int(truncatingIfNeeded: (mixed &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask
    }

    @inline(__always)
    subscript(_ k: SeriesKey) -> Int32? {
        var i = slot(k)
        while true {
            let v = values[i]
            if v == 0 { return nil }
            if names[i] == k.name, labels[i] == k.labels, sources[i] == k.source { return v - 1 }
            i = (i + 1) & mask
        }
    }

    mutating func insert(_ k: SeriesKey, _ value: Int32) {
        if (count + 1) * 2 > values.count { grow() }
        var i = slot(k)
        while values[i] != 0 {
            if names[i] == k.name, labels[i] == k.labels, sources[i] == k.source { values[i] = value + 1; return }
            i = (i + 1) & mask
        }
        names[i] = k.name
        labels[i] = k.labels
        sources[i] = k.source
        values[i] = value + 1
        count += 1
    }

    private mutating func grow() {
        var bigger = SeriesTable(capacity: values.count)
        for i in 0..<values.count where values[i] != 0 {
            bigger.insert(SeriesKey(name: names[i], labels: labels[i], source: sources[i]), values[i] - 1)
        }
        self = bigger
    }
}
