import VigilCore

/// A rule that does not parse, located at the token that is wrong and saying what was expected,
/// e.g. `rules.yaml:7:36: expected a duration like `5 minutes` after `for`, found `5 mins``.
public struct RuleSyntaxError: LocatedError, Equatable {
    public var location: SourceLocation
    public var message: String
    /// Where in the rule's own text the problem starts (0-based, in Unicode scalars).
    public var offset: Int

    init(offset: Int, _ message: String) {
        self.offset = offset
        self.message = message
        self.location = SourceLocation(file: "<rule>", line: 1, column: offset + 1)
    }
}

/// Parses the rule language described in `Docs/rules.md`.
///
/// ```
/// rule       = selector [ comparison ]
/// selector   = [ component ] name [ "{" matcher { "," matcher } "}" ]
/// comparison = comparator number [ unit ] [ "available" ] [ timing ] [ "keep_firing_for" duration ]
/// timing     = "for" duration | "consistently" | "in" duration
/// ```
public enum RuleParser {
    /// Parses `text`; `origin` is where its first character sits in its file, so errors point there.
    public static func parse(_ text: String, origin: SourceLocation = SourceLocation(file: "<rule>", line: 1, column: 1))
        throws(RuleSyntaxError) -> RuleExpression {
        let lexer = RuleLexer(text)
        do {
            var p = Parser(tokens: try lexer.tokens(), lexer: lexer)
            return try p.rule()
        } catch {
            var located = error
            located.location = locate(error.offset, in: lexer.scalars, origin: origin)
            throw located
        }
    }

    /// The file position of scalar `offset` of a text that starts at `origin`.
    static func locate(_ offset: Int, in scalars: [Unicode.Scalar], origin: SourceLocation) -> SourceLocation {
        var line = origin.line
        var column = origin.column
        for c in scalars.prefix(offset) {
            if c == "\n" { line += 1; column = 1 } else { column += 1 }
        }
        return SourceLocation(file: origin.file, line: line, column: column)
    }

    /// Words with a meaning of their own; none of them may be a metric name.
    static let keywords: Set<String> = ["for", "in", "consistently", "available", "keep_firing_for"]
}

private struct Parser {
    let tokens: [RuleToken]
    let lexer: RuleLexer
    var index = 0

    init(tokens: [RuleToken], lexer: RuleLexer) {
        self.tokens = tokens
        self.lexer = lexer
    }

    var current: RuleToken { tokens[index] }
    var previous: RuleToken? { index > 0 ? tokens[index - 1] : nil }

    func isSymbol(_ s: String) -> Bool { current.kind == .symbol && current.text == s }
    func isWord(_ w: String) -> Bool { current.kind == .word && current.text == w }

    /// "… after `x`" naming the token before the current one.
    var afterPrevious: String { previous.map { " after `\($0.text)`" } ?? "" }

    func fail(_ expected: String, at token: RuleToken? = nil) -> RuleSyntaxError {
        let t = token ?? current
        return RuleSyntaxError(offset: t.start, "expected \(expected)\(afterPrevious), found \(t.shown)")
    }

    mutating func rule() throws(RuleSyntaxError) -> RuleExpression {
        let selector = try self.selector()
        if current.kind == .end { return RuleExpression(selector: selector) }
        let condition = try self.condition()
        guard current.kind == .end else {
            // Name only what could still follow, in the order the grammar allows it.
            var options: [String] = []
            if !condition.available, condition.timing == .instant, condition.keepFiringFor == nil { options.append("`available`") }
            if condition.timing == .instant, condition.keepFiringFor == nil {
                options += ["`for 5 minutes`", "`in 1 minute`", "`consistently`"]
            }
            if condition.keepFiringFor == nil { options.append("`keep_firing_for 10 minutes`") }
            options.append("the end of the rule")
            throw fail(options.count > 1 ? options.dropLast().joined(separator: ", ") + " or " + options[options.count - 1]
                                         : options[0])
        }
        return RuleExpression(selector: selector, condition: condition)
    }

    mutating func name(_ what: String) throws(RuleSyntaxError) -> String {
        guard current.kind == .word else { throw fail(what) }
        guard !RuleParser.keywords.contains(current.text) else {
            throw RuleSyntaxError(offset: current.start, "`\(current.text)` is a keyword of the rule language and cannot be \(what)")
        }
        defer { index += 1 }
        return current.text
    }

