import Synchronization

/// The daemon's interning tables: strings to ``Symbol`` ids and label dictionaries to
/// ``LabelSetID``s. Interning takes a lock; resolving ids back to strings also does, so
/// hot paths cache ids per series and resolve only at the edges (store, CLI, notifications).
///
/// Label values of unbounded cardinality (pids, addresses) grow the tables for the life of
/// the process, exactly like Prometheus series. What an untrusted source (a plugin) may add is
/// therefore charged to an ``InternBudget`` of its own (``intern(_:charging:)``,
/// ``intern(labels:charging:)``): past it nothing new is interned for that source, so the
/// tables stay bounded by the sum of the budgets.
public final class SymbolTable: Sendable {
    private struct Strings {
        var ids: [String: UInt32] = ["": 0]
        var names: [String] = [""]

        mutating func id(_ text: String) -> Symbol {
            if let id = ids[text] { return Symbol(id: id) }
            let id = UInt32(names.count)
            names.append(text)
            ids[text] = id
            return Symbol(id: id)
        }
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
        strings.withLock { $0.id(string) }
    }

    /// The id of `string`, charging `budget` one entry if it is new; nil (nothing interned) when
    /// it is new and the budget is spent.
    public func intern(_ string: String, charging budget: InternBudget) -> Symbol? {
        strings.withLock { s in
            if let id = s.ids[string] { return Symbol(id: id) }
            guard budget.take(1) else { return nil }
            return s.id(string)
        }
    }

    /// The id of a label set, charging `budget` one entry per new string and one for a new set;
    /// nil (nothing new interned) when the budget cannot pay for what is new.
    public func intern(labels: [String: String], charging budget: InternBudget) -> LabelSetID? {
        if labels.isEmpty { return .empty }
        // A label set with a new string is a new set: both are paid for at once, up front, so
        // a refusal leaves nothing behind.
        var paidForSet = false
        let pairs: [(key: Symbol, value: Symbol)]? = strings.withLock { s in
            var missing = Set<String>()
            for (k, v) in labels {
                if s.ids[k] == nil { missing.insert(k) }
                if s.ids[v] == nil { missing.insert(v) }
            }
            if !missing.isEmpty {
                guard budget.take(missing.count + 1) else { return nil }
                paidForSet = true
            }
            return labels.map { (key: s.id($0.key), value: s.id($0.value)) }
        }
        guard let pairs else { return nil }
        let sorted = pairs.sorted { $0.key < $1.key }
        let key = sorted.map { UInt64($0.key.id) << 32 | UInt64($0.value.id) }
        return labelSets.withLock { t in
            if let id = t.ids[key] { return LabelSetID(id: id) }
            guard paidForSet || budget.take(1) else { return nil }
            let id = UInt32(t.sets.count)
            t.sets.append(sorted)
            t.ids[key] = id
            return LabelSetID(id: id)
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

/// How many new strings and label sets one untrusted source may still add to a ``SymbolTable``.
///
/// Kept per plugin for the daemon's lifetime (across the plugin's restarts): interned entries
/// are never freed, so a budget that started over with each run would not bound anything.
public final class InternBudget: Sendable {
    private let state: Mutex<(remaining: Int, refused: Int)>
    /// What the budget started with.
    public let limit: Int

    public init(limit: Int) {
        self.limit = max(0, limit)
        state = Mutex((self.limit, 0))
    }

    /// Takes `count` entries if that many remain; otherwise counts a refusal and takes nothing.
    public func take(_ count: Int) -> Bool {
        state.withLock { s in
            guard count <= s.remaining else {
                s.refused += 1
                return false
            }
            s.remaining -= count
            return true
        }
    }

    /// Entries still available.
    public var remaining: Int { state.withLock { $0.remaining } }
    /// How many interning requests the budget turned away.
    public var refused: Int { state.withLock { $0.refused } }
}
