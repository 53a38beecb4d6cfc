import GRDB
import VigilCore

/// A silence row. Matchers are stored as written (`[{"name","type","value"}]`, type one of
/// `=`, `!=`, `=~`, `!~`) and checked again when read, so the store needs no matcher code.
public struct SilenceRecord: Codable, FetchableRecord, PersistableRecord, Sendable, Equatable {
    public static let databaseTableName = "silence"

    /// One stored matcher.
    public struct Matcher: Codable, Sendable, Equatable {
        public var name: String
        public var type: String
        public var value: String
        public init(name: String, type: String, value: String) {
            self.name = name
            self.type = type
            self.value = value
        }
    }

    /// Lowercase UUID text.
    public var id: String
    public var matchers: [Matcher]
    public var startsAt: Int64
    public var endsAt: Int64
    public var updatedAt: Int64
    public var createdBy: String
    public var comment: String
    /// The state (`pending`, `active`, `expired`) last written into the affected incidents'
    /// timelines, so a daemon that was down when a silence ran out still announces its end.
    public var announced: String?

    public init(id: String, matchers: [Matcher], startsAt: Timestamp, endsAt: Timestamp, updatedAt: Timestamp,
                createdBy: String, comment: String, announced: String? = nil) {
        self.id = id
        self.matchers = matchers
        self.startsAt = startsAt.nanoseconds
        self.endsAt = endsAt.nanoseconds
        self.updatedAt = updatedAt.nanoseconds
        self.createdBy = createdBy
        self.comment = comment
        self.announced = announced
    }
}

/// The silences' own migration, kept apart from ``Schema``'s incident tables.
enum SilenceSchema {
    static func register(in m: inout DatabaseMigrator) {
        m.registerMigration("v-silences") { db in
            try db.create(table: "silence") { t in
                t.primaryKey("id", .text)
                t.column("matchers", .jsonText).notNull()
                t.column("startsAt", .integer).notNull()
                t.column("endsAt", .integer).notNull().indexed()
                t.column("updatedAt", .integer).notNull()
                t.column("createdBy", .text).notNull()
                t.column("comment", .text).notNull()
                t.column("announced", .text)
            }
        }
    }
}

extension StoreTransaction {
    /// Inserts or replaces a silence (commits with the rest of the transaction).
    public func save(silence: SilenceRecord) throws {
        try silence.save(db)
    }

    /// Every open incident (the ones a new or expired silence is announced to).
    public func openIncidents() throws -> [Incident] {
        try IncidentRecord.fetchAll(db, sql: "SELECT * FROM incident WHERE state IN (\(Self.openStates)) ORDER BY createdAt")
            .map { try $0.incident() }
    }
}

extension Store {
    /// Every stored silence.
    public func silences() async throws -> [SilenceRecord] {
        try await pool.read { db in try SilenceRecord.order(Column("updatedAt").desc).fetchAll(db) }
    }

    /// Deletes silences past their retention.
    public func deleteSilences(ids: [String]) async throws {
        guard !ids.isEmpty else { return }
        _ = try await write { tx in try SilenceRecord.deleteAll(tx.db, keys: ids) }
    }
}
