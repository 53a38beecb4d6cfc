import Foundation
import Testing
import VigilCore

@Suite struct JSONValueTextTests {
    /// SplitMix64: the same values on every run.
    struct Seeded: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let pieces = ["", "a", "B", "_", "a10", "a9", "é", "/", "\"", "\\", "\n", "\t", "\u{0}", "\u{8}", "\u{c}", "\u{1f}",
                         "\u{7f}", "\u{2028}", "🚨", "中"]

    static func string(_ rng: inout Seeded) -> String {
        (0..<Int.random(in: 0...4, using: &rng)).map { _ in pieces.randomElement(using: &rng) ?? "" }.joined()
    }

    static func value(_ rng: inout Seeded, depth: Int) -> JSONValue {
        switch Int.random(in: 0...(depth > 2 ? 3 : 5), using: &rng) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &rng))
        case 2:
            let numbers: [Double] = [0, -0.0, 1, -1, 0.1, 1e20, 1e-7, 9e15, 9.5e15, 123456789012345678, -0.5, 1.5e300, 5e-324,
                                     Double(Int.random(in: -1_000_000...1_000_000, using: &rng)) / 64]
            return .number(numbers.randomElement(using: &rng) ?? 0)
        case 3: return .string(string(&rng))
        case 4: return .array((0..<Int.random(in: 0...4, using: &rng)).map { _ in value(&rng, depth: depth + 1) })
        default:
            var o: [String: JSONValue] = [:]
            for _ in 0..<Int.random(in: 0...5, using: &rng) { o[string(&rng)] = value(&rng, depth: depth + 1) }
            return .object(o)
        }
    }

    @Test func theTextIsWhatJSONEncoderWrites() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var rng = Seeded(state: 2026)
        for _ in 0..<2_000 {
            let v = Self.value(&rng, depth: 0)
            let expected = String(decoding: try encoder.encode(v), as: UTF8.self)
            #expect(v.description == expected)
            #expect(try JSONDecoder().decode(JSONValue.self, from: Data(v.description.utf8)) == v.normalised)
        }
    }

    @Test func valuesJSONCannotCarryAreNull() {
        #expect(JSONValue.number(.nan).description == "null")
        #expect(JSONValue.array([.number(1), .number(.infinity)]).description == "null")
        #expect(JSONValue.object(["a": .number(-.infinity)]).description == "null")
    }
}

extension JSONValue {
    /// -0 reads back as 0 (it is written as an integer).
    var normalised: JSONValue {
        switch self {
        case .number(let n) where n == 0: .number(0)
        case .array(let a): .array(a.map(\.normalised))
        case .object(let o): .object(o.mapValues(\.normalised))
        default: self
        }
    }
}
