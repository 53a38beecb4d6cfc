import Foundation
import GRDB
import VigilCore

/// Which action items a listing selects.
public struct ActionItemFilter: Sendable, Equatable {
    public var owner: String?
    /// Nil: every state.
    public var states: [String]?
    public var incidentID: String?

    public init(owner: String? = nil, states: [String]? = nil, incidentID: String? = nil) {
        self.owner = owner
        self.states = states
        self.incidentID = incidentID
    }
}

extension Store {
    /// The most items one listing returns.
    public static let maximumActionItems = 10_000

    /// Action items `filter` selects: those with a due date first (earliest — so overdue — first),
    /// then the rest, oldest first; at most ``maximumActionItems``.
    public func actionItems(matching filter: ActionItemFilter) async throws -> [ActionItemRecord] {
        try await pool.read { db in
            var r = ActionItemRecord.all()
            if let owner = filter.owner { r = r.filter(Column("owner") == owner) }
            if let states = filter.states { r = r.filter(states.contains(Column("state"))) }
            if let incident = filter.incidentID { r = r.filter(Column("incidentID") == incident) }
            return try r.order(sql: "dueAt IS NULL, dueAt, id").limit(Self.maximumActionItems).fetchAll(db)
        }
    }
}

extension Store {
    /// Unsettled items with a due date that need a reminder (due before `remindBy`, none sent
    /// yet) or an escalation (due before `now`, none sent yet); at most `limit`, earliest first.
    public func actionItemsNeedingNotice(now: Timestamp, remindBy: Timestamp, limit: Int = 100) async throws -> [ActionItemRecord] {
        try await pool.read { db in
            try ActionItemRecord.fetchAll(db, sql: """
                SELECT * FROM actionItem
                WHERE state IN ('open', 'in-progress') AND dueAt IS NOT NULL AND incidentID IS NOT NULL
                  AND ((remindedAt IS NULL AND dueAt <= ?) OR (escalatedAt IS NULL AND dueAt <= ?))
                ORDER BY dueAt, id LIMIT ?
                """, arguments: [remindBy.nanoseconds, now.nanoseconds, limit])
        }
    }
}

extension StoreTransaction {
    public func actionItem(id: Int64) throws -> ActionItemRecord? {
        try ActionItemRecord.fetchOne(db, key: id)
    }

    /// The most items one dependency check reads (the items reachable from a change's dependencies).
    public static let maximumDependencyClosure = 100_000

    /// The dependencies and states of the items reachable from `roots` through their
    /// dependencies (`roots` included), for checking a change against them: what a cycle through
    /// the changed item and the states of its dependencies need, not every item ever made.
    public func actionItemGraph(reachableFrom roots: [Int64]) throws -> (edges: [Int64: [Int64]], states: [Int64: String]) {
        var edges: [Int64: [Int64]] = [:]
        var states: [Int64: String] = [:]
        var frontier = Array(Set(roots))
        var seen = Set(frontier)
        while !frontier.isEmpty {
            let batch = Array(frontier.prefix(500))
            frontier.removeFirst(batch.count)
            let rows = try Row.fetchCursor(db, sql: "SELECT id, state, dependsOn FROM actionItem WHERE id IN (\(batch.map { _ in "?" }.joined(separator: ",")))",
                                           arguments: StatementArguments(batch))
            while let row = try rows.next() {
                let id: Int64 = try row.decode(Int64.self, forColumn: "id")
                states[id] = try row.decode(String.self, forColumn: "state")
                let text: String = try row.decode(String.self, forColumn: "dependsOn")
                guard text != "[]", let list = try? JSONDecoder().decode([Int64].self, from: Data(text.utf8)) else { continue }
                edges[id] = list
                for d in list where seen.insert(d).inserted { frontier.append(d) }
            }
            guard seen.count <= Self.maximumDependencyClosure else {
                throw ActionItemGraphTooLarge(limit: Self.maximumDependencyClosure)
            }
        }
        return (edges, states)
    }

    /// Inserts (no id) or updates the item.
    public func save(_ item: inout ActionItemRecord) throws {
        try item.save(db)
    }
}

/// A change whose dependencies reach more items than one check reads.
public struct ActionItemGraphTooLarge: Error, CustomStringConvertible {
    public var limit: Int
    public var description: String { "depends_on: the dependencies reach more than \(limit) action items; depend on fewer" }
}
