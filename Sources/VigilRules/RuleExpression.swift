/// A parsed detection rule: what to watch and when it counts as trouble.
///
/// `cpu_usage > 90% for 5 minutes` is a ``MetricSelector`` (`cpu_usage`) and a ``Condition``
/// (`> 90%`, held `for 5 minutes`); a bare name such as `plugin_isolation_breach_detected` has no
/// condition and fires on every occurrence. ``description`` prints the canonical text, and parsing
/// that text gives back an equal value.
public struct RuleExpression: Sendable, Hashable, CustomStringConvertible {
    public var selector: MetricSelector
    /// Nil for a bare signal rule.
    public var condition: Condition?

    public init(selector: MetricSelector, condition: Condition? = nil) {
        self.selector = selector
        self.condition = condition
    }

    /// The canonical text: `cpu_usage{host="web-1"} > 90% for 5 minutes`.
    public var description: String { RulePrinter.print(self) }

    /// What kind of evaluation the rule needs.
    public var kind: RuleKind {
        guard let c = condition else { return .occurrence }
        switch c.timing {
        case .instant, .holdsFor, .consistently: return .threshold
        case .window: return c.unit == .percent ? .ratioWindow : .sumWindow
        }
    }
}

/// The four ways a rule is evaluated (see `Docs/rules.md`).
public enum RuleKind: String, Sendable, Hashable {
    /// Every sample is compared; optionally the comparison must hold for a duration.
    case threshold
    /// The sum of occurrences (or of sample values) over a sliding window.
    case sumWindow = "count"
    /// Failures / attempts over a sliding window.
    case ratioWindow = "ratio"
    /// Every occurrence of a signal fires.
    case occurrence
}

/// The events a rule looks at: a name, an optional component qualifier and label matchers.
public struct MetricSelector: Sendable, Hashable {
    /// `terminal_renderer` in `terminal_renderer fps`: shorthand for the matcher `component="terminal_renderer"`.
    public var component: String?
    /// The event name (`cpu_usage`, `fps`).
    public var name: String
    /// Inline matchers, `{host="web-1", disk=~"/var.*"}`, in written order.
    public var matchers: [LabelMatcher]

    public init(component: String? = nil, name: String, matchers: [LabelMatcher] = []) {
        self.component = component
        self.name = name
        self.matchers = matchers
    }

    /// Every matcher the selector implies, the component qualifier included.
    public var allMatchers: [LabelMatcher] {
        (component.map { [LabelMatcher(key: LabelMatcher.componentLabel, op: .equal, value: $0)] } ?? []) + matchers
    }
}

/// One label condition, as in PromQL: `key="v"`, `key!="v"`, `key=~"regex"`, `key!~"regex"`.
///
/// The key `source` matches the event's `source` label when it has one, and otherwise the source the
/// event arrived from (`plugin:system-metrics`, `cli:alice`, `vigild:eventbus`).
public struct LabelMatcher: Sendable, Hashable {
    public enum Operator: String, Sendable, Hashable, CaseIterable {
        case equal = "="
        case notEqual = "!="
        case matches = "=~"
        case notMatches = "!~"
    }

    /// The label a component qualifier (`terminal_renderer fps`) matches.
    public static let componentLabel = "component"

    public var key: String
    public var op: Operator
    /// The literal value, or an anchored regular expression for `=~` and `!~`.
    public var value: String

    public init(key: String, op: Operator, value: String) {
        self.key = key
        self.op = op
        self.value = value
    }
}

/// The comparison a rule makes and for how long it must hold.
public struct Condition: Sendable, Hashable {
    public var comparator: Comparator
    /// The threshold in ``unit`` (90 for `90%`, 5000 for `5000ms`).
    public var threshold: Double
    public var unit: ThresholdUnit?
    /// `available` in `disk_space < 10% available`: says the metric is the free share (see `Docs/rules.md`).
    public var available: Bool
    public var timing: Timing
    /// Prometheus's `keep_firing_for`: a firing rule resolves only after its condition has stayed false this long.
    public var keepFiringFor: Duration?

    public init(comparator: Comparator, threshold: Double, unit: ThresholdUnit? = nil, available: Bool = false,
                timing: Timing = .instant, keepFiringFor: Duration? = nil) {
        self.comparator = comparator
        self.threshold = threshold
        self.unit = unit
        self.available = available
        self.timing = timing
        self.keepFiringFor = keepFiringFor
    }
}

/// How a comparison is judged over time.
public enum Timing: Sendable, Hashable {
    /// Every sample on its own.
    case instant
    /// `for 5 minutes`: must hold continuously that long before firing (Prometheus `for:`).
    case holdsFor(Duration)
    /// `consistently`: `for` the configured default (`rules.consistently`, 5 minutes unless set).
    case consistently
    /// `in 1 minute`: a count, sum or ratio over a sliding window of that length.
    case window(Duration)
}

public enum Comparator: String, Sendable, Hashable, CaseIterable {
    case greater = ">"
    case greaterOrEqual = ">="
    case less = "<"
    case lessOrEqual = "<="
    case equal = "=="
    case notEqual = "!="

    /// Whether `value` compared with `threshold` holds; false for NaN.
    @inline(__always)
    public func holds(_ value: Double, _ threshold: Double) -> Bool {
        switch self {
        case .greater: value > threshold
        case .greaterOrEqual: value >= threshold
        case .less: value < threshold
        case .lessOrEqual: value <= threshold
        case .equal: value == threshold
        case .notEqual: value != threshold && !value.isNaN
        }
    }
}
