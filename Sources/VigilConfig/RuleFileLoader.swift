import Foundation
import VigilCore
import VigilRules
import Yams

/// Loads detection rule files: the YAML structure here, each rule's text handed to
/// ``VigilRules/RuleParser`` with its place in the file, so a bad rule is reported at
/// `file:line:column` of the YAML file.
///
/// A rule file holds any of three top-level keys (see `Docs/rules.md`):
/// - `incident_detection`: the seed's form, sections of terse rules (`- cpu_usage > 90% for 5 minutes`);
///   an item may also be an extended rule (a mapping);
/// - `rules`: a list of extended rules (`id`, `rule`, `match`, `group_by`, `incident_type`, …);
/// - `annotations`: meaning for rules defined elsewhere, by id, so a seed file stays byte for byte.
public enum RuleFileLoader {
    static let topLevelKeys = ["incident_detection", "rules", "annotations"]
    static let ruleKeys = ["id", "rule", "section", "match", "group_by", "keep_firing_for", "incident_type", "severity",
                           "containment", "description", "runbook"]
    static let annotationKeys = ["incident_type", "severity", "containment", "description", "runbook", "group_by",
                                 "keep_firing_for"]

    /// The rule files a configuration names, checked against its severity ladder, incident types and
    /// containment categories.
    public static func load(configuration c: VigilConfiguration) throws(ConfigErrors) -> RuleSet {
        try load(paths: c.ruleFiles, consistently: c.consistentlyDuration, staleAfter: c.ruleStaleAfter, policy: c.policy)
    }

    /// Loads `paths` in order; every problem of every file is reported together.
    public static func load(paths: [String], consistently: Duration = .seconds(300), staleAfter: Duration = .seconds(300),
                            policy: IncidentPolicy? = nil) throws(ConfigErrors) -> RuleSet {
        let diagnostics = Diagnostics()
        let set = load(paths: paths, consistently: consistently, staleAfter: staleAfter, policy: policy, from: nil,
                       diagnostics: diagnostics)
        if diagnostics.errors.isEmpty { return set }
        throw ConfigErrors(diagnostics.errors)
    }

    /// Loads rule text as if read from `file` (for tests and tools).
    public static func load(text: String, file: String, consistently: Duration = .seconds(300),
                            staleAfter: Duration = .seconds(300), policy: IncidentPolicy? = nil) throws(ConfigErrors) -> RuleSet {
        let diagnostics = Diagnostics()
        var context = Context(policy: policy, diagnostics: diagnostics)
        context.read(text: text, file: file)
        let rules = context.finish()
        if diagnostics.errors.isEmpty { return RuleSet(rules: rules, consistently: consistently, staleAfter: staleAfter) }
        throw ConfigErrors(diagnostics.errors)
    }

