import Foundation
import VigilCore
import VigilPluginProtocol

/// Turns the raw bytes of an `events` frame into bus ``Event``s without making a `String` per
/// event: names, units and label objects are looked up by their bytes (FNV-1a hash, then a byte
/// compare) in a cache of what this connection sent before, and only a new spelling is decoded,
/// checked and interned in the daemon's ``SymbolTable``.
///
/// It is also where a detector's word stops counting: the lane comes from its manifest's
/// `emits:` declaration, the daemon's own names and labels (`plugin`, `source`) are refused, and
/// every new string or label set is charged to the plugin's ``InternBudget``. A refused event is
/// not a protocol violation by itself — the connection drops it, counts it and warns the plugin —
/// except an impersonation (the daemon's own names and labels), which ends the run at once.
///
/// One per connection, used from one thread at a time. The cache is bounded by entries and by
/// bytes: past either it starts over.
struct EventInterner {
    /// A name's symbol and the lane each kind of event of that name travels on; nil lanes: refused.
    struct NameEntry {
        var symbol: Symbol
        var signalLane: Lane?
        var metricLane: Lane?
        var refusal: Refusal?

        func lane(_ kind: EventKind) -> Lane? { kind == .signal ? signalLane : metricLane }
    }

    /// What a connection accepts from its plugin beyond the wire format.
    struct Limits: Sendable {
        var maximumLabels = 32
        var maximumLabelValueBytes = 512
        var maximumUnitBytes = 64
    }

    private struct Cached<Value> {
        var bytes: [UInt8]
        var value: Value
    }

    /// Why one event was refused (dropped and counted; the connection goes on).
    enum Refusal: Error, Equatable, CustomStringConvertible {
        case undeclared(String)
        case reservedName(String)
        case reservedLabel(String)
        case tooManyLabels(Int, limit: Int)
        case labelValueTooLong(String, bytes: Int, limit: Int)
        case unitTooLong(bytes: Int, limit: Int)
        case budgetSpent(limit: Int)

        var description: String {
            switch self {
            case .undeclared(let n): "event \"\(n)\" is not declared under emits: in plugin.yaml"
            case .reservedName(let n): "event \"\(n)\" is the daemon's own name; plugins may not send it"
            case .reservedLabel(let k): "label \"\(k)\" is reserved (plugin, source, their plugin_/source_ forms in any case, "
                + "and __ names are stamped by the daemon); plugins may not set it"
            case .tooManyLabels(let n, let limit): "\(n) labels on one event (at most \(limit))"
            case .labelValueTooLong(let k, let b, let limit): "label \"\(k)\" has a \(b)-byte value (at most \(limit))"
            case .unitTooLong(let b, let limit): "a \(b)-byte unit (at most \(limit))"
            case .budgetSpent(let limit): "the plugin's \(limit) distinct names, label values and label sets are used up"
            }
        }

        /// Speaking as the daemon or about another plugin (the daemon's names, `plugin`/`source`
        /// labels): no honest plugin does it, so it ends the run as a protocol violation.
        var isImpersonation: Bool {
            switch self {
            case .reservedName, .reservedLabel: true
            default: false
            }
        }

        /// A short key for counters (`vigil plugins show`).
        var category: String {
            switch self {
            case .undeclared: "undeclared"
            case .reservedName: "reserved_name"
            case .reservedLabel: "reserved_label"
            case .tooManyLabels, .labelValueTooLong, .unitTooLong: "label_limits"
            case .budgetSpent: "series_budget"
            }
        }
    }

    /// A malformed name or label name: a protocol violation, as before declarations existed.
    struct Violation: Error {
        var problem: String
    }

    let symbols: SymbolTable
    let manifest: PluginManifest
    let budget: InternBudget
    let limits: Limits
    static let maximumEntries = 16_384
    static let maximumCachedBytes = 4 << 20
    private var names: [UInt64: [Cached<NameEntry>]] = [:]
    private var units: [UInt64: [Cached<Symbol>]] = [:]
    private var labelSets: [UInt64: [Cached<LabelSetID>]] = [:]
    private var entryCount = 0
    private var cachedBytes = 0

    init(symbols: SymbolTable, manifest: PluginManifest, budget: InternBudget, limits: Limits = Limits()) {
        self.symbols = symbols
        self.manifest = manifest
        self.budget = budget
        self.limits = limits
    }

