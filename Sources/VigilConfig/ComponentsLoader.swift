import VigilCore

/// `components:` — the component dependency map root-cause help ranks changes with:
///
/// ```yaml
/// components:
///   api:
///     depends_on: [database, cache]
///   database:
///     depends_on: [storage]
///   cache: {}
///   storage:        # no dependencies (an empty value is the same as {})
/// ```
///
/// Every component named in a `depends_on` must be declared under `components:` (a typo would
/// silently disconnect the map); a component may not depend on itself. Cycles through other
/// components are allowed: services do call each other both ways, and the ranking measures
/// shortest paths, which a cycle cannot make endless.
enum ComponentsLoader {
    static let keys = ["depends_on"]
    /// Hundreds of components is a large estate; tens of thousands is a mistake.
    static let maximumCount = 2000
    static let maximumDependencies = 200

    static func load(_ node: YAMLNode, into map: inout ComponentDependencies) {
        guard let entries = node.mapping("components") else { return }
        guard entries.count <= maximumCount else {
            node.diagnostics.add(.invalidValue(node.location, key: "components", found: "\(entries.count) components",
                                               expected: "at most \(maximumCount)"))
            return
        }
        let declared = Set(entries.map(\.key))
        var out: [String: [String]] = [:]
        for e in entries {
            guard ChangeLimits.isValidComponent(e.key) else {
                e.keyNode.diagnostics.add(.invalidValue(e.keyNode.location, key: "components", found: e.key,
                                                        expected: "a component name: letters, digits, spaces and _ . - / :, "
                                                            + "starting with a letter or digit, at most \(ChangeLimits.componentBytes) bytes"))
                continue
            }
            out[e.key] = []
            if let text = e.value.scalar, text.isEmpty || text == "~" || text == "null" { continue }
            guard let f = e.value.fields("components.\(e.key)", allowed: keys),
                  let list = f["depends_on"]?.sequence("depends_on") else { continue }
            guard list.count <= maximumDependencies else {
                e.value.diagnostics.add(.invalidValue(e.value.location, key: "depends_on", found: "\(list.count) components",
                                                      expected: "at most \(maximumDependencies)"))
                continue
            }
            for item in list {
                guard let name = item.string("depends_on") else { continue }
                if name == e.key {
                    item.diagnostics.add(.invalidValue(item.location, key: "depends_on", found: name,
                                                       expected: "another component (\(e.key) cannot depend on itself)"))
                } else if !declared.contains(name) {
                    item.diagnostics.add(.invalidValue(item.location, key: "depends_on", found: name,
                                                       expected: "a component declared under components: ("
                                                           + declared.sorted().joined(separator: ", ") + ")"))
                } else if out[e.key]?.contains(name) == false {
                    out[e.key, default: []].append(name)
                }
            }
        }
        map.dependsOn = out
    }
}
