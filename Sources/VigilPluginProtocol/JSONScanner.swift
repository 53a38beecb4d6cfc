#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import VigilCore

/// A JSON syntax problem at a byte offset of the scanned text.
public struct JSONScanError: Error, Sendable, Equatable {
    public var offset: Int
    public var problem: String
    public init(offset: Int, problem: String) {
        self.offset = offset
        self.problem = problem
    }
}

/// A strict RFC 8259 scanner over borrowed bytes, without Foundation.
///
/// It exists because `JSONDecoder` costs several microseconds per small object; the `events`
/// hot path reads names, units and labels as byte ranges of the frame (see ``EventBatch``) and
/// only decodes a string the first time it is seen.
struct JSONScanner: ~Copyable {
    let bytes: UnsafeRawBufferPointer
    var index = 0
    /// Nesting limit: hostile input like `[[[[…` must not exhaust the stack.
    static let maximumDepth = 64

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var atEnd: Bool { index >= bytes.count }

    func fail(_ problem: String, at offset: Int? = nil) -> JSONScanError {
        JSONScanError(offset: offset ?? index, problem: problem)
    }

    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    /// The next non-space byte, without consuming it.
    mutating func peek() throws(JSONScanError) -> UInt8 {
        skipWhitespace()
        guard index < bytes.count else { throw fail("unexpected end of input") }
        return bytes[index]
    }

    mutating func expect(_ byte: UInt8, _ what: String) throws(JSONScanError) {
        guard try peek() == byte else { throw fail("expected \(what), found \(Self.describe(bytes[index]))") }
        index += 1
    }

    static func describe(_ byte: UInt8) -> String {
        (0x21...0x7E).contains(byte) ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x\(String(byte, radix: 16))"
    }

    /// After an object member or array element: true if another follows, false at the closer.
    mutating func nextItem(closer: UInt8) throws(JSONScanError) -> Bool {
        let b = try peek()
        if b == 0x2C { index += 1; return true }
        if b == closer { index += 1; return false }
        throw fail("expected ',' or '\(Character(Unicode.Scalar(closer)))', found \(Self.describe(b))")
    }

    // MARK: strings

    /// Scans a string and returns the range of its raw content (between the quotes) and whether
    /// it holds escapes; validates escapes and rejects control characters.
    mutating func stringSpan() throws(JSONScanError) -> StringSpan {
        try expect(0x22, "a string")
        let start = index
        var escaped = false
        while index < bytes.count {
            let b = bytes[index]
            if b == 0x22 {
                index += 1
                return StringSpan(start: start, end: index - 1, escaped: escaped)
            }
            if b == 0x5C {
                escaped = true
                guard index + 1 < bytes.count else { break }
                switch bytes[index + 1] {
                case 0x22, 0x5C, 0x2F, 0x62, 0x66, 0x6E, 0x72, 0x74: index += 2
                case 0x75:
                    // A `break` here would leave only the switch and rescan the same escape forever.
                    guard index + 6 <= bytes.count else { throw fail("unterminated string", at: start - 1) }
                    for k in 2..<6 where Self.hexValue(bytes[index + k]) == nil {
                        throw fail("invalid \\u escape", at: index)
                    }
                    index += 6
                default: throw fail("invalid escape \\\(Self.describe(bytes[index + 1]))")
                }
                continue
            }
            if b < 0x20 { throw fail("control character in a string") }
            index += 1
        }
        throw fail("unterminated string", at: start - 1)
    }

    static func hexValue(_ b: UInt8) -> UInt32? {
        switch b {
        case 0x30...0x39: UInt32(b - 0x30)
        case 0x41...0x46: UInt32(b - 0x41 + 10)
        case 0x61...0x66: UInt32(b - 0x61 + 10)
        default: nil
        }
    }

