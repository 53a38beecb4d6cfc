/// A regular expression in the RE2 syntax that Go's `regexp` package (and so Alertmanager's
/// matchers) accepts, parsed into a tree that ``RE2Program`` compiles and runs in linear time.
///
/// Vigil does not hand matcher regexes to Swift's `Regex`: it accepts more than Go (look-around,
/// back-references, possessive quantifiers), matches grapheme clusters rather than scalars, gives
/// `\d`, `\s`, `\w` Unicode meanings, and backtracks (a hostile `(a|a)*b` would take exponential
/// time on every incident a silence is checked against). Differences from Go, all refusals of
/// input Go would accept: Unicode script classes (`\p{Greek}`), nesting deeper than
/// ``RE2Syntax/maxDepth`` and programs larger than ``RE2Program/maxInstructions``.
public enum RE2Syntax {
    /// Parenthesis nesting allowed (Go allows 1000; 100 keeps the compiler's recursion shallow).
    public static let maxDepth = 100
    /// Go's limit on a counted repetition, and on the product of nested counts.
    public static let maxRepeat = 1000

    /// A zero-width assertion.
    public enum Assertion: Sendable, Equatable {
        case beginText, endText, beginLine, endLine, wordBoundary, notWordBoundary
    }

    /// One element of a bracketed or Perl class.
    public enum ClassItem: Sendable, Equatable {
        /// Scalar values in any of the ranges (or, negated, in none of them).
        case ranges([ClosedRange<UInt32>], negated: Bool)
        /// Scalars of any of the general categories (or, negated, of none of them).
        case categories([Unicode.GeneralCategory], negated: Bool)
    }

    /// A set of scalars; `foldCase` when it was written under `(?i)`.
    public struct CharClass: Sendable, Equatable {
        public var items: [ClassItem]
        public var negated: Bool
        public var foldCase: Bool
    }

    /// The parsed expression.
    public indirect enum Node: Sendable, Equatable {
        case empty
        /// A scalar value; Go allows escapes of surrogates (`\x{D800}`), which match nothing.
        case literal(UInt32, foldCase: Bool)
        case anyChar(matchesNewline: Bool)
        case charClass(CharClass)
        case assertion(Assertion)
        case concat([Node])
        case alternate([Node])
        case `repeat`(Node, min: Int, max: Int?)
        case group(Node)
    }

    /// Why a pattern was refused, worded as Go's `regexp/syntax` words it.
    public struct Error: Swift.Error, Sendable, Equatable, CustomStringConvertible {
        /// Go's error code text, e.g. `missing closing )`.
        public var code: String
        /// The offending part of the pattern.
        public var expression: String
        public var description: String { "error parsing regexp: \(code): `\(expression)`" }
    }
}

extension RE2Syntax {
    /// Parses `pattern` as Go's `regexp.Compile` would (Perl flags), or says why not.
    public static func parse(_ pattern: String) throws(Error) -> Node {
        var parser = Parser(Array(pattern.unicodeScalars))
        return try parser.parseAll()
    }

    struct Flags {
        var foldCase = false, multiLine = false, dotNL = false
    }

    struct Parser {
        let s: [Unicode.Scalar]
        var i = 0
        init(_ s: [Unicode.Scalar]) { self.s = s }

        func text(_ from: Int, _ to: Int) -> String {
            var out = String.UnicodeScalarView()
            out.append(contentsOf: s[max(0, from)..<min(to, s.count)])
            return String(out)
        }
        func fail(_ code: String, _ from: Int, _ to: Int) -> Error { Error(code: code, expression: text(from, to)) }
        var atEnd: Bool { i >= s.count }
        func peek(_ k: Int = 0) -> Unicode.Scalar? { i + k < s.count ? s[i + k] : nil }

        mutating func parseAll() throws(Error) -> Node {
            var flags = Flags()
            let node = try parseAlternation(&flags, depth: 0)
            if !atEnd { throw fail("unexpected )", 0, s.count) }
            return node
        }

        /// Alternatives up to an unmatched `)` or the end; the flags a `(?i)` sets last to the group's end.
        mutating func parseAlternation(_ flags: inout Flags, depth: Int) throws(Error) -> Node {
            var branches: [Node] = []
            var items: [Node] = []
            var lastWasRepeat: Int? = nil
            while let c = peek(), c != ")" {
                let start = i
                switch c {
                case "|":
                    i += 1
                    branches.append(Self.concat(items))
                    items = []
                    lastWasRepeat = nil
                    continue
                case "*", "+", "?", "{":
                    var minCount = 0, maxCount: Int? = nil
                    if c == "{" {
                        guard let (lo, hi, end) = parseCount() else {
                            i += 1
                            items.append(.literal(0x7B, foldCase: flags.foldCase))
                            lastWasRepeat = nil
                            continue
                        }
                        guard lo <= RE2Syntax.maxRepeat, (hi ?? lo) <= RE2Syntax.maxRepeat, hi.map({ $0 >= lo }) ?? true
                        else { throw fail("invalid repeat count", start, end) }
                        (minCount, maxCount) = (lo, hi)
                        i = end
                    } else {
                        i += 1
                        (minCount, maxCount) = c == "*" ? (0, nil) : c == "+" ? (1, nil) : (0, 1)
                    }
                    if peek() == "?" { i += 1 }
                    if let previous = lastWasRepeat { throw fail("invalid nested repetition operator", previous, i) }
                    guard let last = items.popLast(), !Self.isEmptyMarker(last) else {
                        throw fail("missing argument to repetition operator", start, i)
                    }
                    let node = Node.repeat(last, min: minCount, max: maxCount)
                    guard Self.repeatProduct(node) <= RE2Syntax.maxRepeat else {
                        throw fail("invalid repeat count", start, i)
                    }
                    items.append(node)
                    lastWasRepeat = start
                    continue
                case "(":
                    if let node = try parseGroup(&flags, depth: depth) { items.append(node) }
                    else { items.append(.empty) }
                case "^":
                    i += 1
                    items.append(.assertion(flags.multiLine ? .beginLine : .beginText))
                case "$":
                    i += 1
                    items.append(.assertion(flags.multiLine ? .endLine : .endText))
                case ".":
                    i += 1
                    items.append(.anyChar(matchesNewline: flags.dotNL))
                case "[":
                    items.append(.charClass(try parseClass(flags)))
                case "\\":
                    items.append(contentsOf: try parseBackslash(flags))
                default:
                    i += 1
                    items.append(.literal(c.value, foldCase: flags.foldCase))
                }
                lastWasRepeat = nil
            }
            branches.append(Self.concat(items))
            return branches.count == 1 ? branches[0] : .alternate(branches)
        }

