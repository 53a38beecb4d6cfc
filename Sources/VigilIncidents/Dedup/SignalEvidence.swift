import VigilCore

/// What a batch of signals proves, summarised as one piece of evidence (JSON), so a storm of
/// ten thousand signals is one row rather than ten thousand.
enum SignalEvidence {
    /// `{"count":…,"first":…,"last":…,"min":…,"max":…,"unit":…,"rules":[…],"series":[{labels}…]}`;
    /// at most 10 distinct label sets are listed.
    static func json(_ signals: some Collection<RuleSignal>) -> String {
        guard let first = signals.first else { return "{}" }
        var minValue = first.value, maxValue = first.value
        var firstAt = first.at, lastAt = first.at
        var series: [[String: String]] = []
        var rules: [String] = []
        for s in signals {
            minValue = min(minValue, s.value)
            maxValue = max(maxValue, s.value)
            firstAt = min(firstAt, s.at)
            lastAt = max(lastAt, s.at)
            if series.count < 10, !series.contains(s.labels) { series.append(s.labels) }
            if !rules.contains(s.ruleID) { rules.append(s.ruleID) }
        }
        let value = JSONValue.object([
            "count": .number(Double(signals.count)), "first": .string(firstAt.rfc3339), "last": .string(lastAt.rfc3339),
            "min": .number(minValue), "max": .number(maxValue), "unit": .string(first.unit),
            "expression": .string(first.expression), "rules": .array(rules.map { .string($0) }),
            "series": .array(series.map { .object($0.mapValues { .string($0) }) }),
        ])
        return value.description
    }
}
