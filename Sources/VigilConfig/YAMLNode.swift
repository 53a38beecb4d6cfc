import VigilCore
import Yams

/// A YAML node with the file it came from, so every accessor can report `file:line:column`.
///
/// Accessors record problems in a shared ``Diagnostics`` and return nil instead of throwing,
/// so one pass over a file reports every error, not just the first.
public struct YAMLNode {
    public let node: Node
    public let file: String
    let diagnostics: Diagnostics

    public var location: SourceLocation {
        SourceLocation(file: file, line: node.mark?.line ?? 1, column: node.mark?.column ?? 1)
    }

    /// Parses `text` (from `file`) into its root node; nil (with a recorded error) on bad YAML.
    public static func parse(_ text: String, file: String, diagnostics: Diagnostics) -> YAMLNode? {
        guard YAMLExpansion.nodeCount(text) != nil else {
            diagnostics.add(.syntax(SourceLocation(file: file, line: 1, column: 1),
                                    problem: "the file expands to more than \(YAMLExpansion.maximumNodes) values "
                                        + "(each use of an alias counts again)"))
            return nil
        }
        do {
            guard let node = try Yams.compose(yaml: text) else {
                diagnostics.add(.syntax(SourceLocation(file: file, line: 1, column: 1), problem: "the file is empty"))
                return nil
            }
            return YAMLNode(node: node, file: file, diagnostics: diagnostics)
        } catch let error as YamlError {
            diagnostics.add(Self.located(error, file: file))
            return nil
        } catch {
            diagnostics.add(.syntax(SourceLocation(file: file, line: 1, column: 1), problem: "\(error)"))
            return nil
        }
    }

    static func located(_ error: YamlError, file: String) -> ConfigError {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            let ctx = context.map { "\($0.text) " } ?? ""
            return .syntax(SourceLocation(file: file, line: mark.line, column: mark.column), problem: ctx + problem)
        case .reader(let problem, _, _, _):
            return .syntax(SourceLocation(file: file, line: 1, column: 1), problem: problem)
        case .duplicatedKeysInMapping(let duplicates, let context):
            return .syntax(SourceLocation(file: file, line: context.mark.line, column: context.mark.column),
                           problem: "duplicated keys \(duplicates.joined(separator: ", "))")
        default:
            return .syntax(SourceLocation(file: file, line: 1, column: 1), problem: "\(error)")
        }
    }

    func child(_ n: Node) -> YAMLNode { YAMLNode(node: n, file: file, diagnostics: diagnostics) }

    /// The scalar text, or nil for mappings and sequences.
    public var scalar: String? { node.scalar?.string }

    /// The entries of a mapping, in file order, with their key nodes; records an error otherwise.
    public func mapping(_ name: String) -> [(key: String, keyNode: YAMLNode, value: YAMLNode)]? {
        guard let m = node.mapping else {
            diagnostics.add(.wrongType(location, key: name, expected: "a mapping of keys to values"))
            return nil
        }
        return m.map { (key: $0.key.string ?? "", keyNode: child($0.key), value: child($0.value)) }
    }

    /// The items of a sequence; records an error otherwise.
    public func sequence(_ name: String) -> [YAMLNode]? {
        guard let s = node.sequence else {
            diagnostics.add(.wrongType(location, key: name, expected: "a list"))
            return nil
        }
        return s.map(child)
    }

    /// A mapping checked against the keys it may hold; unknown keys are recorded as errors.
    public func fields(_ name: String, allowed: [String]) -> Fields? {
        guard let entries = mapping(name) else { return nil }
        var values: [String: YAMLNode] = [:]
        for e in entries {
            if allowed.contains(e.key) {
                values[e.key] = e.value
            } else {
                diagnostics.add(.unknownKey(e.keyNode.location, key: e.key, allowed: allowed))
            }
        }
        return Fields(owner: self, values: values)
    }

    public func string(_ name: String) -> String? {
        guard let s = scalar else {
            diagnostics.add(.wrongType(location, key: name, expected: "a text value"))
            return nil
        }
        return s
    }

    public func strings(_ name: String) -> [String]? {
        guard let items = sequence(name) else { return nil }
        return items.compactMap { $0.string(name) }
    }

    public func duration(_ name: String) -> Duration? {
        guard let s = string(name) else { return nil }
        guard let d = DurationText.parse(s) else {
            diagnostics.add(.invalidDuration(location, found: s))
            return nil
        }
        return d
    }

    /// A duration of at least `minimum` (a zero backoff or sampling window would spin).
    public func duration(_ name: String, atLeast minimum: Duration) -> Duration? {
        guard let d = duration(name) else { return nil }
        guard d >= minimum else {
            diagnostics.add(.invalidValue(location, key: name, found: string(name) ?? "",
                                          expected: "a duration of at least \(DurationText.format(minimum))"))
            return nil
        }
        return d
    }

    public func bool(_ name: String) -> Bool? {
        guard let s = string(name) else { return nil }
        switch s.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default:
            diagnostics.add(.invalidValue(location, key: name, found: s, expected: "true or false"))
            return nil
        }
    }

    public func int(_ name: String, range: ClosedRange<Int>) -> Int? {
        guard let s = string(name) else { return nil }
        guard let v = Int(s.replacingUnderscores()), range.contains(v) else {
            diagnostics.add(.invalidValue(location, key: name, found: s,
                                          expected: "a whole number from \(range.lowerBound) to \(range.upperBound)"))
            return nil
        }
        return v
    }

    public func timestamp(_ name: String) -> Timestamp? {
        guard let s = string(name) else { return nil }
        guard let t = RFC3339.parse(s) else {
            diagnostics.add(.invalidValue(location, key: name, found: s,
                                          expected: "an RFC 3339 time like 2026-01-05T09:00:00Z"))
            return nil
        }
        return t
    }
}

/// The checked keys of one mapping.
public struct Fields {
    public let owner: YAMLNode
    public let values: [String: YAMLNode]

    public subscript(_ key: String) -> YAMLNode? { values[key] }

    /// The value of a key that must be present; records `missingKey` at the mapping otherwise.
    public func required(_ key: String) -> YAMLNode? {
        if let v = values[key] { return v }
        owner.diagnostics.add(.missingKey(owner.location, key: key))
        return nil
    }
}

/// Collects every configuration error of one load.
public final class Diagnostics: @unchecked Sendable {
    public private(set) var errors: [ConfigError] = []
    public init() {}
    public func add(_ e: ConfigError) { errors.append(e) }
}

extension String {
    func replacingUnderscores() -> String { filter { $0 != "_" } }
}
