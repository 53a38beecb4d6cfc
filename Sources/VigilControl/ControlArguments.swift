import VigilCore

// Strict readers of optional arguments: an argument that is present but of the wrong kind or out
// of range is refused with a sentence naming it, never ignored (a mistyped `limit` must not
// silently list a thousand incidents). HTTP query parameters arrive as text, so numbers are
// accepted as JSON numbers or as decimal text.

extension ControlRequest {
    /// An optional whole number in `range`, `fallback` when absent (or JSON null).
    public func integer(_ key: String, default fallback: Int, in range: ClosedRange<Int>) throws(ControlFailure) -> Int {
        let value: Int?
        switch args[key] {
        case nil, .null?: return fallback
        case .number(let n)?:
            value = n.isFinite && n.rounded() == n && abs(n) < 9.0e15 ? Int(n) : nil
        case .string(let s)?:
            value = s.utf8.count <= 18 ? Int(s.trimmingWhitespace()) : nil
        case _?: value = nil
        }
        guard let value else {
            throw ControlFailure("\(key): expected a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        guard range.contains(value) else {
            throw ControlFailure("\(key): \(value) is out of range; expected \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    /// An optional text argument of at most `maxBytes` UTF-8 bytes without control characters;
    /// nil when absent, JSON null or empty (an empty form field filters nothing).
    public func text(_ key: String, maxBytes: Int = 200) throws(ControlFailure) -> String? {
        switch args[key] {
        case nil, .null?: return nil
        case .string(let s)?:
            let t = s.trimmingWhitespace()
            if t.isEmpty { return nil }
            guard t.utf8.count <= maxBytes else {
                throw ControlFailure("\(key): \(t.utf8.count) bytes; at most \(maxBytes) are accepted")
            }
            guard !t.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                throw ControlFailure("\(key): contains control characters (newlines, tabs, escapes)")
            }
            return t
        case _?:
            throw ControlFailure("\(key): expected text")
        }
    }

    /// An optional list of texts, given as a JSON array of texts or one text; nil when absent or
    /// empty. Each item is checked as ``text(_:maxBytes:)`` checks one, and at most `maxItems`.
    public func texts(_ key: String, maxBytes: Int = 200, maxItems: Int = 100) throws(ControlFailure) -> [String]? {
        let items: [JSONValue]
        switch args[key] {
        case nil, .null?: return nil
        case .string?: items = [args[key] ?? .null]
        case .array(let list)?: items = list
        case _?: throw ControlFailure("\(key): expected a list of texts")
        }
        guard items.count <= maxItems else { throw ControlFailure("\(key): \(items.count) items; at most \(maxItems) are accepted") }
        var out: [String] = []
        for item in items {
            guard case .string = item else { throw ControlFailure("\(key): expected a list of texts") }
            if let t = try ControlRequest(command: command, args: [key: item]).text(key, maxBytes: maxBytes) { out.append(t) }
        }
        return out.isEmpty ? nil : out
    }

    /// An optional RFC 3339 time, nil when absent or empty.
    public func time(_ key: String) throws(ControlFailure) -> Timestamp? {
        guard let text = try text(key, maxBytes: 64) else { return nil }
        guard let t = RFC3339.parse(text) else {
            throw ControlFailure("\(key): expected an RFC 3339 time like 2026-03-02T09:00:00Z, found \"\(text)\"")
        }
        return t
    }
}
