import GRDB
import VigilCore

/// One heartbeat's remembered state (the `heartbeat` table), so a restart neither forgets the
/// last beat nor grants a heartbeat a fresh interval it was not owed.
public struct HeartbeatRecord: Codable, FetchableRecord, PersistableRecord, Sendable, Equatable {
    public static let databaseTableName = "heartbeat"
    public var name: String
    public var since: Int64
    public var lastBeatAt: Int64?
    public var missed: Bool
    /// The body of the last beat (a short note from the sender), if it sent one.
    public var lastMessage: String?

    public init(name: String, state: HeartbeatState, lastMessage: String? = nil) {
        self.name = name
        since = state.since.nanoseconds
        lastBeatAt = state.lastBeatAt?.nanoseconds
        missed = state.missed
        self.lastMessage = lastMessage
    }

    public var state: HeartbeatState {
        HeartbeatState(since: Timestamp(nanoseconds: since), lastBeatAt: lastBeatAt.map { Timestamp(nanoseconds: $0) },
                       missed: missed)
    }
}

/// The heartbeats' own migration, kept apart from ``Schema``'s incident tables.
enum HeartbeatSchema {
    static func register(in m: inout DatabaseMigrator) {
        m.registerMigration("v-heartbeats") { db in
            try db.create(table: "heartbeat") { t in
                t.primaryKey("name", .text)
                t.column("since", .integer).notNull()
                t.column("lastBeatAt", .integer)
                t.column("missed", .boolean).notNull().defaults(to: false)
                t.column("lastMessage", .text)
            }
        }
    }
}

extension Store {
    /// Saves heartbeat states (insert or replace by name) and deletes `removing`, in one
    /// transaction: when it returns they are on disk.
    public func saveHeartbeats(_ records: [HeartbeatRecord], removing: [String] = []) async throws {
        guard !records.isEmpty || !removing.isEmpty else { return }
        try await Self.reportingRefusal { try await pool.write { db in
            for r in records { try r.save(db) }
            for name in removing { _ = try HeartbeatRecord.deleteOne(db, key: name) }
        } }
    }

    /// Every stored heartbeat state, by name.
    public func heartbeats() async throws -> [HeartbeatRecord] {
        try await pool.read { db in try HeartbeatRecord.order(Column("name")).fetchAll(db) }
    }
}
