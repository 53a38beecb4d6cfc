// Backslash escapes and character classes of the RE2 syntax, as Go's regexp/syntax reads them.

extension RE2Syntax.Parser {
    typealias Node = RE2Syntax.Node
    typealias Flags = RE2Syntax.Flags

    /// A backslash in the main expression: an assertion, `\Q…\E` literals, a class or one escaped scalar.
    mutating func parseBackslash(_ flags: Flags) throws(RE2Syntax.Error) -> [Node] {
        let start = i
        if let c = peek(1) {
            switch c {
            case "A": i += 2; return [.assertion(.beginText)]
            case "z": i += 2; return [.assertion(.endText)]
            case "b": i += 2; return [.assertion(.wordBoundary)]
            case "B": i += 2; return [.assertion(.notWordBoundary)]
            case "C": throw fail("invalid escape sequence", start, start + 2)
            case "Q":
                var j = i + 2
                var out: [Node] = []
                while j < s.count, !(s[j] == "\\" && j + 1 < s.count && s[j + 1] == "E") {
                    out.append(.literal(s[j].value, foldCase: flags.foldCase))
                    j += 1
                }
                i = j < s.count ? j + 2 : j
                return out
            default: break
            }
        }
        if let item = try parseUnicodeClass() ?? parsePerlClass() {
            return [.charClass(.init(items: [item], negated: false, foldCase: flags.foldCase))]
        }
        return [.literal(try parseEscape(), foldCase: flags.foldCase)]
    }

    /// One escaped scalar (`\n`, `\x41`, `\x{263a}`, `\101`, `\.`); Go refuses every other letter.
    mutating func parseEscape() throws(RE2Syntax.Error) -> UInt32 {
        let start = i
        guard let c = peek(1) else { throw fail("trailing backslash at end of expression", start, start) }
        i += 2
        switch c {
        case "1"..."7", "0":
            // A lone non-zero digit is a back-reference, which RE2 does not have.
            if c != "0", !(peek().map { ("0"..."7").contains($0) } ?? false) { break }
            var v = c.value - 48
            for _ in 1..<3 {
                guard let d = peek(), ("0"..."7").contains(d) else { break }
                v = v * 8 + d.value - 48
                i += 1
            }
            return v
        case "x":
            guard let first = peek() else { break }
            i += 1
            if first == "{" {
                var v: UInt32 = 0, digits = 0
                while true {
                    guard let d = peek() else { throw fail("invalid escape sequence", start, i) }
                    i += 1
                    if d == "}" { break }
                    guard let h = Self.hex(d) else { throw fail("invalid escape sequence", start, i) }
                    v = v * 16 + h
                    guard v <= 0x10FFFF else { throw fail("invalid escape sequence", start, i) }
                    digits += 1
                }
                guard digits > 0 else { throw fail("invalid escape sequence", start, i) }
                return v
            }
            guard let second = peek() else { throw fail("invalid escape sequence", start, i) }
            i += 1
            guard let x = Self.hex(first), let y = Self.hex(second) else { break }
            return x * 16 + y
        case "a": return 7
        case "f": return 12
        case "n": return 10
        case "r": return 13
        case "t": return 9
        case "v": return 11
        default:
            // Escaped ASCII punctuation (and space) stands for itself; letters and digits do not.
            if c.isASCII, !(c.properties.isAlphabetic || ("0"..."9").contains(c)) { return c.value }
        }
        throw fail("invalid escape sequence", start, i)
    }

    static func hex(_ c: Unicode.Scalar) -> UInt32? {
        switch c {
        case "0"..."9": return c.value - 48
        case "a"..."f": return c.value - 87
        case "A"..."F": return c.value - 55
        default: return nil
        }
    }

    /// `\d \D \s \S \w \W` (ASCII meanings, as Go's).
    mutating func parsePerlClass() -> RE2Syntax.ClassItem? {
        guard peek() == "\\", let c = peek(1) else { return nil }
        let item: RE2Syntax.ClassItem
        switch c {
        case "d", "D": item = .ranges(Self.digits, negated: c == "D")
        case "s", "S": item = .ranges(Self.space, negated: c == "S")
        case "w", "W": item = .ranges(Self.word, negated: c == "W")
        default: return nil
        }
        i += 2
        return item
    }

    static let digits: [ClosedRange<UInt32>] = [48...57]
    static let space: [ClosedRange<UInt32>] = [9...10, 12...13, 32...32]
    static let word: [ClosedRange<UInt32>] = [48...57, 65...90, 95...95, 97...122]

    /// `\pL`, `\p{Lu}`, `\P{L}`, `\p{^L}`, `\p{Any}`; scripts (`\p{Greek}`) are refused (a Vigil difference).
    mutating func parseUnicodeClass() throws(RE2Syntax.Error) -> RE2Syntax.ClassItem? {
        guard peek() == "\\", let p = peek(1), p == "p" || p == "P" else { return nil }
        let start = i
        var negated = p == "P"
        var name: [Unicode.Scalar]
        var end: Int
        if peek(2) == "{" {
            var j = i + 3
            while j < s.count, s[j] != "}" { j += 1 }
            guard j < s.count else { throw fail("invalid character class range", start, s.count) }
            name = Array(s[(i + 3)..<j])
            end = j + 1
        } else {
            name = peek(2).map { [$0] } ?? []
            end = min(i + 3, s.count)
        }
        if name.first == "^" {
            negated.toggle()
            name.removeFirst()
        }
        var text = String.UnicodeScalarView()
        text.append(contentsOf: name)
        let key = String(text)
        if key == "Any" {
            i = end
            return .ranges([0...0x10FFFF], negated: negated)
        }
        guard let categories = Self.generalCategories[key] else {
            throw fail("invalid character class range", start, end)
        }
        i = end
        return .categories(categories, negated: negated)
    }

