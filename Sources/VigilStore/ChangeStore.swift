import GRDB
import VigilCore

/// One row of the `changeRecord` table: a change root-cause help ranks (``ChangeRecord``).
struct ChangeRow: Codable, FetchableRecord, MutablePersistableRecord {
    static let databaseTableName = "changeRecord"
    var id: Int64?
    var time: Int64
    var kind: String
    var component: String?
    var subject: String
    var summary: String
    var actor: String
    var detail: String?
    var recordedAt: Int64

    init(_ c: ChangeRecord) {
        id = c.id
        time = c.time.nanoseconds
        kind = c.kind.rawValue
        component = c.component
        subject = c.subject
        summary = c.summary
        actor = c.actor
        detail = c.detail
        recordedAt = c.recordedAt.nanoseconds
    }

    mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    func change() throws -> ChangeRecord {
        guard let k = ChangeRecord.Kind(rawValue: kind) else {
            throw StoreError.corruptRow(table: "changeRecord", id: "\(id ?? 0)", reason: "unknown kind \"\(kind)\"")
        }
        return ChangeRecord(id: id, time: Timestamp(nanoseconds: time), kind: k, component: component, subject: subject,
                            summary: summary, actor: actor, detail: detail, recordedAt: Timestamp(nanoseconds: recordedAt))
    }
}

/// The fingerprint of a plugin as last started (`pluginFingerprint`): a different one at the next
/// start is a plugin upgrade.
public struct PluginFingerprintRecord: Codable, FetchableRecord, PersistableRecord, Sendable, Equatable {
    public static let databaseTableName = "pluginFingerprint"
    public var name: String
    public var version: String
    /// SHA-256 of `plugin.yaml` and of the executable, joined.
    public var fingerprint: String
    public var seenAt: Int64

    public init(name: String, version: String, fingerprint: String, seenAt: Timestamp) {
        self.name = name
        self.version = version
        self.fingerprint = fingerprint
        self.seenAt = seenAt.nanoseconds
    }
}

/// Root-cause help's migration, kept apart from ``Schema``'s incident tables.
enum ChangeSchema {
    static func register(in m: inout DatabaseMigrator) {
        m.registerMigration("v12-change-records") { db in
            try db.create(table: "changeRecord") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("time", .integer).notNull().indexed()
                t.column("kind", .text).notNull()
                t.column("component", .text)
                t.column("subject", .text).notNull()
                t.column("summary", .text).notNull()
                t.column("actor", .text).notNull()
                t.column("detail", .text)
                t.column("recordedAt", .integer).notNull()
            }
            try db.create(table: "pluginFingerprint") { t in
                t.primaryKey("name", .text)
                t.column("version", .text).notNull()
                t.column("fingerprint", .text).notNull()
                t.column("seenAt", .integer).notNull()
            }
            // Root-cause help reads the containment actions requested before an incident.
            try db.create(index: "action_requested", on: "action", columns: ["requestedAt"])
        }
    }
}

extension Store {
    /// Stores a change and returns it with its id. The table is bounded: rows past
    /// ``ChangeLimits/retention`` and the oldest beyond ``ChangeLimits/maximumRows`` go in the same
    /// transaction.
    public func recordChange(_ change: ChangeRecord, keep: Int = ChangeLimits.maximumRows) async throws -> ChangeRecord {
        try await Self.reportingRefusal { try await pool.write { db in try Self.recordChange(db, change, keep: keep) } }
    }

    static func recordChange(_ db: Database, _ change: ChangeRecord, keep: Int = ChangeLimits.maximumRows) throws -> ChangeRecord {
        var row = ChangeRow(change)
        row.id = nil
        try row.insert(db)
        let horizon = (change.recordedAt - ChangeLimits.retention).nanoseconds
        try db.execute(sql: "DELETE FROM changeRecord WHERE recordedAt < ?", arguments: [horizon])
        try db.execute(sql: """
            DELETE FROM changeRecord WHERE id <= (SELECT id FROM changeRecord ORDER BY id DESC LIMIT 1 OFFSET ?)
            """, arguments: [max(1, keep)])
        return try row.change()
    }

    /// Changes, newest first: at or after `since`, before `until`, of `component` (exact, any
    /// case) and of `kinds`, at most `limit`.
    public func changes(since: Timestamp? = nil, until: Timestamp? = nil, component: String? = nil,
                        kinds: [ChangeRecord.Kind]? = nil, limit: Int = 100) async throws -> [ChangeRecord] {
        try await pool.read { db in
            var r = ChangeRow.all()
            if let since { r = r.filter(Column("time") >= since.nanoseconds) }
            if let until { r = r.filter(Column("time") < until.nanoseconds) }
            if let component { r = r.filter(Column("component").collating(.nocase) == component) }
            if let kinds { r = r.filter(kinds.map(\.rawValue).contains(Column("kind"))) }
            return try r.order(Column("time").desc, Column("id").desc).limit(max(0, limit)).fetchAll(db).map { try $0.change() }
        }
    }

    /// Every plugin's last fingerprint, by name.
    public func pluginFingerprints() async throws -> [String: PluginFingerprintRecord] {
        try await pool.read { db in
            Dictionary(try PluginFingerprintRecord.fetchAll(db).map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        }
    }

    /// Saves the plugins' fingerprints and the upgrade changes they revealed, in one transaction.
    public func savePluginFingerprints(_ records: [PluginFingerprintRecord], changes: [ChangeRecord]) async throws {
        guard !records.isEmpty || !changes.isEmpty else { return }
        try await Self.reportingRefusal { try await pool.write { db in
            for r in records { try r.save(db) }
            for c in changes { _ = try Self.recordChange(db, c) }
        } }
    }
}

extension StoreTransaction {
    /// What preceded an incident, for root-cause help: changes, containment actions and other
    /// incidents between `from` and `to`, each list bounded by `limit`.
    public func causeCandidates(from: Timestamp, to: Timestamp, limit: Int = 500)
        throws -> (changes: [ChangeRecord], actions: [(ActionRecord, Incident?)], incidents: [Incident]) {
        let changes = try ChangeRow.filter(Column("time") >= from.nanoseconds && Column("time") <= to.nanoseconds)
            .order(Column("time").desc).limit(limit).fetchAll(db).map { try $0.change() }
        let actions = try ActionRecord.filter(Column("requestedAt") >= from.nanoseconds && Column("requestedAt") <= to.nanoseconds)
            .filter(Column("dryRun") == false)
            .filter([ActionState.queued, .running, .succeeded, .failed].map(\.rawValue).contains(Column("state")))
            .order(Column("requestedAt").desc).limit(limit).fetchAll(db)
        var owners: [String: Incident] = [:]
        for id in Set(actions.compactMap(\.incidentID)) { owners[id] = try incident(id: id) }
        // Incidents are found by creation (indexed); detection is at or before creation, so the
        // window is widened by an hour and the ranking keeps those detected inside it.
        let incidents = try IncidentRecord.filter(Column("createdAt") >= from.nanoseconds
                                                  && Column("createdAt") <= (to + .seconds(3600)).nanoseconds)
            .order(Column("createdAt").desc).limit(limit).fetchAll(db).map { try $0.incident() }
            .filter { $0.detectedAt >= from && $0.detectedAt <= to }
        return (changes, actions.map { ($0, $0.incidentID.flatMap { owners[$0] }) }, incidents)
    }
}
