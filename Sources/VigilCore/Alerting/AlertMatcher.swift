import Foundation
import VigilMatchers

/// One label matcher as Alertmanager writes them: `name="value"`, `name!="value"`,
/// `name=~"regex"`, `name!~"regex"`. Regexes are anchored (they match the whole value), and a
/// missing label matches as the empty value.
///
/// The routing and alert-query face of ``LabelMatcher`` (VigilMatchers), which silences use too:
/// one parser, and regexes on its linear-time RE2 engine — patterns come from HTTP queries, and a
/// backtracking engine would let one `filter` hold a thread for minutes.
public struct AlertMatcher: Sendable, CustomStringConvertible {
    public enum Operator: String, Sendable, CaseIterable {
        case equal = "="
        case notEqual = "!="
        case regex = "=~"
        case notRegex = "!~"

        var matchType: LabelMatcher.MatchType {
            switch self {
            case .equal: .equal
            case .notEqual: .notEqual
            case .regex: .regexp
            case .notRegex: .notRegexp
            }
        }

        init(_ type: LabelMatcher.MatchType) {
            switch type {
            case .equal: self = .equal
            case .notEqual: self = .notEqual
            case .regexp: self = .regex
            case .notRegexp: self = .notRegex
            }
        }
    }

    /// Longest regex accepted: patterns come from HTTP queries and configuration.
    public static let maximumPatternLength = LabelMatcher.maxRegexLength

    public let name: String
    public let op: Operator
    public let value: String
    private let matcher: LabelMatcher

    /// Fails with a sentence naming the problem (bad name, bad regex).
    public init(name: String, op: Operator, value: String) throws(MatcherError) {
        do { matcher = try LabelMatcher(name: name, type: op.matchType, value: value) } catch {
            throw MatcherError(error.description)
        }
        self.name = name
        self.op = op
        self.value = value
    }

    public func matches(_ labels: [String: String]) -> Bool { matcher.matches(labels) }

    public func matches(value v: String) -> Bool { matcher.matches(value: v) }

    public var description: String { matcher.description }

    /// Parses one matcher as Alertmanager's `labels.ParseMatcher`: `name="value"` (quoted, with
    /// escapes) or `name=value`.
    public static func parse(_ text: String) throws(MatcherError) -> AlertMatcher {
        let parsed: LabelMatcher
        do { parsed = try LabelMatchers.parseMatcher(text) } catch { throw MatcherError(error.description) }
        return try AlertMatcher(name: parsed.name, op: Operator(parsed.type), value: parsed.value)
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
