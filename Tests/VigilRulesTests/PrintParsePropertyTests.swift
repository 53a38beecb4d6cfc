import Testing
import VigilCore
import VigilRules

/// A small deterministic generator (SplitMix64), so every run checks the same cases.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Random well-formed rules: every construct of the language, with awkward numbers and strings.
struct RuleGenerator {
    var rng: SeededRandom

    mutating func pick<T>(_ items: [T]) -> T { items[Int.random(in: 0..<items.count, using: &rng)] }
    mutating func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &rng) < p }

    mutating func name() -> String {
        let words = ["cpu", "usage", "disk", "space", "queue", "depth", "fps", "rate", "x", "a1", "node:load", "_hidden"]
        return (0..<Int.random(in: 1...3, using: &rng)).map { _ in pick(words) }.joined(separator: "_")
    }

    mutating func labelValue() -> String {
        let pieces = ["web-1", "/var/lib", "a\"quote", "back\\slash", "tab\there", "new\nline", "µs", "", "日本", "x y"]
        return pick(pieces) + (chance(0.3) ? pick(pieces) : "")
    }

    mutating func number() -> Double {
        switch Int.random(in: 0..<6, using: &rng) {
        case 0: return Double(Int.random(in: 0...100, using: &rng))
        case 1: return Double(Int.random(in: -1_000_000...1_000_000, using: &rng)) / 1000
        case 2: return Double.random(in: 0..<1, using: &rng)
        case 3: return Double(Int.random(in: 1...9, using: &rng)) * 1e20
        case 4: return Double(Int.random(in: 1...9, using: &rng)) * 1e-7
        default: return Double(Int.random(in: 0...5_000_000, using: &rng))
        }
    }

    mutating func duration() -> Duration {
        switch Int.random(in: 0..<4, using: &rng) {
        case 0: return .seconds(Int.random(in: 0...100_000, using: &rng))
        case 1: return .milliseconds(Int.random(in: 0...10_000_000, using: &rng))
        case 2: return .nanoseconds(Int64.random(in: 0...999_999_999_999, using: &rng))
        default: return .seconds(60 * Int.random(in: 1...1440, using: &rng))
        }
    }

    mutating func expression() -> RuleExpression {
        var selector = MetricSelector(name: name())
        if chance(0.2) { selector.component = name() }
        if chance(0.4) {
            selector.matchers = (0..<Int.random(in: 1...3, using: &rng)).map { _ in
                let op = pick(LabelMatcher.Operator.allCases)
                let value = (op == .matches || op == .notMatches) ? pick(["web-.*", "a|b", "[0-9]+", "\\.\\*", ""]) : labelValue()
                return LabelMatcher(key: pick(["host", "disk", "source", "component", "le"]), op: op, value: value)
            }
        }
        guard chance(0.85) else { return RuleExpression(selector: selector) }
        var c = Condition(comparator: pick(Comparator.allCases), threshold: number())
        if chance(0.7) { c.unit = pick(ThresholdUnit.allCases) }
        c.available = chance(0.15)
        switch Int.random(in: 0..<4, using: &rng) {
        case 0: c.timing = .instant
        case 1: c.timing = .holdsFor(duration())
        case 2: c.timing = .consistently
        default:
            var d = duration()
            if d == .zero { d = .seconds(1) }
            c.timing = .window(d)
            if c.unit == .percent { c.threshold = abs(c.threshold) }
        }
        if chance(0.25) { c.keepFiringFor = duration() }
        return RuleExpression(selector: selector, condition: c)
    }
}

@Suite struct PrintParsePropertyTests {
    @Test func parsingThePrintedFormGivesBackTheSameRule() throws {
        var g = RuleGenerator(rng: SeededRandom(seed: 0x5EED_0004))
        for _ in 0..<3000 {
            let e = g.expression()
            let text = e.description
            let parsed: RuleExpression
            do {
                parsed = try RuleParser.parse(text)
            } catch {
                Issue.record("\(text) does not parse: \(error)")
                continue
            }
            #expect(parsed == e, "\(text)")
            #expect(parsed.description == text)
        }
    }

    @Test func noInputCrashesTheParserAndEveryErrorIsInsideTheText() {
        var rng = SeededRandom(seed: 42)
        let pieces = ["cpu", " ", ">", "<=", "90", "%", "for", "in", "5", "minutes", "{", "}", "=", "\"", "x", ",", "=~",
                      "available", "consistently", "keep_firing_for", "-", ".", "e", "ms", "KiB", "µ", "!", "\\", "#", "\n"]
        var parsed = 0
        for _ in 0..<20_000 {
            let text = (0..<Int.random(in: 0...12, using: &rng)).map { _ in pieces[Int.random(in: 0..<pieces.count, using: &rng)] }
                .joined()
            do {
                let e = try RuleParser.parse(text)
                parsed += 1
                #expect(try RuleParser.parse(e.description) == e, "\(text)")
            } catch {
                #expect(error.offset >= 0 && error.offset <= text.unicodeScalars.count, "\(text)")
                #expect(!error.message.isEmpty)
            }
        }
        #expect(parsed > 100) // the soup really exercises both paths
    }
}
