import VigilCore

/// A compiled regular expression. `Regex` is not `Sendable`; this box is, because the value is
/// immutable after compilation and only the engine that owns it matches with it (when a new series
/// is first seen), never two threads at once.
final class MatcherRegex: @unchecked Sendable {
    let regex: Regex<AnyRegexOutput>
    init(_ regex: Regex<AnyRegexOutput>) { self.regex = regex }
    func matches(_ s: String) -> Bool { (try? regex.wholeMatch(in: s)) != nil }
}

/// A label matcher with its strings interned, ready to judge a series.
struct CompiledMatcher: Sendable {
    let key: Symbol
    let isSource: Bool
    let op: LabelMatcher.Operator
    let value: Symbol
    let regex: MatcherRegex?

    init(_ m: LabelMatcher, symbols: SymbolTable) {
        key = symbols.intern(m.key)
        isSource = m.key == "source"
        op = m.op
        value = symbols.intern(m.value)
        // The parser refused invalid patterns; a pattern that still fails to compile matches nothing.
        regex = (m.op == .matches || m.op == .notMatches) ? (try? Regex(m.value)).map(MatcherRegex.init) : nil
    }

    /// Whether a series with these labels (sorted pairs) and source satisfies the matcher; a missing
    /// label is the empty string, as in PromQL.
    func matches(_ pairs: [(key: Symbol, value: Symbol)], source: Symbol, symbols: SymbolTable) -> Bool {
        var found = pairs.first { $0.key == key }?.value ?? .none
        if found == .none, isSource { found = source }
        switch op {
        case .equal: return found == value
        case .notEqual: return found != value
        case .matches: return regex?.matches(symbols.name(found)) ?? false
        case .notMatches: return !(regex?.matches(symbols.name(found)) ?? true)
        }
    }
}

/// The numbers of a rule the hot path reads, kept apart from its strings and arrays so reading
/// them never touches a reference count.
struct RuleParams: Sendable {
    let kind: RuleKind
    let comparator: Comparator
    let threshold: Double
    let unit: ThresholdUnit?
    /// `for` (or `consistently`) in nanoseconds; 0 fires on the first sample that holds.
    let holdFor: Int64
    let window: Int64
    let keepFiringFor: Int64
    /// A window rule whose condition holds on an empty window (`heartbeats < 1 in 5 minutes`): it
    /// is judged only once its group has been watched for a whole window.
    let judgesAbsence: Bool

    init(_ e: RuleExpression, set: RuleSet) {
        kind = e.kind
        comparator = e.condition?.comparator ?? .notEqual
        threshold = e.condition?.threshold ?? 0
        unit = e.condition?.unit
        switch e.condition?.timing {
        case .holdsFor(let d): holdFor = max(0, d.nanoseconds); window = 0
        case .consistently: holdFor = max(0, set.consistently.nanoseconds); window = 0
        case .window(let d): holdFor = 0; window = max(1, d.nanoseconds)
        case .instant, nil: holdFor = 0; window = 0
        }
        keepFiringFor = max(0, e.condition?.keepFiringFor?.nanoseconds ?? 0)
        judgesAbsence = kind == .sumWindow && comparator.holds(0, threshold)
    }

    /// The factor turning an event value in `eventUnit` into this rule's unit, or nil when the two
    /// cannot be compared (see "Units" in `Docs/rules.md`).
    func factor(for eventUnit: EventUnit) -> Double? {
        if kind == .ratioWindow {
            // An attempt's value is the share of it that failed: a fraction unless it says `%`.
            switch eventUnit.kind {
            case .none: return 100
            case .known(.ratio, let scale, _): return scale * 100
            default: return nil
            }
        }
        guard let unit else { return 1 }
        switch eventUnit.kind {
        case .none: return 1
        case .opaque: return nil
        case .known(let dimension, let scale, let noun):
            guard dimension == unit.dimension else { return nil }
            if dimension == .count { return noun == unit ? 1 : nil }
            return scale / unit.scale
        }
    }
}

/// What a rule needs beyond its numbers: interned matchers, group-by labels, the texts signals carry.
struct CompiledRule: Sendable {
    let rule: Rule
    let matchers: [CompiledMatcher]
    /// Group-by label symbols (for ``GroupBy/labels`` and ``GroupBy/identityLabels``).
    let groupSymbols: [Symbol]
    let groupNames: [String]
    let expressionText: String
    let unitText: String

    init(_ rule: Rule, symbols: SymbolTable) {
        self.rule = rule
        let e = rule.expression
        matchers = e.selector.allMatchers.map { CompiledMatcher($0, symbols: symbols) }
        switch rule.groupBy {
        case .identityLabels: groupNames = GroupBy.identityLabelNames
        case .labels(let names): groupNames = names
        case .series: groupNames = []
        }
        groupSymbols = groupNames.map { symbols.intern($0) }
        expressionText = e.description
        unitText = e.condition?.unit.map(\.rawValue) ?? ""
    }
}