    /// The name's entry; throws for a malformed name. A refused name comes back with its refusal.
    mutating func name(_ span: StringSpan, in bytes: UnsafeRawBufferPointer) throws(Violation) -> NameEntry {
        let raw = UnsafeRawBufferPointer(rebasing: bytes[span.start..<span.end])
        let hash = Self.fnv1a(raw)
        if !span.escaped, let hit = Self.find(raw, hash, in: names) { return hit }
        let text = EventRecords.string(span, in: bytes)
        guard EventName.isValid(text) else {
            throw Violation(problem: "invalid event name \"\(LogText.sanitized(String(text.prefix(80))))\": "
                + EventName.problem(with: text, label: false))
        }
        var entry = NameEntry(symbol: .none, signalLane: manifest.lane(forEmitted: text, kind: .signal),
                              metricLane: manifest.lane(forEmitted: text, kind: .metric))
        if EventName.isReservedForDaemon(text) {
            entry.refusal = .reservedName(text)
        } else if entry.signalLane == nil, entry.metricLane == nil {
            entry.refusal = .undeclared(text)
        } else if let symbol = symbols.intern(text, charging: budget) {
            entry.symbol = symbol
        } else {
            // Not cached: once the budget allows again (never, today) the name is interned then.
            return NameEntry(symbol: .none, refusal: .budgetSpent(limit: budget.limit))
        }
        if !span.escaped { makeRoom(raw.count); Self.store(raw, hash, entry, in: &names) }
        return entry
    }

    mutating func unit(_ span: StringSpan?, in bytes: UnsafeRawBufferPointer) throws(Refusal) -> Symbol {
        guard let span, span.end > span.start else { return .none }
        let raw = UnsafeRawBufferPointer(rebasing: bytes[span.start..<span.end])
        let hash = Self.fnv1a(raw)
        if !span.escaped, let hit = Self.find(raw, hash, in: units) { return hit }
        let text = EventRecords.string(span, in: bytes)
        guard text.utf8.count <= limits.maximumUnitBytes else {
            throw .unitTooLong(bytes: text.utf8.count, limit: limits.maximumUnitBytes)
        }
        guard let symbol = symbols.intern(text, charging: budget) else { throw .budgetSpent(limit: budget.limit) }
        if !span.escaped { makeRoom(raw.count); Self.store(raw, hash, symbol, in: &units) }
        return symbol
    }

    /// The label set of the raw `labels` object; throws a violation for a malformed label name,
    /// a refusal for what the plugin may not set or can no longer afford.
    mutating func labels(_ range: Range<Int>?, in bytes: UnsafeRawBufferPointer) throws(LabelFailure) -> LabelSetID {
        guard let range else { return .empty }
        let raw = UnsafeRawBufferPointer(rebasing: bytes[range])
        let hash = Self.fnv1a(raw)
        if let hit = Self.find(raw, hash, in: labelSets) { return hit }
        let dictionary = EventRecords.labels(range, in: bytes)
        for key in dictionary.keys where !EventName.isValidLabel(key) {
            throw .violation(Violation(problem: "invalid label name \"\(LogText.sanitized(String(key.prefix(80))))\": "
                + EventName.problem(with: key, label: true)))
        }
        guard dictionary.count <= limits.maximumLabels else {
            throw .refused(.tooManyLabels(dictionary.count, limit: limits.maximumLabels))
        }
        for (key, value) in dictionary {
            if EventName.isReservedLabel(key) { throw .refused(.reservedLabel(key)) }
            if value.utf8.count > limits.maximumLabelValueBytes {
                throw .refused(.labelValueTooLong(key, bytes: value.utf8.count, limit: limits.maximumLabelValueBytes))
            }
        }
        guard let id = symbols.intern(labels: dictionary, charging: budget) else {
            throw .refused(.budgetSpent(limit: budget.limit))
        }
        makeRoom(raw.count)
        Self.store(raw, hash, id, in: &labelSets)
        return id
    }

    enum LabelFailure: Error {
        case violation(Violation)
        case refused(Refusal)
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

    /// Called before caching a spelling: starts the cache over when it holds too many entries or
    /// bytes (many spellings of one label set cost no interning, so the cache bounds itself).
    private mutating func makeRoom(_ bytes: Int) {
        entryCount += 1
        cachedBytes += bytes + 64
        guard entryCount > Self.maximumEntries || cachedBytes > Self.maximumCachedBytes else { return }
        names.removeAll()
        units.removeAll()
        labelSets.removeAll()
        entryCount = 1
        cachedBytes = bytes + 64
    }

    private static func store<V>(_ raw: UnsafeRawBufferPointer, _ hash: UInt64, _ value: V,
                                 in table: inout [UInt64: [Cached<V>]]) {
        table[hash, default: []].append(Cached(bytes: Array(raw), value: value))
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