    /// `incidentTypeNames` are every type the configuration declares, valid or not, so a type refused
    /// for its own error does not also make every rule naming it an error.
    static func load(paths: [String], consistently: Duration, staleAfter: Duration, policy: IncidentPolicy?,
                     incidentTypeNames: [String]? = nil, from: YAMLNode?, diagnostics: Diagnostics) -> RuleSet {
        var context = Context(policy: policy, diagnostics: diagnostics)
        context.incidentTypeNames = incidentTypeNames
        for path in paths {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                let at = from?.location ?? SourceLocation(file: path, line: 1, column: 1)
                diagnostics.add(.unreadableFile(at, path: path, reason: "no such readable file"))
                continue
            }
            context.read(text: text, file: path)
        }
        return RuleSet(rules: context.finish(), consistently: consistently, staleAfter: staleAfter)
    }

    /// The state of one load: rules so far, ids taken, annotations waiting for their rules.
    struct Context {
        let policy: IncidentPolicy?
        let diagnostics: Diagnostics
        var incidentTypeNames: [String]?
        var rules: [Rule] = []
        var idLocations: [String: SourceLocation] = [:]
        var annotations: [(id: String, keyNode: YAMLNode, fields: Fields)] = []
        var lines: [[Unicode.Scalar]] = []

        init(policy: IncidentPolicy?, diagnostics: Diagnostics) {
            self.policy = policy
            self.diagnostics = diagnostics
        }

        mutating func read(text: String, file: String) {
            lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { Array($0.unicodeScalars) }
            guard let root = YAMLNode.parse(text, file: file, diagnostics: diagnostics),
                  let top = root.fields(file, allowed: RuleFileLoader.topLevelKeys) else { return }
            if let detection = top["incident_detection"] {
                if detection.node.sequence != nil {
                    items(detection, section: nil)
                } else if let sections = detection.mapping("incident_detection") {
                    for s in sections { items(s.value, section: s.key) }
                }
            }
            if let list = top["rules"] { items(list, section: nil) }
            if let a = top["annotations"], let entries = a.mapping("annotations") {
                for e in entries {
                    guard let fields = e.value.fields(e.key, allowed: RuleFileLoader.annotationKeys) else { continue }
                    if let earlier = annotations.first(where: { $0.id == e.key }) {
                        diagnostics.add(.invalidRule(e.keyNode.location,
                                                     message: "rule \"\(e.key)\" is already annotated at \(earlier.keyNode.location)"))
                        continue
                    }
                    annotations.append((e.key, e.keyNode, fields))
                }
            }
        }

        mutating func items(_ node: YAMLNode, section: String?) {
            guard let list = node.sequence(section ?? "rules") else { return }
            for item in list {
                if item.scalar != nil {
                    terse(item, section: section)
                } else {
                    extended(item, section: section)
                }
            }
        }

        /// A rule written as one line of text; its id comes from ``RuleIdentifiers``.
        mutating func terse(_ node: YAMLNode, section: String?) {
            guard let expression = parse(node) else { return }
            let id = RuleIdentifiers.terseID(section: section, expression: expression, taken: Set(idLocations.keys))
            add(Rule(id: id, expression: expression, section: section, location: node.location), at: node.location)
        }

        mutating func extended(_ node: YAMLNode, section: String?) {
            guard let f = node.fields("rule", allowed: RuleFileLoader.ruleKeys),
                  let textNode = f.required("rule"), var expression = parse(textNode) else { return }
            if let m = f["match"], let entries = m.mapping("match") {
                for e in entries {
                    guard let value = e.value.string(e.key) else { continue }
                    guard RuleFileLoader.isLabelName(e.key) else {
                        diagnostics.add(.invalidValue(e.keyNode.location, key: "match", found: e.key,
                                                      expected: "a label name (letters, digits and _)"))
                        continue
                    }
                    expression.selector.matchers.append(LabelMatcher(key: e.key, op: .equal, value: value))
                }
            }
            let sectionName = f["section"]?.string("section") ?? section
            var rule = Rule(id: "", expression: expression, section: sectionName, location: textNode.location)
            apply(f, to: &rule)
            if let idNode = f["id"], let id = idNode.string("id") {
                guard RuleIdentifiers.isValid(id) else {
                    diagnostics.add(.invalidValue(idNode.location, key: "id", found: id,
                                                  expected: "letters, digits, '_', '-', '.' or ':'"))
                    return
                }
                rule.id = id
                add(rule, at: idNode.location)
            } else {
                rule.id = RuleIdentifiers.terseID(section: sectionName, expression: expression, taken: Set(idLocations.keys))
                add(rule, at: textNode.location)
            }
        }

        mutating func add(_ rule: Rule, at location: SourceLocation) {
            if let earlier = idLocations[rule.id] {
                diagnostics.add(.invalidRule(location, message: "rule id \"\(rule.id)\" is already used at \(earlier)"))
                return
            }
            idLocations[rule.id] = location
            rules.append(rule)
        }

        /// The rule text of a scalar node, parsed with errors pointing into the file.
        func parse(_ node: YAMLNode) -> RuleExpression? {
            guard let text = node.string("rule") else { return nil }
            let (origin, exact) = RuleFileLoader.origin(of: node, text: text, lines: lines)
            do {
                return try RuleParser.parse(text, origin: origin)
            } catch {
                let location = exact ? error.location : node.location
                diagnostics.add(.invalidRule(location, message: error.message))
                return nil
            }
        }

        /// Sets the meaning fields (shared by extended rules and annotations) on `rule`.
        func apply(_ f: Fields, to rule: inout Rule) {
            if let n = f["incident_type"], let name = n.string("incident_type") {
                let known = incidentTypeNames ?? policy?.incidentTypes.map(\.name) ?? []
                if !known.isEmpty, !known.contains(where: { $0.caseInsensitiveCompare(name) == .orderedSame }) {
                    diagnostics.add(.invalidValue(n.location, key: "incident_type", found: name,
                                                  expected: "one of the incident types (\(known.joined(separator: ", ")))"))
                } else {
                    rule.incidentType = name
                }
            }
            if let n = f["severity"], let text = n.string("severity") {
                if let ladder = policy?.ladder, ladder.level(named: text) == nil {
                    diagnostics.add(.unknownSeverity(n.location, found: text,
                                                     known: ladder.levels.map { "\($0.code) (\($0.name))" }))
                } else {
                    rule.severity = text
                }
            }
            if let n = f["containment"], let category = n.string("containment") {
                let known = policy.map { Array($0.containment.keys).sorted() }.flatMap { $0.isEmpty ? nil : $0 }
                    ?? ["security_breach", "system_overload", "data_corruption"]
                if known.contains(category) {
                    rule.containmentCategory = category
                } else {
                    diagnostics.add(.invalidValue(n.location, key: "containment", found: category,
                                                  expected: "one of \(known.joined(separator: ", "))"))
                }
            }
            if let d = f["description"]?.string("description") { rule.description = d }
            if let n = f["runbook"], let r = n.string("runbook") {
                if let runbooks = policy?.runbooks, !runbooks.isEmpty, runbooks[r] == nil {
                    diagnostics.add(.invalidValue(n.location, key: "runbook", found: r,
                                                  expected: "a loaded runbook (\(runbooks.keys.sorted().joined(separator: ", ")))"))
                } else {
                    rule.runbook = r
                }
            }
            if let g = f["group_by"] { rule.groupBy = RuleFileLoader.groupBy(g) ?? rule.groupBy }
            if let k = f["keep_firing_for"], let d = k.duration("keep_firing_for") {
                if rule.expression.condition == nil {
                    diagnostics.add(.invalidRule(k.location, message: "keep_firing_for needs a rule with a condition; "
                                                 + "a signal rule fires once per occurrence and never resolves by itself"))
                } else {
                    rule.expression.condition?.keepFiringFor = d
                }
            }
        }

        /// Applies the annotations to the rules they name and returns every rule.
        mutating func finish() -> [Rule] {
            for a in annotations {
                guard let index = rules.firstIndex(where: { $0.id == a.id }) else {
                    let known = rules.isEmpty ? "no rules are loaded" : "rule ids are: " + rules.map(\.id).joined(separator: ", ")
                    diagnostics.add(.invalidRule(a.keyNode.location, message: "no rule has the id \"\(a.id)\"; \(known)"))
                    continue
                }
                apply(a.fields, to: &rules[index])
            }
            annotations = []
            return rules
        }
    }

    /// `group_by: [host, disk]`, `group_by: []` (one alert for the rule) or `group_by: series` (every label).
    static func groupBy(_ node: YAMLNode) -> GroupBy? {
        if let s = node.scalar {
            switch s {
            case "series": return .series
            case "identity": return .identityLabels
            default:
                node.diagnostics.add(.invalidValue(node.location, key: "group_by", found: s,
                                                   expected: "a list of label names, \"series\" or \"identity\""))
                return nil
            }
        }
        guard let names = node.strings("group_by") else { return nil }
        for n in names where !isLabelName(n) {
            node.diagnostics.add(.invalidValue(node.location, key: "group_by", found: n, expected: "label names"))
            return nil
        }
        return .labels(names)
    }

    static func isLabelName(_ s: String) -> Bool {
        guard let f = s.unicodeScalars.first, !(f >= "0" && f <= "9") else { return false }
        return s.unicodeScalars.allSatisfy { ($0 >= "a" && $0 <= "z") || ($0 >= "A" && $0 <= "Z") || ($0 >= "0" && $0 <= "9") || $0 == "_" }
    }

    /// Where a scalar's text starts in the file, and whether columns inside it map exactly (true when
    /// the text appears verbatim on the line, as for plain and simply quoted one-line scalars).
    static func origin(of node: YAMLNode, text: String, lines: [[Unicode.Scalar]]) -> (SourceLocation, Bool) {
        let at = node.location
        guard at.line >= 1, at.line <= lines.count else { return (at, false) }
        var start = at.column - 1
        if let style = node.node.scalar?.style, style == .singleQuoted || style == .doubleQuoted { start += 1 }
        let line = lines[at.line - 1]
        let wanted = Array(text.unicodeScalars)
        guard start >= 0, start + wanted.count <= line.count, Array(line[start..<(start + wanted.count)]) == wanted else {
            return (at, false)
        }
        return (SourceLocation(file: at.file, line: at.line, column: start + 1), true)
    }
}