    /// The text of a scanned string; nil if it is not valid UTF-8 or has a lone surrogate.
    static func decode(_ span: StringSpan, in bytes: UnsafeRawBufferPointer) -> String? {
        let raw = UnsafeRawBufferPointer(rebasing: bytes[span.start..<span.end])
        if !span.escaped { return String(validating: raw, as: UTF8.self) }
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var i = 0
        while i < raw.count {
            let b = raw[i]
            guard b == 0x5C else { out.append(b); i += 1; continue }
            let e = raw[i + 1]
            i += 2
            switch e {
            case 0x62: out.append(0x08)
            case 0x66: out.append(0x0C)
            case 0x6E: out.append(0x0A)
            case 0x72: out.append(0x0D)
            case 0x74: out.append(0x09)
            case 0x75:
                var scalar = hex4(raw, i)
                i += 4
                if (0xD800...0xDBFF).contains(scalar) {
                    guard i + 6 <= raw.count, raw[i] == 0x5C, raw[i + 1] == 0x75 else { return nil }
                    let low = hex4(raw, i + 2)
                    guard (0xDC00...0xDFFF).contains(low) else { return nil }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    i += 6
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    return nil
                }
                guard let u = Unicode.Scalar(scalar) else { return nil }
                out.append(contentsOf: Array(String(Character(u)).utf8))
            default: out.append(e)
            }
        }
        return String(validating: out, as: UTF8.self)
    }

    private static func hex4(_ raw: UnsafeRawBufferPointer, _ at: Int) -> UInt32 {
        var v: UInt32 = 0
        for k in 0..<4 { v = v << 4 | (hexValue(raw[at + k]) ?? 0) }
        return v
    }

    /// Whether a span decodes to valid text; unescaped spans of a validated payload always do.
    func isValidText(_ span: StringSpan) -> Bool {
        !span.escaped || Self.decode(span, in: bytes) != nil
    }

    /// Whether `bytes` are valid UTF-8; ASCII is checked eight bytes at a time without allocating.
    static func isValidUTF8(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var i = 0
        while i + 8 <= bytes.count {
            if bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 != 0 { break }
            i += 8
        }
        while i < bytes.count, bytes[i] < 0x80 { i += 1 }
        if i == bytes.count { return true }
        return String(validating: UnsafeRawBufferPointer(rebasing: bytes[i...]), as: UTF8.self) != nil
    }

    mutating func string() throws(JSONScanError) -> String {
        let start = index
        let span = try stringSpan()
        guard let s = Self.decode(span, in: bytes) else { throw fail("string is not valid UTF-8", at: start) }
        return s
    }

    /// Whether a scanned span's raw bytes equal `literal` (an ASCII key without escapes).
    func spanEquals(_ span: StringSpan, _ literal: StaticString) -> Bool {
        guard !span.escaped, span.end - span.start == literal.utf8CodeUnitCount else { return false }
        return memcmp(bytes.baseAddress! + span.start, literal.utf8Start, literal.utf8CodeUnitCount) == 0
    }

    // MARK: numbers

    static let exactPowers: [Double] = (0...22).map { p in (0..<p).reduce(1.0) { acc, _ in acc * 10 } }

    mutating func number() throws(JSONScanError) -> Double {
        skipWhitespace()
        let start = index
        var negative = false
        if index < bytes.count, bytes[index] == 0x2D { negative = true; index += 1 }
        var mantissa: UInt64 = 0
        var digits = 0
        var exponent = 0
        guard index < bytes.count, (0x30...0x39).contains(bytes[index]) else { throw fail("expected a number", at: start) }
        if bytes[index] == 0x30 {
            index += 1
        } else {
            while index < bytes.count, (0x30...0x39).contains(bytes[index]) {
                if digits < 19 { mantissa = mantissa &* 10 &+ UInt64(bytes[index] - 0x30); digits += 1 } else { exponent += 1 }
                index += 1
            }
        }
        if index < bytes.count, bytes[index] == 0x2E {
            index += 1
            let fractionStart = index
            while index < bytes.count, (0x30...0x39).contains(bytes[index]) {
                if digits < 19 { mantissa = mantissa &* 10 &+ UInt64(bytes[index] - 0x30); digits += 1; exponent -= 1 }
                index += 1
            }
            guard index > fractionStart else { throw fail("expected a digit after '.'") }
        }
        var exact = digits <= 15
        if index < bytes.count, bytes[index] == 0x65 || bytes[index] == 0x45 {
            index += 1
            var expNegative = false
            if index < bytes.count, bytes[index] == 0x2B || bytes[index] == 0x2D { expNegative = bytes[index] == 0x2D; index += 1 }
            let expStart = index
            var e = 0
            while index < bytes.count, (0x30...0x39).contains(bytes[index]) {
                if e < 100_000 { e = e * 10 + Int(bytes[index] - 0x30) }
                index += 1
            }
            guard index > expStart else { throw fail("expected a digit in the exponent") }
            exponent += expNegative ? -e : e
        }
        if mantissa == 0 { return negative ? -0.0 : 0 }
        exact = exact && exponent >= -22 && exponent <= 22
        if exact {
            // Clinger's fast path: both operands are exact doubles, so one rounding gives the
            // correctly rounded result.
            var v = Double(mantissa)
            v = exponent < 0 ? v / Self.exactPowers[-exponent] : v * Self.exactPowers[exponent]
            return negative ? -v : v
        }
        let v = Self.slowNumber(UnsafeRawBufferPointer(rebasing: bytes[start..<index]))
        // `1e400` would be infinity, which no consumer expects and JSON cannot write back.
        guard v.isFinite else { throw fail("number out of range", at: start) }
        return v
    }