    /// Go's `unicode.Categories` names (no `Cn`, no `LC`).
    static let generalCategories: [String: [Unicode.GeneralCategory]] = {
        let table: [(String, [Unicode.GeneralCategory])] = [
            ("Lu", [.uppercaseLetter]), ("Ll", [.lowercaseLetter]), ("Lt", [.titlecaseLetter]),
            ("Lm", [.modifierLetter]), ("Lo", [.otherLetter]),
            ("Mn", [.nonspacingMark]), ("Mc", [.spacingMark]), ("Me", [.enclosingMark]),
            ("Nd", [.decimalNumber]), ("Nl", [.letterNumber]), ("No", [.otherNumber]),
            ("Pc", [.connectorPunctuation]), ("Pd", [.dashPunctuation]), ("Ps", [.openPunctuation]),
            ("Pe", [.closePunctuation]), ("Pi", [.initialPunctuation]), ("Pf", [.finalPunctuation]),
            ("Po", [.otherPunctuation]),
            ("Sm", [.mathSymbol]), ("Sc", [.currencySymbol]), ("Sk", [.modifierSymbol]), ("So", [.otherSymbol]),
            ("Zs", [.spaceSeparator]), ("Zl", [.lineSeparator]), ("Zp", [.paragraphSeparator]),
            ("Cc", [.control]), ("Cf", [.format]), ("Cs", [.surrogate]), ("Co", [.privateUse]),
        ]
        var out: [String: [Unicode.GeneralCategory]] = [:]
        for (name, cats) in table {
            out[name] = cats
            out[String(name.prefix(1)), default: []].append(contentsOf: cats)
        }
        return out
    }()

    /// POSIX classes inside brackets (`[:alpha:]`, `[:^space:]`), ASCII as in Go.
    static let posixClasses: [String: [ClosedRange<UInt32>]] = [
        "alnum": [48...57, 65...90, 97...122], "alpha": [65...90, 97...122], "ascii": [0...127],
        "blank": [9...9, 32...32], "cntrl": [0...31, 127...127], "digit": [48...57],
        "graph": [33...126], "lower": [97...122], "print": [32...126],
        "punct": [33...47, 58...64, 91...96, 123...126], "space": [9...13, 32...32],
        "upper": [65...90], "word": [48...57, 65...90, 95...95, 97...122], "xdigit": [48...57, 65...70, 97...102],
    ]

    /// A bracketed class starting at `[`.
    mutating func parseClass(_ flags: Flags) throws(RE2Syntax.Error) -> RE2Syntax.CharClass {
        let start = i
        i += 1
        var negated = false
        if peek() == "^" {
            negated = true
            i += 1
        }
        var items: [RE2Syntax.ClassItem] = []
        var ranges: [ClosedRange<UInt32>] = []
        var first = true
        while true {
            guard let c = peek() else { throw fail("missing closing ]", start, s.count) }
            if c == "]", !first { break }
            first = false
            if c == "[", peek(1) == ":" {
                var j = i + 2
                while j + 1 < s.count, !(s[j] == ":" && s[j + 1] == "]") { j += 1 }
                if j + 1 < s.count {
                    var name = String.UnicodeScalarView()
                    name.append(contentsOf: s[(i + 2)..<j])
                    var key = String(name)
                    let negatedPosix = key.hasPrefix("^")
                    if negatedPosix { key.removeFirst() }
                    guard let set = Self.posixClasses[key] else {
                        throw fail("invalid character class range", i, j + 2)
                    }
                    items.append(.ranges(set, negated: negatedPosix))
                    i = j + 2
                    continue
                }
            }
            if let item = try parseUnicodeClass() ?? parsePerlClass() {
                items.append(item)
                continue
            }
            let rangeStart = i
            let lo = try parseClassChar(classStart: start)
            var hi = lo
            if peek() == "-", let next = peek(1), next != "]" {
                i += 1
                hi = try parseClassChar(classStart: start)
                guard hi >= lo else { throw fail("invalid character class range", rangeStart, i) }
            }
            ranges.append(lo...hi)
        }
        i += 1
        if !ranges.isEmpty { items.append(.ranges(ranges, negated: false)) }
        return RE2Syntax.CharClass(items: items, negated: negated, foldCase: flags.foldCase)
    }

    mutating func parseClassChar(classStart: Int) throws(RE2Syntax.Error) -> UInt32 {
        guard let c = peek() else { throw fail("missing closing ]", classStart, s.count) }
        if c == "\\" { return try parseEscape() }
        i += 1
        return c.value
    }
}
