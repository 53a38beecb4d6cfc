import Foundation
import VigilCore

/// The runbooks folder (`runbooks.directory`): one `NAME.yaml` per runbook.
///
/// ```yaml
/// runbook: performance-degradation     # must match the file name
/// title: Performance Degradation
/// incident_types: [High CPU utilization, Performance degradation]
/// steps:
///   - check: Confirm the degradation and which hosts are affected
///   - action: implement_circuit_breakers   # a containment action of containment_rules
/// ```
///
/// Every problem is reported with its `file:line:column`; the other runbooks still load.
public enum RunbookLoader {
    /// Loads every `*.yaml` of `directory`. `actions` are the action names the containment rules
    /// know (empty: any name is accepted); `from` is the config node that named the folder.
    public static func load(directory: String, actions: Set<String>, from: YAMLNode? = nil,
                            diagnostics: Diagnostics) -> [String: Runbook] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: directory) else {
            let at = from?.location ?? SourceLocation(file: directory, line: 1, column: 1)
            diagnostics.add(.unreadableFile(at, path: directory, reason: "no such readable folder"))
            return [:]
        }
        var out: [String: Runbook] = [:]
        for entry in entries.sorted() where entry.hasSuffix(".yaml") {
            let path = (directory as NSString).appendingPathComponent(entry)
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                diagnostics.add(.unreadableFile(SourceLocation(file: path, line: 1, column: 1), path: path, reason: "not readable"))
                continue
            }
            let name = String(entry.dropLast(".yaml".count))
            if let r = parse(text: text, file: path, name: name, actions: actions, diagnostics: diagnostics) { out[name] = r }
        }
        return out
    }

    /// Parses one runbook file whose name (without `.yaml`) is `name`.
    public static func parse(text: String, file: String, name: String, actions: Set<String>,
                             diagnostics: Diagnostics) -> Runbook? {
        let before = diagnostics.errors.count
        guard let root = YAMLNode.parse(text, file: file, diagnostics: diagnostics),
              let f = root.fields(file, allowed: ["runbook", "title", "incident_types", "steps"]) else { return nil }
        if let n = f.required("runbook"), let declared = n.string("runbook"), declared != name {
            n.diagnostics.add(.invalidValue(n.location, key: "runbook", found: declared,
                                            expected: "\"\(name)\", the file's name (incident types name runbooks by it)"))
        }
        let title = f.required("title")?.string("title") ?? name
        let types = f["incident_types"]?.strings("incident_types") ?? []
        var steps: [Runbook.Step] = []
        if let list = f.required("steps")?.sequence("steps") {
            if list.isEmpty, let n = f["steps"] {
                n.diagnostics.add(.invalidValue(n.location, key: "steps", found: "an empty list", expected: "at least one step"))
            }
            for item in list {
                guard let s = item.fields("step", allowed: ["action", "check"]) else { continue }
                switch (s["action"], s["check"]) {
                case (let a?, nil):
                    guard let action = a.string("action") else { continue }
                    if !actions.isEmpty, !actions.contains(action) {
                        a.diagnostics.add(.invalidValue(a.location, key: "action", found: action,
                                                        expected: "a containment action (\(actions.sorted().joined(separator: ", ")))"))
                    }
                    steps.append(.action(action))
                case (nil, let c?):
                    if let text = c.string("check") { steps.append(.check(text)) }
                default:
                    item.diagnostics.add(.invalidValue(item.location, key: "step", found: "\(s.values.keys.sorted().joined(separator: " and "))",
                                                       expected: "exactly one of `action: NAME` or `check: TEXT`"))
                }
            }
        }
        guard diagnostics.errors.count == before else { return nil }
        return Runbook(name: name, title: title, incidentTypes: types, steps: steps, file: file)
    }
}
