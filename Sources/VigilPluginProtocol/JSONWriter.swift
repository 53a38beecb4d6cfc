import VigilCore

/// Appends compact JSON to a byte buffer, without Foundation; used for every frame both sides send.
public struct JSONWriter: Sendable {
    /// The JSON written so far.
    public var bytes: [UInt8]

    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    @inline(__always) public mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    @inline(__always) public mutating func byte(_ b: UInt8) { bytes.append(b) }

    /// A JSON string with the escapes RFC 8259 requires.
    public mutating func string(_ text: String) {
        bytes.append(0x22)
        var text = text
        text.withUTF8 { utf8 in
            var needsEscape = false
            for b in utf8 where b < 0x20 || b == 0x22 || b == 0x5C { needsEscape = true; break }
            if !needsEscape { bytes.append(contentsOf: utf8); return }
            for b in utf8 {
                switch b {
                case 0x22: bytes.append(0x5C); bytes.append(0x22)
                case 0x5C: bytes.append(0x5C); bytes.append(0x5C)
                case 0x0A: bytes.append(0x5C); bytes.append(0x6E)
                case 0x0D: bytes.append(0x5C); bytes.append(0x72)
                case 0x09: bytes.append(0x5C); bytes.append(0x74)
                case 0..<0x20:
                    let hex: [UInt8] = Array("0123456789abcdef".utf8)
                    bytes.append(contentsOf: [0x5C, 0x75, 0x30, 0x30, hex[Int(b >> 4)], hex[Int(b & 15)]])
                default: bytes.append(b)
                }
            }
        }
        bytes.append(0x22)
    }

    /// An object key followed by `:`; the caller writes `,` between members.
    public mutating func key(_ name: StaticString) {
        bytes.append(0x22)
        raw(name)
        bytes.append(0x22)
        bytes.append(0x3A)
    }

    /// An integer, written without going through `String`.
    public mutating func integer(_ value: Int64) {
        if value == 0 { bytes.append(0x30); return }
        var magnitude = value.magnitude
        if value < 0 { bytes.append(0x2D) }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var n = 0
            while magnitude > 0 {
                digits[n] = UInt8(truncatingIfNeeded: magnitude % 10) + 0x30
                magnitude /= 10
                n += 1
            }
            while n > 0 { n -= 1; bytes.append(digits[n]) }
        }
    }

    /// A number; whole values within ±2^53 are written as integers, non-finite ones as `null`
    /// (JSON has no NaN or infinity).
    public mutating func number(_ value: Double) {
        guard value.isFinite else { raw("null"); return }
        if value == value.rounded(.towardZero), abs(value) < 9_007_199_254_740_992 {
            integer(Int64(value))
        } else {
            // Swift prints the shortest text that round-trips, which is valid JSON (`1e-05`, `0.1`).
            bytes.append(contentsOf: value.description.utf8)
        }
    }

    public mutating func bool(_ value: Bool) { value ? raw("true") : raw("false") }

    /// Any JSON value, keys sorted so output is stable.
    public mutating func value(_ value: JSONValue) {
        switch value {
        case .null: raw("null")
        case .bool(let b): bool(b)
        case .number(let n): number(n)
        case .string(let s): string(s)
        case .array(let items):
            bytes.append(0x5B)
            for (k, item) in items.enumerated() {
                if k > 0 { bytes.append(0x2C) }
                self.value(item)
            }
            bytes.append(0x5D)
        case .object(let members):
            bytes.append(0x7B)
            for (k, key) in members.keys.sorted().enumerated() {
                if k > 0 { bytes.append(0x2C) }
                string(key)
                bytes.append(0x3A)
                self.value(members[key] ?? .null)
            }
            bytes.append(0x7D)
        }
    }

    /// A string-to-string object (labels), keys sorted.
    public mutating func labels(_ labels: [String: String]) {
        bytes.append(0x7B)
        if labels.count == 1, let only = labels.first {
            string(only.key)
            bytes.append(0x3A)
            string(only.value)
        } else {
            for (k, key) in labels.keys.sorted().enumerated() {
                if k > 0 { bytes.append(0x2C) }
                string(key)
                bytes.append(0x3A)
                string(labels[key] ?? "")
            }
        }
        bytes.append(0x7D)
    }
}
