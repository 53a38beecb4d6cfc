import VigilCore

/// A configuration problem, located in its file, worded for the operator who has to fix it.
///
/// Rendered as `Config/vigil.yaml:14:22: expected a duration like "15 minutes", found "15 mins"`.
public enum ConfigError: LocatedError, Equatable {
    /// The YAML itself does not parse.
    case syntax(SourceLocation, problem: String)
    /// A value should have been a duration.
    case invalidDuration(SourceLocation, found: String)
    /// A severity reference names no level of the ladder.
    case unknownSeverity(SourceLocation, found: String, known: [String])
    /// A node has the wrong shape (a list where a mapping belongs, …).
    case wrongType(SourceLocation, key: String, expected: String)
    /// A key the section does not know (usually a typo).
    case unknownKey(SourceLocation, key: String, allowed: [String])
    /// A required key is absent.
    case missingKey(SourceLocation, key: String)
    /// A value is out of its allowed set or range.
    case invalidValue(SourceLocation, key: String, found: String, expected: String)
    /// A file named by the configuration cannot be read.
    case unreadableFile(SourceLocation, path: String, reason: String)
    /// A detection rule that does not parse or makes no sense; the message says what was expected.
    case invalidRule(SourceLocation, message: String)
    /// A communication template (mustache) does not parse.
    case invalidTemplate(SourceLocation, reason: String)

    public var location: SourceLocation {
        switch self {
        case .syntax(let l, _), .invalidDuration(let l, _), .unknownSeverity(let l, _, _),
             .wrongType(let l, _, _), .unknownKey(let l, _, _), .missingKey(let l, _),
             .invalidValue(let l, _, _, _), .unreadableFile(let l, _, _), .invalidRule(let l, _),
             .invalidTemplate(let l, _):
            l
        }
    }

    public var message: String {
        switch self {
        case .syntax(_, let problem):
            "the YAML does not parse: \(problem)"
        case .invalidDuration(_, let found):
            "expected a duration like \"15 minutes\", \"2 hours\" or \"30 seconds\", found \"\(found)\""
        case .unknownSeverity(_, let found, let known):
            "unknown severity \"\(found)\"; the ladder has \(known.joined(separator: ", "))"
        case .wrongType(_, let key, let expected):
            "\"\(key)\" must be \(expected)"
        case .unknownKey(_, let key, let allowed):
            "unknown key \"\(key)\"; expected one of \(allowed.joined(separator: ", "))"
        case .missingKey(_, let key):
            "missing required key \"\(key)\""
        case .invalidValue(_, let key, let found, let expected):
            "\"\(key)\" must be \(expected), found \"\(found)\""
        case .unreadableFile(_, let path, let reason):
            "cannot read \(path): \(reason)"
        case .invalidRule(_, let message):
            message
        case .invalidTemplate(_, let reason):
            "the template does not parse: \(reason)"
        }
    }
}

/// Every problem found in one configuration, in file order; loading reports them all at once.
public struct ConfigErrors: Error, CustomStringConvertible, Sendable {
    public var errors: [ConfigError]
    public init(_ errors: [ConfigError]) { self.errors = errors }
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}
