import GRDB
import VigilCore

/// A recovery watch as stored: one row per incident, replaced when the incident is resolved
/// again (the timeline keeps every watch's start and end).
struct RecoveryWatchRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "recoveryWatch"
    var incidentID: String
    var ruleID: String
    var expression: String
    var original: String
    var startedAt: Int64
    var until: Int64
    var endedAt: Int64?
    var outcome: String?

    init(_ w: RecoveryWatch) {
        incidentID = w.incidentID
        ruleID = w.ruleID
        expression = w.expression
        original = w.original
        startedAt = w.startedAt.nanoseconds
        until = w.until.nanoseconds
        endedAt = w.endedAt?.nanoseconds
        outcome = w.outcome?.rawValue
    }

    var watch: RecoveryWatch {
        RecoveryWatch(incidentID: incidentID, ruleID: ruleID, expression: expression, original: original,
                      startedAt: Timestamp(nanoseconds: startedAt), until: Timestamp(nanoseconds: until),
                      endedAt: endedAt.map(Timestamp.init(nanoseconds:)),
                      outcome: outcome.flatMap(RecoveryWatch.Outcome.init(rawValue:)) ?? (outcome == nil ? nil : .ended))
    }
}

extension Store {
    /// The most watches that run at once; the oldest beyond it are not loaded (logged by the daemon).
    public static let maximumActiveRecoveryWatches = 1_000

    /// Watches not yet ended (watching, or following a recurrence until it clears), soonest to end first.
    public func activeRecoveryWatches() async throws -> [RecoveryWatch] {
        try await pool.read { db in
            try RecoveryWatchRecord.filter(Column("endedAt") == nil).order(Column("until"), Column("incidentID"))
                .limit(Self.maximumActiveRecoveryWatches).fetchAll(db).map(\.watch)
        }
    }

    /// Whether any watch is due to end (``StoreTransaction/recoveryWatchesToEnd(now:limit:)``): a
    /// read, so the once-a-second sweep takes the write lock only when there is work.
    public func hasRecoveryWatchesToEnd(now: Timestamp) async throws -> Bool {
        try await pool.read { db in try !RecoveryWatchRecord.toEnd(db, now: now, limit: 1).isEmpty }
    }

    /// The incident's latest watch, ended or not.
    public func recoveryWatch(incidentID: String) async throws -> RecoveryWatch? {
        try await pool.read { db in try RecoveryWatchRecord.fetchOne(db, key: incidentID)?.watch }
    }
}

extension StoreTransaction {
    public func recoveryWatch(incidentID: String) throws -> RecoveryWatch? {
        try RecoveryWatchRecord.fetchOne(db, key: incidentID)?.watch
    }

    /// Stores `watch` as the incident's, replacing an earlier one.
    public func save(_ watch: RecoveryWatch) throws {
        try RecoveryWatchRecord(watch).save(db)
    }

    /// Watches to end: watching ones whose time is up by `now` or whose incident is no longer
    /// resolved, in post-mortem or closed (reopened another way), and recurred ones whose incident
    /// was resolved again without a new watch taking their place; at most `limit`.
    public func recoveryWatchesToEnd(now: Timestamp, limit: Int = 100) throws -> [RecoveryWatch] {
        try RecoveryWatchRecord.toEnd(db, now: now, limit: limit)
    }
}

extension RecoveryWatchRecord {
    static func toEnd(_ db: Database, now: Timestamp, limit: Int) throws -> [RecoveryWatch] {
        try fetchAll(db, sql: """
            SELECT w.* FROM recoveryWatch w JOIN incident i ON i.id = w.incidentID
            WHERE w.endedAt IS NULL AND (
              (w.outcome IS NULL AND (w.until <= ? OR i.state NOT IN ('resolved', 'post-mortem', 'closed')))
              OR (w.outcome = 'recurred' AND i.state IN ('resolved', 'post-mortem', 'closed')))
            ORDER BY w.until LIMIT ?
            """, arguments: [now.nanoseconds, limit]).map(\.watch)
    }
}