    private static func slowNumber(_ text: UnsafeRawBufferPointer) -> Double {
        var buffer = [CChar](repeating: 0, count: text.count + 1)
        for (k, b) in text.enumerated() { buffer[k] = CChar(bitPattern: b) }
        return strtod(buffer, nil)
    }

    // MARK: values

    mutating func literal(_ text: StaticString) throws(JSONScanError) {
        let n = text.utf8CodeUnitCount
        guard index + n <= bytes.count, memcmp(bytes.baseAddress! + index, text.utf8Start, n) == 0 else {
            throw fail("invalid literal")
        }
        index += n
    }

    /// Parses any value into a ``JSONValue``.
    mutating func value(depth: Int = 0) throws(JSONScanError) -> JSONValue {
        guard depth < Self.maximumDepth else { throw fail("nesting deeper than \(Self.maximumDepth) levels") }
        switch try peek() {
        case 0x7B:
            index += 1
            var object: [String: JSONValue] = [:]
            if try peek() == 0x7D { index += 1; return .object(object) }
            repeat {
                let key = try string()
                try expect(0x3A, "':'")
                object[key] = try value(depth: depth + 1)
            } while try nextItem(closer: 0x7D)
            return .object(object)
        case 0x5B:
            index += 1
            var array: [JSONValue] = []
            if try peek() == 0x5D { index += 1; return .array(array) }
            repeat { array.append(try value(depth: depth + 1)) } while try nextItem(closer: 0x5D)
            return .array(array)
        case 0x22: return .string(try string())
        case 0x74: try literal("true"); return .bool(true)
        case 0x66: try literal("false"); return .bool(false)
        case 0x6E: try literal("null"); return .null
        case 0x2D, 0x30...0x39: return .number(try number())
        case let b: throw fail("unexpected \(Self.describe(b))")
        }
    }

    /// Validates and skips any value without building it.
    mutating func skipValue(depth: Int = 0) throws(JSONScanError) {
        guard depth < Self.maximumDepth else { throw fail("nesting deeper than \(Self.maximumDepth) levels") }
        switch try peek() {
        case 0x7B:
            index += 1
            if try peek() == 0x7D { index += 1; return }
            repeat {
                _ = try stringSpan()
                try expect(0x3A, "':'")
                try skipValue(depth: depth + 1)
            } while try nextItem(closer: 0x7D)
        case 0x5B:
            index += 1
            if try peek() == 0x5D { index += 1; return }
            repeat { try skipValue(depth: depth + 1) } while try nextItem(closer: 0x5D)
        case 0x22: _ = try stringSpan()
        case 0x74: try literal("true")
        case 0x66: try literal("false")
        case 0x6E: try literal("null")
        case 0x2D, 0x30...0x39: _ = try number()
        case let b: throw fail("unexpected \(Self.describe(b))")
        }
    }

    /// Requires that nothing but whitespace follows.
    mutating func finish() throws(JSONScanError) {
        skipWhitespace()
        guard index == bytes.count else { throw fail("unexpected data after the JSON object") }
    }
}

/// The raw content of a JSON string inside scanned bytes: `start..<end`, excluding the quotes.
public struct StringSpan: Sendable, Equatable {
    public var start: Int
    public var end: Int
    /// Whether the raw bytes contain backslash escapes (and so differ from the text).
    public var escaped: Bool
}

extension JSONValue {
    /// Parses one JSON value from UTF-8 bytes with the fast scanner.
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(JSONScanError) -> JSONValue {
        var scanner = JSONScanner(bytes)
        let v = try scanner.value()
        try scanner.finish()
        return v
    }

    /// Parses one JSON value from UTF-8 bytes with the fast scanner.
    public static func parse(_ bytes: [UInt8]) throws(JSONScanError) -> JSONValue {
        try bytes.withUnsafeBytes { raw in Result { () throws(JSONScanError) -> JSONValue in try parse(raw) } }.get()
    }
}
