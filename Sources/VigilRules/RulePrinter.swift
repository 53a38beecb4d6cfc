import VigilCore

/// Writes a ``RuleExpression`` in its one canonical form.
///
/// The form is the seed's own style (`cpu_usage > 90% for 5 minutes`), so every seed line prints
/// exactly as written; parsing the printed text gives back an equal expression.
enum RulePrinter {
    static func print(_ e: RuleExpression) -> String {
        var out = selector(e.selector)
        guard let c = e.condition else { return out }
        out += " \(c.comparator.rawValue) \(NumberText.format(c.threshold))"
        if let unit = c.unit {
            out += (unit.isSymbol ? "" : " ") + unit.spelling(for: c.threshold)
        }
        if c.available { out += " available" }
        switch c.timing {
        case .instant: break
        case .holdsFor(let d): out += " for \(DurationText.format(d))"
        case .consistently: out += " consistently"
        case .window(let d): out += " in \(DurationText.format(d))"
        }
        if let k = c.keepFiringFor { out += " keep_firing_for \(DurationText.format(k))" }
        return out
    }

    static func selector(_ s: MetricSelector) -> String {
        var out = s.component.map { "\($0) \(s.name)" } ?? s.name
        if !s.matchers.isEmpty {
            out += "{" + s.matchers.map { "\($0.key)\($0.op.rawValue)\(quoted($0.value))" }.joined(separator: ", ") + "}"
        }
        return out
    }

    static func quoted(_ s: String) -> String {
        var out = "\""
        for c in s.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default: out.unicodeScalars.append(c)
            }
        }
        return out + "\""
    }
}
