import Foundation
import GRDB
import VigilCore

/// One stored alert (the `alert` table) and whether it has been counted into its incident.
public struct AlertRecord: Codable, FetchableRecord, PersistableRecord, Sendable, Equatable {
    public static let databaseTableName = "alert"
    public var fingerprint: String
    var labels: String
    var annotations: String
    public var startsAt: Int64
    public var endsAt: Int64
    public var updatedAt: Int64
    public var generatorURL: String
    /// True while the alert has been told to its group's incident as firing and not yet as resolved.
    public var counted: Bool

    public init(_ alert: Alert, counted: Bool) {
        fingerprint = alert.fingerprint
        labels = Self.text(alert.labels)
        annotations = Self.text(alert.annotations)
        startsAt = alert.startsAt.nanoseconds
        endsAt = alert.endsAt.nanoseconds
        updatedAt = alert.updatedAt.nanoseconds
        generatorURL = alert.generatorURL
        self.counted = counted
    }

    public var alert: Alert {
        Alert(labels: Self.map(labels), annotations: Self.map(annotations), startsAt: Timestamp(nanoseconds: startsAt),
              endsAt: Timestamp(nanoseconds: endsAt), updatedAt: Timestamp(nanoseconds: updatedAt), generatorURL: generatorURL)
    }

    /// Keys sorted; written without `JSONEncoder` (a Codable encode per label set was a fifth
    /// of the daemon's work per posted alert).
    static func text(_ map: [String: String]) -> String { CompactJSON.object(map) }

    static func map(_ text: String) -> [String: String] {
        FlatJSON.object(text) ?? (try? JSONDecoder().decode([String: String].self, from: Data(text.utf8))) ?? [:]
    }

    /// Inserts the alert or replaces the one with its fingerprint, through a cached statement
    /// (GRDB's `save` compiled an UPDATE and then an INSERT through Codable boxes each time).
    func upsert(_ db: Database) throws {
        let statement = try db.cachedStatement(sql: """
            INSERT INTO alert (fingerprint, labels, annotations, startsAt, endsAt, updatedAt, generatorURL, counted)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(fingerprint) DO UPDATE SET labels = excluded.labels, annotations = excluded.annotations,
                startsAt = excluded.startsAt, endsAt = excluded.endsAt, updatedAt = excluded.updatedAt,
                generatorURL = excluded.generatorURL, counted = excluded.counted
            """)
        try statement.execute(arguments: [fingerprint, labels, annotations, startsAt, endsAt, updatedAt, generatorURL, counted])
    }

    static func delete(_ db: Database, fingerprint: String) throws {
        try db.cachedStatement(sql: "DELETE FROM alert WHERE fingerprint = ?").execute(arguments: [fingerprint])
    }
}

extension Store {
    /// Saves alerts (insert or replace by fingerprint) and deletes `removing`, in one transaction:
    /// when it returns they are on disk (WAL, fsynced).
    public func saveAlerts(_ records: [AlertRecord], removing: [String] = []) async throws {
        guard !records.isEmpty || !removing.isEmpty else { return }
        try await Self.reportingRefusal { try await pool.write { db in
            for r in records { try r.upsert(db) }
            for fp in removing { try AlertRecord.delete(db, fingerprint: fp) }
        } }
    }

    /// Applies queued alert writes in their order, in one transaction (``AlertWriteQueue``).
    func applyAlertOperations(_ operations: [AlertWriteQueue.Operation]) async throws {
        try await Self.reportingRefusal { try await pool.write { db in
            for op in operations {
                switch op {
                case .save(let r): try r.upsert(db)
                case .remove(let fp): try AlertRecord.delete(db, fingerprint: fp)
                }
            }
        } }
    }

    /// Every stored alert, oldest first.
    public func alerts() async throws -> [AlertRecord] {
        try await pool.read { db in try AlertRecord.order(Column("startsAt"), Column("fingerprint")).fetchAll(db) }
    }
}
