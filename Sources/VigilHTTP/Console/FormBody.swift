/// A submitted HTML form (`application/x-www-form-urlencoded`), read with limits: every form the
/// console serves is small, so a body, a field count or a value beyond them is refused with a
/// sentence naming the field, before anything is run.
public struct FormBody: Sendable, Equatable {
    public struct Problem: Error, Equatable, CustomStringConvertible, Sendable {
        public var description: String
        init(_ d: String) { description = d }
    }

    /// Largest body read as a form.
    public static let maximumBytes = 64 * 1024
    /// Most fields one form may carry.
    public static let maximumFields = 64
    /// Longest field name.
    public static let maximumNameBytes = 64

    public private(set) var fields: [(name: String, value: String)] = []

    public static func == (a: FormBody, b: FormBody) -> Bool {
        a.fields.map(\.name) == b.fields.map(\.name) && a.fields.map(\.value) == b.fields.map(\.value)
    }

    public init(fields: [(String, String)]) { self.fields = fields.map { (name: $0.0, value: $0.1) } }

    /// Parses `bytes`: `name=value` pairs joined by `&`, `+` for space, `%XX` escapes; strict
    /// UTF-8 after decoding.
    public static func parse(_ bytes: [UInt8], limit: Int = maximumBytes) throws(Problem) -> FormBody {
        guard bytes.count <= limit else { throw Problem("the form is larger than \(limit / 1024) KiB") }
        var out: [(String, String)] = []
        for pair in bytes.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            guard out.count < maximumFields else { throw Problem("the form has more than \(maximumFields) fields") }
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            let name = try decode(parts[0], what: "a field name")
            guard name.utf8.count <= maximumNameBytes else { throw Problem("a field name is longer than \(maximumNameBytes) bytes") }
            let value = parts.count > 1 ? try decode(parts[1], what: "field \"\(name)\"") : ""
            out.append((name, value))
        }
        return FormBody(fields: out)
    }

    static func decode(_ bytes: ArraySlice<UInt8>, what: String) throws(Problem) -> String {
        var raw: [UInt8] = []
        raw.reserveCapacity(bytes.count)
        var i = bytes.startIndex
        while i < bytes.endIndex {
            let b = bytes[i]
            if b == UInt8(ascii: "+") {
                raw.append(0x20)
            } else if b == UInt8(ascii: "%") {
                guard bytes.distance(from: i, to: bytes.endIndex) >= 3,
                      let hi = hex(bytes[i + 1]), let lo = hex(bytes[i + 2]) else {
                    throw Problem("\(what): a broken %-escape")
                }
                raw.append(hi << 4 | lo)
                i += 2
            } else {
                raw.append(b)
            }
            i += 1
        }
        guard let text = String(validating: raw, as: UTF8.self) else { throw Problem("\(what): not valid UTF-8") }
        return text
    }

    static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// The first value of `name`, or nil.
    public subscript(_ name: String) -> String? { fields.first { $0.name == name }?.value }

    /// Every value of `name` (checkboxes, multi-selects).
    public func all(_ name: String) -> [String] { fields.filter { $0.name == name }.map(\.value) }

    /// The value of `name`, trimmed, required and at most `limit` characters.
    public func required(_ name: String, label: String, limit: Int = 1000) throws(Problem) -> String {
        guard let v = try optional(name, label: label, limit: limit) else { throw Problem("\(label) is required") }
        return v
    }

    /// The value of `name` trimmed (nil when absent or blank); longer than `limit` characters is refused.
    public func optional(_ name: String, label: String, limit: Int = 1000) throws(Problem) -> String? {
        guard let raw = self[name] else { return nil }
        let v = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !v.isEmpty else { return nil }
        guard v.count <= limit else { throw Problem("\(label) is longer than \(limit) characters (\(v.count))") }
        return v
    }
}

import Foundation
