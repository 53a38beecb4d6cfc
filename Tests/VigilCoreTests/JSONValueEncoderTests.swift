import Foundation
import Testing
@testable import VigilCore

/// `JSONValue.encoding` builds the value directly; it must give exactly what the JSON text round
/// trip (`JSONEncoder` with default strategies, then decoding a `JSONValue`) gave.
struct JSONValueEncoderTests {
    private func roundTrip<T: Encodable>(_ value: T) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(value))
    }

    enum Tone: String, Codable { case calm, loud }

    struct Inner: Codable, Equatable {
        var name: String
        var count: Int
        var ratio: Double
        var maybe: String?
        var flags: [Bool]
    }

    struct Outer: Encodable {
        var id: String
        var when: Date
        var blob: Data
        var link: URL
        var tone: Tone
        var inner: Inner
        var list: [Inner]
        var byName: [String: Int]
        var byNumber: [Int: String]
        var nested: [[String: [Int64]]]
        var nothing: String?
        var explicitNull: JSONValue
        var free: JSONValue
        var small: Int8
        var unsigned: UInt32
        var float: Float

        enum CodingKeys: String, CodingKey {
            case id, when, blob, link, tone, inner, list, byName, byNumber, nested, nothing, explicitNull, free, small, unsigned, float
            case extra
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(id, forKey: .id)
            try c.encode(when, forKey: .when)
            try c.encode(blob, forKey: .blob)
            try c.encode(link, forKey: .link)
            try c.encode(tone, forKey: .tone)
            try c.encode(inner, forKey: .inner)
            try c.encode(list, forKey: .list)
            try c.encode(byName, forKey: .byName)
            try c.encode(byNumber, forKey: .byNumber)
            try c.encode(nested, forKey: .nested)
            try c.encodeIfPresent(nothing, forKey: .nothing)
            try c.encode(explicitNull, forKey: .explicitNull)
            try c.encode(free, forKey: .free)
            try c.encode(small, forKey: .small)
            try c.encode(unsigned, forKey: .unsigned)
            try c.encode(float, forKey: .float)
            var extra = c.nestedUnkeyedContainer(forKey: .extra)
            try extra.encode("a")
            try extra.encodeNil()
            var deeper = extra.nestedContainer(keyedBy: CodingKeys.self)
            try deeper.encode(3, forKey: .id)
        }
    }

    @Test func givesWhatTheTextRoundTripGave() throws {
        let inner = Inner(name: "wé\u{1F600}\"\\\n", count: -42, ratio: 0.1, maybe: nil, flags: [true, false])
        let value = Outer(id: "INC-1", when: Date(timeIntervalSince1970: 1_790_000_000.25), blob: Data([0, 1, 2, 255]),
                          link: try #require(URL(string: "https://example.org/a?b=c d".addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) ?? "")),
                          tone: .loud, inner: inner, list: [inner, Inner(name: "", count: Int.max, ratio: -1e300, maybe: "x", flags: [])],
                          byName: ["a": 1, "b": 2], byNumber: [1: "one", -2: "minus two"], nested: [["k": [1, Int64.min]], [:]],
                          nothing: nil, explicitNull: .null,
                          free: .object(["n": .number(3), "s": .array([.string("x"), .bool(true), .null, .number(2.5)])]),
                          small: -8, unsigned: 4_000_000_000, float: 1.5)
        #expect(try JSONValue.encoding(value) == roundTrip(value))
        #expect(try JSONValue.encoding([inner]) == roundTrip([inner]))
        #expect(try JSONValue.encoding("top") == .string("top"))
        #expect(try JSONValue.encoding(Optional<Int>.none) == roundTrip(Optional<Int>.none))
    }

    @Test func refusesWhatJSONCannotHold() {
        #expect(throws: EncodingError.self) { try JSONValue.encoding([Double.nan]) }
        #expect(throws: EncodingError.self) { try JSONValue.encoding(Inner(name: "", count: 0, ratio: .infinity, maybe: nil, flags: [])) }
        #expect(throws: EncodingError.self) { try JSONValue.encoding(["x": Float.infinity]) }
    }
}
