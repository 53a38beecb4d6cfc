import GRDB
import VigilCore

/// One recorded episode of a rule (the `ruleRecording` table): the samples the daemon kept
/// around an incident, from a lead-in before the rule's condition first held until it cleared.
public struct RuleRecordingRecord: Codable, FetchableRecord, PersistableRecord, Sendable, Equatable {
    public static let databaseTableName = "ruleRecording"
    public var fingerprint: String
    /// When the condition first held (nanoseconds): the incident's detection time.
    public var episode: Int64
    public var ruleID: String
    /// The earliest time the lead-in reached back to.
    public var leadInFrom: Int64?
    /// When the recording stopped (the condition cleared); nil while it goes on.
    public var endedAt: Int64?
    public var samples: Int
    /// Samples were left out (`rules.recording.per_incident`).
    public var truncated: Bool
}

/// Samples to add to one episode's recording, strings resolved (an NDJSON line each, as
/// `vigil rules test --replay` reads them).
public struct RuleSampleBatch: Sendable {
    public var ruleID: String
    public var fingerprint: String
    public var episode: Int64
    public var leadInFrom: Int64?
    public var endedAt: Int64?
    public var truncated: Bool
    public var lines: [(time: Int64, line: String)]

    public init(ruleID: String, fingerprint: String, episode: Int64, leadInFrom: Int64?, endedAt: Int64?, truncated: Bool,
                lines: [(time: Int64, line: String)]) {
        self.ruleID = ruleID
        self.fingerprint = fingerprint
        self.episode = episode
        self.leadInFrom = leadInFrom
        self.endedAt = endedAt
        self.truncated = truncated
        self.lines = lines
    }
}

/// The recorded samples' migration (`v13-rule-samples`).
enum RuleSampleSchema {
    static func register(in m: inout DatabaseMigrator) {
        m.registerMigration("v13-rule-samples") { db in
            // Samples a rule saw around each of its incidents, so `vigil rules suggest` and
            // `vigil rules test --replay incident:ID` replay them with no file from the user.
            try db.create(table: "ruleRecording") { t in
                t.column("fingerprint", .text).notNull()
                t.column("episode", .integer).notNull()
                t.column("ruleID", .text).notNull()
                t.column("leadInFrom", .integer)
                t.column("endedAt", .integer)
                t.column("samples", .integer).notNull().defaults(to: 0)
                t.column("truncated", .boolean).notNull().defaults(to: false)
                t.primaryKey(["fingerprint", "episode"])
            }
            try db.create(table: "ruleSample") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("fingerprint", .text).notNull()
                t.column("episode", .integer).notNull()
                t.column("time", .integer).notNull()
                t.column("line", .text).notNull()
            }
            try db.create(index: "ruleSample_episode", on: "ruleSample", columns: ["fingerprint", "episode", "time"])
            // The hourly prune deletes by episode alone.
            try db.create(index: "ruleSample_age", on: "ruleSample", columns: ["episode"])
        }
    }
}

extension Store {
    /// Adds recorded samples to their episodes (creating each episode's row), in one transaction.
    public func saveRuleSamples(_ batches: [RuleSampleBatch]) async throws {
        guard !batches.isEmpty else { return }
        try await scheduled(.normal) {
            try await pool.write { db in
                for b in batches {
                    if var r = try RuleRecordingRecord.fetchOne(db, key: ["fingerprint": b.fingerprint, "episode": b.episode]) {
                        r.leadInFrom = r.leadInFrom ?? b.leadInFrom
                        r.endedAt = b.endedAt ?? r.endedAt
                        r.samples += b.lines.count
                        r.truncated = r.truncated || b.truncated
                        try r.update(db)
                    } else {
                        try RuleRecordingRecord(fingerprint: b.fingerprint, episode: b.episode, ruleID: b.ruleID,
                                                leadInFrom: b.leadInFrom, endedAt: b.endedAt, samples: b.lines.count,
                                                truncated: b.truncated).insert(db)
                    }
                    let insert = try db.cachedStatement(
                        sql: "INSERT INTO ruleSample (fingerprint, episode, time, line) VALUES (?, ?, ?, ?)")
                    for l in b.lines { try insert.execute(arguments: [b.fingerprint, b.episode, l.time, l.line]) }
                }
            }
        }
    }

    /// The most episodes one incident's recording is read from (a rule flapping for weeks
    /// under one open incident records thousands).
    public static let maximumRecordingsRead = 1_000

    /// The recorded episodes of `fingerprint` that began between `from` and `to` (inclusive),
    /// oldest first, at most ``maximumRecordingsRead``.
    public func ruleRecordings(fingerprint: String, from: Int64, to: Int64?) async throws -> [RuleRecordingRecord] {
        try await pool.read { db in
            var q = RuleRecordingRecord.filter(Column("fingerprint") == fingerprint && Column("episode") >= from)
            if let to { q = q.filter(Column("episode") <= to) }
            return try q.order(Column("episode")).limit(Self.maximumRecordingsRead).fetchAll(db)
        }
    }

    /// The NDJSON lines recorded for one episode, in time order, at most `limit`.
    public func ruleSamples(fingerprint: String, episode: Int64, limit: Int) async throws -> [String] {
        try await pool.read { db in
            try String.fetchAll(db, sql: """
                SELECT line FROM ruleSample WHERE fingerprint = ? AND episode = ? ORDER BY time, id LIMIT ?
                """, arguments: [fingerprint, episode, max(0, limit)])
        }
    }

    /// The incidents `source` opened (`rule:ID`), newest first.
    public func incidents(source: String, limit: Int) async throws -> [Incident] {
        try await pool.read { db in
            try IncidentRecord.filter(Column("source") == source).order(Column("createdAt").desc, Column("id").desc)
                .limit(max(0, limit)).fetchAll(db).map { try $0.incident() }
        }
    }

    /// Deletes the recordings of episodes that began before `before` (nanoseconds); returns how many.
    @discardableResult
    public func pruneRuleSamples(before: Int64) async throws -> Int {
        try await scheduled(.normal) {
            try await pool.write { db in
                try db.execute(sql: "DELETE FROM ruleSample WHERE episode < ?", arguments: [before])
                try db.execute(sql: "DELETE FROM ruleRecording WHERE episode < ?", arguments: [before])
                return db.changesCount
            }
        }
    }
}
