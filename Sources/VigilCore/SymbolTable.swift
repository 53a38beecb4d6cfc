import Synchronization

/// The daemon's interning tables: strings to ``Symbol`` ids and label dictionaries to
/// ``LabelSetID``s. Interning takes a lock; resolving ids back to strings also does, so
/// hot paths cache ids per series and resolve only at the edges (store, CLI, notifications).
///
/// Label values of unbounded cardinality (pids, addresses) grow the tables for the life of
/// the process, exactly like Prometheus series; sources should keep such detail out of labels.
public final class SymbolTable: Sendable {
    private struct Strings {
        var ids: [String: UInt32] = ["": 0]
        var names: [String] = [""]
    }
    private struct LabelSets {
        var ids: [[UInt64]: UInt32] = [[]: 0]
        var sets: [[(key: Symbol, value: Symbol)]] = [[]]
    }
    private let strings = Mutex(Strings())
    private let labelSets = Mutex(LabelSets())

    public init() {}

    /// The id of `string`, allocating one on first sight.
    public func intern(_ string: String) -> Symbol {
        strings.withLock { s in
            if let id = s.ids[string] { return Symbol(id: id) }
            let id = UInt32(s.names.count)
            s.names.append(string)
            s.ids[string] = id
            return Symbol(id: id)
        }
    }

    /// The id of `string` if it was interned before; never allocates.
    public func lookup(_ string: String) -> Symbol? {
        strings.withLock { s in s.ids[string].map(Symbol.init(id:)) }
    }

    /// The string behind `symbol` (the empty string for unknown ids).
    public func name(_ symbol: Symbol) -> String {
        strings.withLock { s in
            Int(symbol.id) < s.names.count ? s.names[Int(symbol.id)] : ""
        }
    }

    /// The id of a label set; keys are sorted, so `{a,b}` and `{b,a}` are the same set.
    public func intern(labels: [String: String]) -> LabelSetID {
        if labels.isEmpty { return .empty }
        let pairs = labels.map { (key: intern($0.key), value: intern($0.value)) }
            .sorted { $0.key < $1.key }
        let key = pairs.map { UInt64($0.key.id) << 32 | UInt64($0.value.id) }
        return labelSets.withLock { t in
            if let id = t.ids[key] { return LabelSetID(id: id) }
            let id = UInt32(t.sets.count)
            t.sets.append(pairs)
            t.ids[key] = id
            return LabelSetID(id: id)
        }
    }

    /// The interned pairs of a label set, sorted by key id.
    public func pairs(_ id: LabelSetID) -> [(key: Symbol, value: Symbol)] {
        labelSets.withLock { t in Int(id.id) < t.sets.count ? t.sets[Int(id.id)] : [] }
    }

    /// A label set as a dictionary of strings.
    public func labels(_ id: LabelSetID) -> [String: String] {
        var out: [String: String] = [:]
        for p in pairs(id) { out[name(p.key)] = name(p.value) }
        return out
    }

    /// How many strings and label sets are interned (for self-monitoring).
    public var counts: (strings: Int, labelSets: Int) {
        (strings.withLock { $0.names.count }, labelSets.withLock { $0.sets.count })
    }
}
