/// The component dependency map (`components:` in the configuration): which component depends on
/// which. Root-cause help uses it to tell a change to the incident's own component from one to a
/// component it depends on, directly or through others. Cycles are allowed (a cache and a
/// database may each depend on the other): distances are shortest paths, so a cycle only ever
/// makes a component nearer.
public struct ComponentDependencies: Codable, Sendable, Equatable {
    /// Component → the components it depends on directly.
    public var dependsOn: [String: [String]]
    /// How far back root-cause help looks from an incident's detection (`incidents.post_mortem.cause_lookback`).
    public var lookback: Duration
    /// The most hypotheses a post-mortem draft lists (`incidents.post_mortem.cause_limit`).
    public var limit: Int

    public static let defaultLookback: Duration = .seconds(24 * 3600)
    public static let defaultLimit = 10

    public init(dependsOn: [String: [String]] = [:], lookback: Duration = Self.defaultLookback, limit: Int = Self.defaultLimit) {
        self.dependsOn = dependsOn
        self.lookback = lookback
        self.limit = limit
    }

    /// Every component the map names, as a key or as a dependency.
    public var known: Set<String> { Set(dependsOn.keys).union(dependsOn.values.joined()) }

    /// How `component` relates to the incident's components: itself, something they depend on
    /// (with the path), something that depends on them, or nothing the map knows of.
    public func relation(of component: String, to incidentComponents: [String]) -> ComponentRelation {
        let own = Set(incidentComponents.map { $0.lowercased() })
        let target = component.lowercased()
        if own.contains(target) { return .same(component) }
        let forward = lowercasedMap()
        if let path = shortestPath(from: own, to: target, edges: forward) { return .dependency(path: path) }
        var backward: [String: [String]] = [:]
        for (from, tos) in forward { for to in tos { backward[to, default: []].append(from) } }
        if let path = shortestPath(from: own, to: target, edges: backward) { return .dependent(path: path) }
        return .unrelated
    }

    private func lowercasedMap() -> [String: [String]] {
        var out: [String: [String]] = [:]
        for (k, v) in dependsOn { out[k.lowercased(), default: []] += v.map { $0.lowercased() } }
        return out
    }

    /// Breadth first, sorted at each step so the same map always explains itself the same way.
    private func shortestPath(from starts: Set<String>, to target: String, edges: [String: [String]]) -> [String]? {
        var previous: [String: String] = [:]
        var seen = starts
        var frontier = starts.sorted()
        while !frontier.isEmpty {
            var next: [String] = []
            for node in frontier {
                for to in (edges[node] ?? []).sorted() where !seen.contains(to) {
                    seen.insert(to)
                    previous[to] = node
                    if to == target {
                        var path = [to]
                        var at = to
                        while let p = previous[at] { path.insert(p, at: 0); at = p }
                        return path
                    }
                    next.append(to)
                }
            }
            frontier = next
        }
        return nil
    }
}

/// How a changed component stands to an incident's components (``ComponentDependencies/relation(of:to:)``).
public enum ComponentRelation: Sendable, Equatable {
    /// One of the incident's own components.
    case same(String)
    /// The incident's component depends on it: `path` runs from the incident's component to it
    /// (`[api, database]` is direct, `[api, database, disk]` transitive).
    case dependency(path: [String])
    /// It depends on the incident's component: `path` runs from the incident's component to it.
    case dependent(path: [String])
    /// The map does not connect them.
    case unrelated
}
