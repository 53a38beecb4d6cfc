/// A conjunction of ``LabelMatcher``s, and the text form operators and `amtool` write them in.
public struct LabelMatchers: Sendable, Hashable, CustomStringConvertible {
    /// Most matchers one list may hold (a bound on hostile input; Alertmanager has none).
    public static let maxCount = 256

    public var matchers: [LabelMatcher]

    public init(_ matchers: [LabelMatcher]) { self.matchers = matchers }

    /// True when every matcher matches the label set (an empty list matches everything).
    public func matches(_ labels: [String: String]) -> Bool {
        matchers.allSatisfy { $0.matches(labels) }
    }

    /// `{a="b", c=~"d.*"}`, the form ``parse(_:)`` reads back.
    public var description: String { "{" + matchers.map(\.description).joined(separator: ", ") + "}" }

    /// Parses matchers exactly as Alertmanager 0.25's `labels.ParseMatchers`: `{a="b", c=~"d.*"}`,
    /// the same without braces, and bare values (`a=b`, `c!~d.*`, as `amtool` passes them).
    /// Commas inside quotes do not split; `\"`, `\\` and `\n` are escapes inside values, any other
    /// backslash is kept as is. Empty text is an empty list.
    public static func parse(_ text: String) throws(LabelMatcherError) -> LabelMatchers {
        var s = Substring(text)
        if s.hasPrefix("{") { s = s.dropFirst() }
        if s.hasSuffix("}") { s = s.dropLast() }
        var tokens: [String] = []
        var token = String.UnicodeScalarView()
        var insideQuotes = false, escaped = false
        for c in s.unicodeScalars {
            // The same state machine as Go's, including its quirk that a comma inside quotes
            // leaves a pending escape pending.
            switch c {
            case ",":
                if !insideQuotes {
                    tokens.append(String(token))
                    token = String.UnicodeScalarView()
                    guard tokens.count <= maxCount else { throw .tooMany(limit: maxCount) }
                    continue
                }
            case "\"":
                if !escaped { insideQuotes.toggle() } else { escaped = false }
            case "\\":
                escaped.toggle()
            default:
                escaped = false
            }
            token.append(c)
        }
        let last = trimSpace(Substring(String(token)))
        if !last.isEmpty { tokens.append(String(last)) }
        guard tokens.count <= maxCount else { throw .tooMany(limit: maxCount) }
        var out: [LabelMatcher] = []
        out.reserveCapacity(tokens.count)
        for t in tokens { out.append(try parseMatcher(t)) }
        return LabelMatchers(out)
    }

    /// One matcher, `name op value`, as Alertmanager's `labels.ParseMatcher`.
    public static func parseMatcher(_ text: String) throws(LabelMatcherError) -> LabelMatcher {
        let u = Array(text.unicodeScalars)
        var i = 0
        while i < u.count, isSpace(u[i]) { i += 1 }
        let nameStart = i
        guard i < u.count, isNameStart(u[i]) else { throw .badFormat(text) }
        while i < u.count, isNameStart(u[i]) || ("0"..."9").contains(u[i]) { i += 1 }
        let name = string(u[nameStart..<i])
        while i < u.count, isSpace(u[i]) { i += 1 }
        let type: LabelMatcher.MatchType
        func at(_ k: Int) -> Unicode.Scalar? { k < u.count ? u[k] : nil }
        switch (at(i), at(i + 1)) {
        case ("=", "~"): type = .regexp; i += 2
        case ("=", _): type = .equal; i += 1
        case ("!", "="): type = .notEqual; i += 2
        case ("!", "~"): type = .notRegexp; i += 2
        default: throw .badFormat(text)
        }
        while i < u.count, isSpace(u[i]) { i += 1 }
        var end = u.count
        while end > i, isSpace(u[end - 1]) { end -= 1 }
        let raw = Array(u[i..<end])
        let rawText = string(raw[...])

        var body = raw[...]
        var expectTrailingQuote = false
        if body.first == "\"" {
            body = body.dropFirst()
            expectTrailingQuote = true
        }
        var value = String.UnicodeScalarView()
        var escaped = false
        let lastIndex = body.endIndex - 1
        for k in body.indices {
            let c = body[k]
            if escaped {
                escaped = false
                switch c {
                case "n": value.append("\n")
                case "\"", "\\": value.append(c)
                default:
                    // A spurious escape: the backslash is kept.
                    value.append("\\")
                    value.append(c)
                }
                continue
            }
            switch c {
            case "\\":
                if k < lastIndex {
                    escaped = true
                    continue
                }
                value.append("\\")
            case "\"":
                if !expectTrailingQuote || k < lastIndex { throw .unescapedQuote(rawText) }
                expectTrailingQuote = false
            default:
                value.append(c)
            }
        }
        if expectTrailingQuote { throw .missingClosingQuote(rawText) }
        return try LabelMatcher(name: name, type: type, value: String(value))
    }

    /// Go's `\s` in RE2: tab, newline, form feed, carriage return, space.
    static func isSpace(_ c: Unicode.Scalar) -> Bool {
        c == " " || c == "\t" || c == "\n" || c == "\r" || c == "\u{0C}"
    }
    static func isNameStart(_ c: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(c) || ("A"..."Z").contains(c) || c == "_" || c == ":"
    }
    static func string(_ s: ArraySlice<Unicode.Scalar>) -> String {
        var v = String.UnicodeScalarView()
        v.append(contentsOf: s)
        return String(v)
    }
    /// Go's `strings.TrimSpace` (Unicode white space).
    static func trimSpace(_ s: Substring) -> Substring {
        let scalars = s.unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        return Substring(scalars[first...last])
    }
}
