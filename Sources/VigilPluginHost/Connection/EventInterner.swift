import Foundation
import VigilCore
import VigilPluginProtocol

/// Turns the raw bytes of an `events` frame into bus ``Event``s without making a `String` per
/// event: names, units and label objects are looked up by their bytes (FNV-1a hash, then a byte
/// compare) in a cache of what this connection sent before, and only a new spelling is decoded,
/// validated and interned in the daemon's ``SymbolTable``.
///
/// One per connection, used from one thread at a time. The cache is bounded: past
/// ``maximumEntries`` spellings it starts over (a plugin sending endless distinct label values
/// costs the daemon interning work, never unbounded cache memory).
struct EventInterner {
    struct NameEntry {
        var symbol: Symbol
        var securityLane: Bool
    }

    private struct Cached<Value> {
        var bytes: [UInt8]
        var value: Value
    }

    let symbols: SymbolTable
    static let maximumEntries = 16_384
    private var names: [UInt64: [Cached<NameEntry>]] = [:]
    private var units: [UInt64: [Cached<Symbol>]] = [:]
    private var labelSets: [UInt64: [Cached<LabelSetID>]] = [:]
    private var entryCount = 0

    init(symbols: SymbolTable) { self.symbols = symbols }

    /// Why an event of a frame was refused (the frame is a protocol violation).
    struct Refusal: Error {
        var problem: String
    }

    /// The name's symbol and whether it belongs on the security lane; refuses invalid names.
    mutating func name(_ span: StringSpan, in bytes: UnsafeRawBufferPointer) throws(Refusal) -> NameEntry {
        let raw = UnsafeRawBufferPointer(rebasing: bytes[span.start..<span.end])
        let hash = Self.fnv1a(raw)
        if !span.escaped, let hit = Self.find(raw, hash, in: names) { return hit }
        let text = EventRecords.string(span, in: bytes)
        guard EventName.isValid(text) else {
            throw Refusal(problem: "invalid event name \"\(text.prefix(80))\": use letters, digits, '_' and ':' "
                + "and do not start with a digit (at most 200 bytes)")
        }
        let entry = NameEntry(symbol: symbols.intern(text), securityLane: EventName.securitySignals.contains(text))
        if !span.escaped { makeRoom(); Self.store(raw, hash, entry, in: &names) }
        return entry
    }

    mutating func unit(_ span: StringSpan?, in bytes: UnsafeRawBufferPointer) -> Symbol {
        guard let span, span.end > span.start else { return .none }
        let raw = UnsafeRawBufferPointer(rebasing: bytes[span.start..<span.end])
        let hash = Self.fnv1a(raw)
        if !span.escaped, let hit = Self.find(raw, hash, in: units) { return hit }
        let symbol = symbols.intern(EventRecords.string(span, in: bytes))
        if !span.escaped { makeRoom(); Self.store(raw, hash, symbol, in: &units) }
        return symbol
    }

    /// The label set of the raw `labels` object; refuses invalid label names.
    mutating func labels(_ range: Range<Int>?, in bytes: UnsafeRawBufferPointer) throws(Refusal) -> LabelSetID {
        guard let range else { return .empty }
        let raw = UnsafeRawBufferPointer(rebasing: bytes[range])
        let hash = Self.fnv1a(raw)
        if let hit = Self.find(raw, hash, in: labelSets) { return hit }
        let dictionary = EventRecords.labels(range, in: bytes)
        for key in dictionary.keys where !EventName.isValidLabel(key) {
            throw Refusal(problem: "invalid label name \"\(key.prefix(80))\": use letters, digits and '_' "
                + "and do not start with a digit")
        }
        let id = symbols.intern(labels: dictionary)
        makeRoom()
        Self.store(raw, hash, id, in: &labelSets)
        return id
    }

    private static func find<V>(_ raw: UnsafeRawBufferPointer, _ hash: UInt64, in table: [UInt64: [Cached<V>]]) -> V? {
        guard let bucket = table[hash] else { return nil }
        for entry in bucket where entry.bytes.count == raw.count {
            let same = entry.bytes.withUnsafeBytes { stored in
                guard let a = stored.baseAddress, let b = raw.baseAddress else { return raw.isEmpty }
                return memcmp(a, b, raw.count) == 0
            }
            if same { return entry.value }
        }
        return nil
    }

    private static func store<V>(_ raw: UnsafeRawBufferPointer, _ hash: UInt64, _ value: V,
                                 in table: inout [UInt64: [Cached<V>]]) {
        table[hash, default: []].append(Cached(bytes: Array(raw), value: value))
    }

    /// Called before every insertion: starts over when the cache is full.
    private mutating func makeRoom() {
        entryCount += 1
        guard entryCount > Self.maximumEntries else { return }
        names.removeAll()
        units.removeAll()
        labelSets.removeAll()
        entryCount = 1
    }

    static func fnv1a(_ raw: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in raw {
            h ^= UInt64(b)
            h = h &* 0x100_0000_01b3
        }
        return h
    }
}
