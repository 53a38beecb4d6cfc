import Foundation

/// One label matcher as Alertmanager writes them: `name="value"`, `name!="value"`,
/// `name=~"regex"`, `name!~"regex"`. Regexes are anchored (they match the whole value), and a
/// missing label matches as the empty value.
public struct AlertMatcher: Sendable, CustomStringConvertible {
    public enum Operator: String, Sendable, CaseIterable {
        case equal = "="
        case notEqual = "!="
        case regex = "=~"
        case notRegex = "!~"
    }

    /// Longest regex accepted: patterns come from HTTP queries and configuration.
    public static let maximumPatternLength = 1024

    public let name: String
    public let op: Operator
    public let value: String
    private let regex: NSRegularExpression?

    /// Fails with a sentence naming the problem (bad name, bad regex).
    public init(name: String, op: Operator, value: String) throws(MatcherError) {
        guard LabelName.isValid(name) else { throw MatcherError("invalid label name \"\(name)\"") }
        self.name = name
        self.op = op
        self.value = value
        switch op {
        case .equal, .notEqual:
            regex = nil
        case .regex, .notRegex:
            guard value.utf8.count <= Self.maximumPatternLength else {
                throw MatcherError("the regex of \(name) is longer than \(Self.maximumPatternLength) bytes")
            }
            do { regex = try NSRegularExpression(pattern: "^(?:" + value + ")$", options: [.dotMatchesLineSeparators]) } catch {
                throw MatcherError("error parsing regexp: \(value)")
            }
        }
    }

    public func matches(_ labels: [String: String]) -> Bool { matches(value: labels[name] ?? "") }

    public func matches(value v: String) -> Bool {
        switch op {
        case .equal: return v == value
        case .notEqual: return v != value
        case .regex, .notRegex:
            let hit = regex.map { $0.firstMatch(in: v, range: NSRange(v.startIndex..., in: v)) != nil } ?? false
            return op == .regex ? hit : !hit
        }
    }

    public var description: String {
        let escaped = value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
        return "\(name)\(op.rawValue)\"\(escaped)\""
    }

    /// Parses one matcher: `name="value"` (quoted, with `\"`, `\\`, `\n` escapes) or `name=value`.
    public static func parse(_ text: String) throws(MatcherError) -> AlertMatcher {
        let t = text.trimmingWhitespace()
        guard let opStart = t.firstIndex(where: { $0 == "=" || $0 == "!" }) else {
            throw MatcherError("bad matcher format: \(text)")
        }
        let name = t[..<opStart].trimmingWhitespace()
        let rest = t[opStart...]
        let op: Operator
        if rest.hasPrefix("=~") { op = .regex } else if rest.hasPrefix("!~") { op = .notRegex }
        else if rest.hasPrefix("!=") { op = .notEqual } else if rest.hasPrefix("=") { op = .equal }
        else { throw MatcherError("bad matcher format: \(text)") }
        var raw = rest.dropFirst(op.rawValue.count).trimmingWhitespace()
        var value = ""
        if raw.hasPrefix("\"") {
            raw.removeFirst()
            var escaping = false
            var closed = false
            for (i, c) in raw.enumerated() {
                if escaping {
                    value.append(c == "n" ? "\n" : c)
                    escaping = false
                } else if c == "\\" {
                    escaping = true
                } else if c == "\"" {
                    guard i == raw.count - 1 else { throw MatcherError("unexpected text after the closing quote: \(text)") }
                    closed = true
                } else {
                    value.append(c)
                }
            }
            guard closed else { throw MatcherError("unterminated quoted value: \(text)") }
        } else {
            value = raw
        }
        return try AlertMatcher(name: name, op: op, value: value)
    }
}

/// Why a matcher was refused, as one sentence.
public struct MatcherError: Error, Sendable, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension Array where Element == AlertMatcher {
    /// True when every matcher matches (an empty list matches everything).
    public func matches(_ labels: [String: String]) -> Bool { allSatisfy { $0.matches(labels) } }
}