    mutating func selector() throws(RuleSyntaxError) -> MetricSelector {
        let first = try name("a metric or signal name")
        var selector = MetricSelector(name: first)
        if current.kind == .word, !RuleParser.keywords.contains(current.text) {
            selector.component = first
            selector.name = current.text
            index += 1
        }
        if isSymbol("{") {
            index += 1
            selector.matchers = try matchers()
        }
        return selector
    }

    mutating func matchers() throws(RuleSyntaxError) -> [LabelMatcher] {
        var out: [LabelMatcher] = []
        while !isSymbol("}") {
            let key = try name("a label name")
            guard current.kind == .symbol, let op = LabelMatcher.Operator(rawValue: current.text) else {
                throw fail("=, !=, =~ or !~")
            }
            index += 1
            guard case .string(let value) = current.kind else { throw fail("a quoted label value like \"web-1\"") }
            if op == .matches || op == .notMatches {
                do {
                    _ = try Regex(value)
                } catch {
                    throw RuleSyntaxError(offset: current.start, "\"\(value)\" is not a valid regular expression: \(error)")
                }
            }
            index += 1
            out.append(LabelMatcher(key: key, op: op, value: value))
            if isSymbol(",") { index += 1; continue }
            guard isSymbol("}") else { throw fail("`,` or `}`") }
        }
        index += 1
        return out
    }

    mutating func condition() throws(RuleSyntaxError) -> Condition {
        guard current.kind == .symbol, let comparator = Comparator(rawValue: current.text) else {
            throw fail("a comparison (>, >=, <, <=, ==, !=) or the end of the rule")
        }
        index += 1
        let thresholdToken = current
        guard case .number(let threshold) = current.kind else { throw fail("a threshold number like 90") }
        index += 1
        var condition = Condition(comparator: comparator, threshold: threshold)
        condition.unit = try unit()
        if isWord("available") {
            condition.available = true
            index += 1
        }
        condition.timing = try timing()
        if isWord("keep_firing_for") {
            index += 1
            condition.keepFiringFor = try duration(after: "keep_firing_for")
        }
        if case .window = condition.timing, condition.unit?.dimension == .ratio, condition.threshold < 0 {
            throw RuleSyntaxError(offset: thresholdToken.start, "a ratio threshold cannot be negative")
        }
        return condition
    }

    mutating func unit() throws(RuleSyntaxError) -> ThresholdUnit? {
        if isSymbol("%") {
            index += 1
            return .percent
        }
        guard current.kind == .word, !RuleParser.keywords.contains(current.text) else { return nil }
        if let unit = ThresholdUnit(spelling: current.text) {
            index += 1
            return unit
        }
        if let advice = ThresholdUnit.refusal(for: current.text) {
            throw RuleSyntaxError(offset: current.start, "ambiguous unit `\(current.text)`: \(advice)")
        }
        throw fail("a unit (%, ms, s, minutes, bytes, kB, MiB, messages, …), `available`, `for`, `in`, `consistently` or the end of the rule")
    }

    mutating func timing() throws(RuleSyntaxError) -> Timing {
        if isWord("for") {
            index += 1
            return .holdsFor(try duration(after: "for"))
        }
        if isWord("in") {
            index += 1
            let at = current.start
            let d = try duration(after: "in")
            guard d > .zero else { throw RuleSyntaxError(offset: at, "a window must be longer than 0") }
            return .window(d)
        }
        if isWord("consistently") {
            index += 1
            return .consistently
        }
        return .instant
    }

    /// A number and a duration unit: `5 minutes`, `30 seconds`, `500ms`.
    mutating func duration(after keyword: String) throws(RuleSyntaxError) -> Duration {
        let start = current
        func wrong(_ found: String) -> RuleSyntaxError {
            RuleSyntaxError(offset: start.start, "expected a duration like `5 minutes` after `\(keyword)`, found \(found)")
        }
        guard case .number(let value) = start.kind else { throw wrong(start.shown) }
        let unitToken = tokens[index + 1]
        guard unitToken.kind == .word, let per = DurationText.nanosPerUnit(unitToken.text) else {
            let found = unitToken.kind == .end ? "`\(start.text)` without a unit"
                : "`\(lexer.slice(start.start, unitToken.end))`"
            throw wrong(found)
        }
        let nanos = value * Double(per)
        guard value >= 0, nanos < 9.2e18 else { throw wrong("`\(lexer.slice(start.start, unitToken.end))`") }
        index += 2
        return .nanoseconds(Int64(nanos.rounded()))
    }
}
