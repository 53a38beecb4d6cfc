import VigilCore

/// The more sensitive rule a recovery watch runs (`incidents.recovery_watch`): the threshold
/// moved toward firing, and the selector narrowed to the series the incident was about.
public enum RuleLowering {
    /// `expression` with its threshold moved toward firing by `factor` (0 < factor ≤ 1), or set
    /// to `threshold` when given. `>`/`>=` thresholds go down by the factor's share of their size
    /// (`> 90` at 0.8 is `> 72`), `<`/`<=` go up by the inverse (`< 10` is `< 12.5`); `==`, `!=`
    /// and a zero threshold have no size to move by and are kept unless `threshold` is given. A bare signal rule already fires on
    /// every occurrence and is returned unchanged. Durations (`for`, windows) are kept.
    public static func lowered(_ expression: RuleExpression, factor: Double, threshold: Double? = nil) -> RuleExpression {
        guard var condition = expression.condition else { return expression }
        if let threshold, threshold.isFinite {
            condition.threshold = threshold
        } else if factor.isFinite, factor > 0, factor < 1 {
            let t = condition.threshold
            let moved: Double = switch condition.comparator {
            case .greater, .greaterOrEqual: tidy(t - abs(t) * (1 - factor))
            case .less, .lessOrEqual: tidy(t + abs(t) * (1 / factor - 1))
            case .equal, .notEqual: t
            }
            // A tiny factor on a large threshold would overflow: the rule's own threshold stays.
            if moved.isFinite { condition.threshold = moved }
        }
        var out = expression
        out.condition = condition
        return out
    }

    /// `expression` narrowed by `key="value"` matchers for `labels` (kept in key order), after
    /// the rule's own matchers; a key the rule already matches with `=` is not repeated.
    public static func scoped(_ expression: RuleExpression, to labels: [String: String]) -> RuleExpression {
        var out = expression
        let fixed = Set(expression.selector.allMatchers.filter { $0.op == .equal }.map(\.key))
        for (key, value) in labels.sorted(by: { $0.key < $1.key }) where !fixed.contains(key) {
            out.selector.matchers.append(LabelMatcher(key: key, op: .equal, value: value))
        }
        return out
    }

    /// The labels of an incident's series that say *which* series it was about under `rule`'s
    /// grouping: the group-by labels it has, and the plugin that sent it.
    public static func scope(of rule: Rule, labels: [String: String]) -> [String: String] {
        var names: Set<String>
        switch rule.groupBy {
        case .identityLabels: names = Set(GroupBy.identityLabelNames)
        case .labels(let list): names = Set(list)
        case .series: return labels
        }
        if let source = labels["source"], source.hasPrefix("plugin:") { names.insert("source") }
        return labels.filter { names.contains($0.key) }
    }

    /// Rounds away binary noise (`72.00000000000001` → `72`) so the printed rule reads as written.
    static func tidy(_ v: Double) -> Double {
        guard v.isFinite, abs(v) < 1e12 else { return v }
        return (v * 1_000_000).rounded() / 1_000_000
    }
}
