/// Where an action item (a post-incident improvement, seed 004 Phase 5) stands.
///
/// ```
/// open ⇄ in-progress → done → verified
///   └──────┴───────────→ dropped → open
/// done → in-progress (not done after all)
/// ```
public enum ActionItemState: String, Codable, Sendable, Equatable, CaseIterable {
    case open
    case inProgress = "in-progress"
    case done
    /// Its success criteria were checked after it was done.
    case verified
    /// Decided against, with a reason.
    case dropped

    /// The states it may move to.
    public var next: [ActionItemState] {
        switch self {
        case .open: [.inProgress, .done, .dropped]
        case .inProgress: [.open, .done, .dropped]
        case .done: [.verified, .inProgress]
        case .verified: []
        case .dropped: [.open]
        }
    }

    /// No more work is expected of it (a dependency in this state no longer holds anything up).
    public var isSettled: Bool { self == .done || self == .verified || self == .dropped }
}

/// Seed 004 Phase 5's improvement categories.
public enum ActionItemCategory: String, Codable, Sendable, Equatable, CaseIterable {
    case prevent, detect, mitigate, process
}

/// Dependencies between action items.
public enum ActionItemGraph {
    /// The cycle `item` would close by depending on `dependsOn`, as the ids around it starting and
    /// ending with `item` (`[4, 7, 4]`); nil when there is none. `edges` holds every other item's
    /// dependencies. Iterative and visiting each item once: no input makes it recurse deeply.
    public static func cycle(item: Int64, dependsOn: [Int64], edges: [Int64: [Int64]]) -> [Int64]? {
        var parent: [Int64: Int64] = [:]
        var seen: Set<Int64> = []
        var stack: [Int64] = []
        for d in dependsOn where seen.insert(d).inserted {
            parent[d] = item
            stack.append(d)
        }
        while let current = stack.popLast() {
            if current == item {
                var path = [item]
                var at = parent[item] ?? item
                while at != item {
                    path.append(at)
                    at = parent[at] ?? item
                }
                path.append(item)
                return path.reversed()
            }
            for next in edges[current] ?? [] where next == item || seen.insert(next).inserted {
                if next == item {
                    parent[item] = current
                    stack.append(item)
                } else {
                    parent[next] = current
                    stack.append(next)
                }
            }
        }
        return nil
    }
}
