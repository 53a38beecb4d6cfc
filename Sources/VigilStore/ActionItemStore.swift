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

    /// Every item's dependencies and state, for checking a change against them.
    public func actionItemGraph() throws -> (edges: [Int64: [Int64]], states: [Int64: String]) {
        var edges: [Int64: [Int64]] = [:]
        var states: [Int64: String] = [:]
        let rows = try Row.fetchCursor(db, sql: "SELECT id, state, dependsOn FROM actionItem")
        while let row = try rows.next() {
            let id: Int64 = try row.decode(Int64.self, forColumn: "id")
            states[id] = try row.decode(String.self, forColumn: "state")
            let text: String = try row.decode(String.self, forColumn: "dependsOn")
            if text != "[]", let list = try? JSONDecoder().decode([Int64].self, from: Data(text.utf8)) { edges[id] = list }
        }
        return (edges, states)
    }

    /// Inserts (no id) or updates the item.
    public func save(_ item: inout ActionItemRecord) throws {
        try item.save(db)
    }
}
