/// One label matcher as Alertmanager's `pkg/labels` has it: `name=value`, `name!=value`,
/// `name=~regex`, `name!~regex`. Silences, maintenance windows and alert routing select label
/// sets with these.
///
/// A label the set does not have reads as the empty string (as in Alertmanager), so `team!="db"`
/// matches a set without `team`, and `team=""` matches only such sets. Regexes are fully anchored
/// (`^(?:regex)$`) and use the RE2 syntax Go accepts (see ``RE2Syntax`` for the few differences).
public struct LabelMatcher: Sendable, Hashable, CustomStringConvertible {
    /// The four operators.
    public enum MatchType: String, Sendable, Hashable, Codable, CaseIterable {
        case equal = "="
        case notEqual = "!="
        case regexp = "=~"
        case notRegexp = "!~"

        /// Alertmanager API v2's `isRegex`/`isEqual` pair.
        public init(isRegex: Bool, isEqual: Bool) {
            switch (isRegex, isEqual) {
            case (false, true): self = .equal
            case (false, false): self = .notEqual
            case (true, true): self = .regexp
            case (true, false): self = .notRegexp
            }
        }
        public var isRegex: Bool { self == .regexp || self == .notRegexp }
        public var isEqual: Bool { self == .equal || self == .regexp }
    }

    /// Longest regex accepted, in bytes: a bound on compile time and program size.
    public static let maxRegexLength = 4096

    public let name: String
    public let type: MatchType
    public let value: String
    private let program: RE2Program?

    /// Builds a matcher; throws when the label name is not a Prometheus label name or the regex
    /// does not compile (the message is Go's, for the anchored pattern).
    public init(name: String, type: MatchType, value: String) throws(LabelMatcherError) {
        guard Self.isValidLabelName(name) else { throw .invalidLabelName(name) }
        self.name = name
        self.type = type
        self.value = value
        if type.isRegex {
            guard value.utf8.count <= Self.maxRegexLength else {
                throw .regexTooLong(name: name, length: value.utf8.count, limit: Self.maxRegexLength)
            }
            do {
                // Alertmanager checks a silence's regex as written (so `a)|(b` is refused even
                // though it would compile once wrapped), then matches with the anchored form.
                _ = try RE2Syntax.parse(value)
                program = try RE2Program(pattern: "^(?:" + value + ")$")
            } catch {
                throw .invalidRegex(name: name, value: value, reason: error.description)
            }
        } else {
            program = nil
        }
    }

    /// Whether `value` (the label's value, or "" when absent) satisfies the matcher.
    public func matches(value candidate: String) -> Bool {
        switch type {
        case .equal: return candidate == value
        case .notEqual: return candidate != value
        case .regexp: return program?.matches(candidate) ?? false
        case .notRegexp: return !(program?.matches(candidate) ?? false)
        }
    }

    /// Whether the label set satisfies the matcher (a missing label is the empty string).
    public func matches(_ labels: [String: String]) -> Bool {
        matches(value: labels[name] ?? "")
    }

    /// True when the matcher matches the empty string, i.e. label sets without the label.
    public var matchesEmpty: Bool { matches(value: "") }

    /// `name="value"` with the value quoted and escaped as Alertmanager prints it (re-parsable).
    public var description: String {
        var out = "\(name)\(type.rawValue)\""
        for c in value.unicodeScalars {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(c)
            }
        }
        return out + "\""
    }

    public static func == (a: LabelMatcher, b: LabelMatcher) -> Bool {
        a.name == b.name && a.type == b.type && a.value == b.value
    }
    public func hash(into h: inout Hasher) {
        h.combine(name)
        h.combine(type)
        h.combine(value)
    }

    /// `[a-zA-Z_][a-zA-Z0-9_]*`, Prometheus' label name rule (Alertmanager 0.25).
    public static func isValidLabelName(_ name: String) -> Bool {
        guard let first = name.utf8.first, !(48...57).contains(first) else { return false }
        return name.utf8.allSatisfy { c in
            (48...57).contains(c) || (65...90).contains(c) || (97...122).contains(c) || c == 95
        }
    }
}

/// Why a matcher or a list of matchers was refused; messages follow Alertmanager's.
public enum LabelMatcherError: Error, Sendable, Equatable, CustomStringConvertible {
    case badFormat(String)
    case unescapedQuote(String)
    case missingClosingQuote(String)
    case invalidLabelName(String)
    case invalidRegex(name: String, value: String, reason: String)
    case regexTooLong(name: String, length: Int, limit: Int)
    case tooMany(limit: Int)

    public var description: String {
        switch self {
        case .badFormat(let s): return "bad matcher format: \(s)"
        case .unescapedQuote(let s): return "matcher value contains unescaped double quote: \(s)"
        case .missingClosingQuote(let s): return "matcher value does not contain a closing double quote: \(s)"
        case .invalidLabelName(let n): return "invalid label name \"\(n)\""
        case .invalidRegex(_, let v, let reason): return "invalid regular expression \"\(v)\": \(reason)"
        case .regexTooLong(let n, let length, let limit):
            return "regular expression for \"\(n)\" is \(length) bytes; at most \(limit) are accepted"
        case .tooMany(let limit): return "more than \(limit) matchers"
        }
    }
}
