/// One token of a rule's text, with where it starts and ends (offsets in Unicode scalars, as YAML
/// columns are counted).
struct RuleToken: Equatable {
    enum Kind: Equatable {
        case word
        case number(Double)
        case string(String)
        /// `>`, `>=`, `<`, `<=`, `==`, `!=`, `=`, `=~`, `!~`, `%`, `{`, `}`, `,`
        case symbol
        case end
    }

    var kind: Kind
    var text: String
    var start: Int
    var end: Int

    /// How the token is named in an error message.
    var shown: String {
        switch kind {
        case .end: "the end of the rule"
        case .string: "\"\(text)\""
        default: "`\(text)`"
        }
    }
}

/// Splits rule text into tokens; the only errors it reports are characters no rule may contain and
/// unterminated strings.
struct RuleLexer {
    let scalars: [Unicode.Scalar]

    init(_ text: String) { scalars = Array(text.unicodeScalars) }

    func slice(_ from: Int, _ to: Int) -> String {
        var s = String.UnicodeScalarView()
        s.append(contentsOf: scalars[max(0, from)..<min(to, scalars.count)])
        return String(s)
    }

    static func isWordStart(_ c: Unicode.Scalar) -> Bool {
        (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || c == "_" || c == ":" || c == "µ"
    }

    static func isWordPart(_ c: Unicode.Scalar) -> Bool { isWordStart(c) || isDigit(c) }

    static func isDigit(_ c: Unicode.Scalar) -> Bool { c >= "0" && c <= "9" }

    func tokens() throws(RuleSyntaxError) -> [RuleToken] {
        var out: [RuleToken] = []
        var i = 0
        let n = scalars.count
        while i < n {
            let c = scalars[i]
            if c == " " || c == "\t" || c == "\n" || c == "\r" { i += 1; continue }
            let start = i
            if Self.isWordStart(c) {
                while i < n, Self.isWordPart(scalars[i]) { i += 1 }
                out.append(RuleToken(kind: .word, text: slice(start, i), start: start, end: i))
            } else if Self.isDigit(c) || (c == "-" && i + 1 < n && Self.isDigit(scalars[i + 1])) || (c == "." && i + 1 < n && Self.isDigit(scalars[i + 1])) {
                i += 1
                while i < n, Self.isDigit(scalars[i]) || scalars[i] == "." { i += 1 }
                // An exponent only when digits follow, so `5e` is not swallowed from `5ev…`.
                if i < n, scalars[i] == "e" || scalars[i] == "E" {
                    var j = i + 1
                    if j < n, scalars[j] == "+" || scalars[j] == "-" { j += 1 }
                    if j < n, Self.isDigit(scalars[j]) {
                        i = j
                        while i < n, Self.isDigit(scalars[i]) { i += 1 }
                    }
                }
                let text = slice(start, i)
                guard let value = Double(text), value.isFinite else {
                    throw RuleSyntaxError(offset: start, "\"\(text)\" is not a number")
                }
                out.append(RuleToken(kind: .number(value), text: text, start: start, end: i))
            } else if c == "\"" || c == "'" {
                out.append(try string(from: &i, quote: c))
            } else {
                let two = i + 1 < n ? slice(i, i + 2) : ""
                if [">=", "<=", "==", "!=", "=~", "!~"].contains(two) {
                    i += 2
                    out.append(RuleToken(kind: .symbol, text: two, start: start, end: i))
                } else if [">", "<", "=", "%", "{", "}", ","].contains(String(c)) {
                    i += 1
                    out.append(RuleToken(kind: .symbol, text: String(c), start: start, end: i))
                } else {
                    throw RuleSyntaxError(offset: start, "unexpected character \"\(String(c))\"")
                }
            }
        }
        out.append(RuleToken(kind: .end, text: "", start: n, end: n))
        return out
    }

    private func string(from i: inout Int, quote: Unicode.Scalar) throws(RuleSyntaxError) -> RuleToken {
        let start = i
        i += 1
        var value = String.UnicodeScalarView()
        while i < scalars.count {
            let c = scalars[i]
            if c == quote {
                i += 1
                return RuleToken(kind: .string(String(value)), text: String(value), start: start, end: i)
            }
            if c == "\\", i + 1 < scalars.count {
                let e = scalars[i + 1]
                switch e {
                case "n": value.append("\n")
                case "t": value.append("\t")
                default: value.append(e)
                }
                i += 2
                continue
            }
            value.append(c)
            i += 1
        }
        throw RuleSyntaxError(offset: start, "this string has no closing \(quote == "\"" ? "double quote" : "quote")")
    }
}