        /// `.empty` stands for a flag group like `(?i)`, which nothing may repeat.
        static func isEmptyMarker(_ n: Node) -> Bool { n == .empty }

        static func concat(_ items: [Node]) -> Node {
            let kept = items.filter { $0 != .empty }
            return kept.isEmpty ? .empty : kept.count == 1 ? kept[0] : .concat(kept)
        }

        /// The largest count nested repeats multiply to (Go refuses more than 1000).
        static func repeatProduct(_ n: Node) -> Int {
            switch n {
            case .repeat(let sub, let lo, let hi):
                let (p, o) = max(hi ?? lo, 1).multipliedReportingOverflow(by: repeatProduct(sub))
                return o ? Int.max : p
            case .group(let sub): return repeatProduct(sub)
            case .concat(let xs), .alternate(let xs): return xs.map(repeatProduct).max() ?? 1
            default: return 1
            }
        }

        /// `{n}`, `{n,}`, `{n,m}` at `i`: (min, max, index after); nil when the brace is a literal (as in Go).
        func parseCount() -> (Int, Int?, Int)? {
            var j = i + 1
            func number() -> Int? {
                guard j < s.count, let d = Self.digit(s[j]) else { return nil }
                // Go reads `{01}` as literal text: no leading zeros.
                if d == 0, j + 1 < s.count, Self.digit(s[j + 1]) != nil { return nil }
                var v = 0
                while j < s.count, let d = Self.digit(s[j]) {
                    v = min(v * 10 + d, 100_000_000)
                    j += 1
                }
                return v
            }
            guard let lo = number(), j < s.count else { return nil }
            var hi: Int? = lo
            if s[j] == "," {
                j += 1
                guard j < s.count else { return nil }
                if s[j] == "}" { hi = nil } else {
                    guard let h = number() else { return nil }
                    hi = h
                }
            }
            guard j < s.count, s[j] == "}" else { return nil }
            return (lo, hi, j + 1)
        }

        static func digit(_ c: Unicode.Scalar) -> Int? {
            c.value >= 48 && c.value <= 57 ? Int(c.value - 48) : nil
        }

        /// A group, or a flag setting (returns nil: it only changed `flags`).
        mutating func parseGroup(_ flags: inout Flags, depth: Int) throws(Error) -> Node? {
            let start = i
            guard depth < RE2Syntax.maxDepth else { throw fail("expression nests too deeply", start, s.count) }
            i += 1
            var inner = flags
            if peek() == "?" {
                if peek(1) == "P" {
                    guard peek(2) == "<" else { throw fail("invalid or unsupported Perl syntax", start, min(i + 3, s.count)) }
                    var j = i + 3
                    while j < s.count, s[j] != ">" { j += 1 }
                    guard j < s.count else { throw fail("invalid named capture", start, s.count) }
                    let name = s[(i + 3)..<j]
                    guard !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0 == "_" || $0.properties.isAlphabetic || ("0"..."9").contains($0)) })
                    else { throw fail("invalid named capture", start, j + 1) }
                    i = j + 1
                } else {
                    // (?flags) or (?flags:re)
                    var j = i + 1
                    var negate = false, sawFlag = false
                    var f = flags
                    while true {
                        guard j < s.count else { throw fail("invalid or unsupported Perl syntax", start, s.count) }
                        let c = s[j]
                        switch c {
                        case "i": f.foldCase = !negate
                        case "m": f.multiLine = !negate
                        case "s": f.dotNL = !negate
                        case "U": break
                        case "-":
                            guard !negate else { throw fail("invalid or unsupported Perl syntax", start, j + 1) }
                            negate = true
                            sawFlag = false
                            j += 1
                            continue
                        case ":", ")":
                            // Go refuses `(?-)` and `(?i-:`: a minus with no flag after it.
                            if negate && !sawFlag { throw fail("invalid or unsupported Perl syntax", start, j + 1) }
                            i = j + 1
                            if c == ")" {
                                flags = f
                                return nil
                            }
                            inner = f
                            let body = try parseAlternation(&inner, depth: depth + 1)
                            guard peek() == ")" else { throw fail("missing closing )", 0, s.count) }
                            i += 1
                            return .group(body)
                        default:
                            throw fail("invalid or unsupported Perl syntax", start, j + 1)
                        }
                        sawFlag = true
                        j += 1
                    }
                }
            }
            let body = try parseAlternation(&inner, depth: depth + 1)
            guard peek() == ")" else { throw fail("missing closing )", 0, s.count) }
            i += 1
            return .group(body)
        }
    }
}
