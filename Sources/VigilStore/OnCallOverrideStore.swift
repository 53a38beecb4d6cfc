import GRDB
import VigilCore

/// An on-call override made at run time (`vigil oncall override add`, the console, `POST
/// /api/v1/oncall/overrides`): `person` holds `rotation`'s role from `startsAt` until `endsAt`.
/// Removing one keeps the row (who removed it and when), so what the roster said at any past
/// moment can still be told.
public struct OnCallOverrideRecord: Codable, FetchableRecord, MutablePersistableRecord, Sendable, Equatable {
    public static let databaseTableName = "oncall_override"
    public var id: Int64?
    public var rotation: String
    public var person: String
    public var startsAt: Int64
    public var endsAt: Int64
    public var reason: String
    public var createdAt: Int64
    /// The person (API token) or local account that made it.
    public var createdBy: String
    public var removedAt: Int64?
    public var removedBy: String?

    public init(id: Int64? = nil, rotation: String, person: String, startsAt: Timestamp, endsAt: Timestamp,
                reason: String, createdAt: Timestamp, createdBy: String) {
        self.id = id
        self.rotation = rotation
        self.person = person
        self.startsAt = startsAt.nanoseconds
        self.endsAt = endsAt.nanoseconds
        self.reason = reason
        self.createdAt = createdAt.nanoseconds
        self.createdBy = createdBy
    }

    /// When it stops applying: its end, or its removal when that came first. At or before
    /// ``startsAt`` (removed before it began) it never applied.
    public var effectiveEnd: Timestamp {
        Timestamp(nanoseconds: removedAt.map { min($0, endsAt) } ?? endsAt)
    }

    /// The override as the roster applies it; nil when it never applied.
    public var rosterOverride: RosterOverride? {
        let end = effectiveEnd
        guard end.nanoseconds > startsAt else { return nil }
        return RosterOverride(rotation: rotation, person: person, from: Timestamp(nanoseconds: startsAt), until: end)
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// The run-time overrides' migration, kept apart from ``Schema``'s incident tables.
enum OnCallOverrideSchema {
    static func register(in m: inout DatabaseMigrator) {
        m.registerMigration("v6-oncall-overrides") { db in
            try db.create(table: "oncall_override") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("rotation", .text).notNull()
                t.column("person", .text).notNull()
                t.column("startsAt", .integer).notNull()
                t.column("endsAt", .integer).notNull().indexed()
                t.column("reason", .text).notNull()
                t.column("createdAt", .integer).notNull()
                t.column("createdBy", .text).notNull()
                t.column("removedAt", .integer)
                t.column("removedBy", .text)
            }
        }
    }
}

extension Store {
    /// Stores a new override and returns it with its id, or nil (storing nothing) when `limit`
    /// overrides not removed already end after `liveAt`: the count and the insert are one
    /// transaction. Allowed whatever the write gate says: who is paged is incident work, and
    /// must be changeable in the middle of one.
    public func insertOnCallOverride(_ record: OnCallOverrideRecord, unlessMoreThan limit: Int,
                                     liveAt: Timestamp) async throws -> OnCallOverrideRecord? {
        try await write { tx in
            let live = try Int.fetchOne(tx.db, sql: """
                SELECT COUNT(*) FROM oncall_override WHERE endsAt > ? AND removedAt IS NULL
                """, arguments: [liveAt.nanoseconds]) ?? 0
            guard live < limit else { return nil }
            var r = record
            try r.insert(tx.db)
            return r
        }
    }

    /// The overrides still applying at or after `after` (not removed before then), oldest first:
    /// the order the roster applies them in, so where two overlap the newer wins.
    public func onCallOverrides(endingAfter after: Timestamp) async throws -> [OnCallOverrideRecord] {
        try await pool.read { db in
            try OnCallOverrideRecord.fetchAll(db, sql: """
                SELECT * FROM oncall_override
                WHERE endsAt > ?1 AND (removedAt IS NULL OR (removedAt > ?1 AND removedAt > startsAt))
                ORDER BY id
                """, arguments: [after.nanoseconds])
        }
    }

    public func onCallOverride(id: Int64) async throws -> OnCallOverrideRecord? {
        try await pool.read { db in try OnCallOverrideRecord.fetchOne(db, key: id) }
    }

    /// Marks an override removed at `at` by `by`, in one transaction with the check `check`
    /// makes of the stored row (throw to refuse). Returns the updated record, or nil for an
    /// unknown id.
    public func removeOnCallOverride(id: Int64, at: Timestamp, by: String,
                                     check: @escaping @Sendable (OnCallOverrideRecord) throws -> Void) async throws
        -> OnCallOverrideRecord? {
        try await write { tx in
            guard var record = try OnCallOverrideRecord.fetchOne(tx.db, key: id) else { return nil }
            try check(record)
            record.removedAt = at.nanoseconds
            record.removedBy = by
            try record.update(tx.db)
            return record
        }
    }
}
