import Foundation
import GRDB
import VigilCore

/// A host agent as the central daemon remembers it (the `agent` table).
public struct AgentRecord: Codable, FetchableRecord, PersistableRecord, Sendable, Equatable {
    public static let databaseTableName = "agent"
    /// The agent's name: the person of its API token (role `agent`), never what it says of itself.
    public var name: String
    public var firstContactAt: Int64
    public var lastContactAt: Int64
    /// Whether the agent is overdue and its incident was opened (cleared when it calls in).
    public var missed: Bool
    /// Signals received from it, duplicates not counted.
    public var received: Int64
    /// The spool its last request came from, and that spool's last signal received.
    public var lastSpool: String?
    public var lastSeq: Int64?
    /// How many signals its last call-in said were still waiting in its spool.
    public var spooled: Int64
    public var version: String?

    public init(name: String, firstContactAt: Int64, lastContactAt: Int64, missed: Bool = false, received: Int64 = 0,
                lastSpool: String? = nil, lastSeq: Int64? = nil, spooled: Int64 = 0, version: String? = nil) {
        self.name = name
        self.firstContactAt = firstContactAt
        self.lastContactAt = lastContactAt
        self.missed = missed
        self.received = received
        self.lastSpool = lastSpool
        self.lastSeq = lastSeq
        self.spooled = spooled
        self.version = version
    }
}

/// One signal waiting in a host agent's spool (`agentSpool`), oldest first.
public struct SpooledSignal: Sendable, Equatable {
    public var seq: Int64
    /// The signal as JSON (``RuleSignal``'s Codable form), forwarded as it is.
    public var body: Data
    public var queuedAt: Timestamp
}

/// The agents' migration: the central daemon's `agent` and `agentCursor` tables, and the host
/// agent's own `agentSpool` and `agentSpoolIdentity` (a daemon uses one side or the other).
enum AgentSchema {
    static func register(in m: inout DatabaseMigrator) {
        m.registerMigration("v14-agents") { db in
            try db.create(table: "agent") { t in
                t.primaryKey("name", .text)
                t.column("firstContactAt", .integer).notNull()
                t.column("lastContactAt", .integer).notNull()
                t.column("missed", .boolean).notNull().defaults(to: false)
                t.column("received", .integer).notNull().defaults(to: 0)
                t.column("lastSpool", .text)
                t.column("lastSeq", .integer)
                t.column("spooled", .integer).notNull().defaults(to: 0)
                t.column("version", .text)
            }
            // One row per (agent, spool): the last sequence number applied. A replayed batch's
            // signals at or below it are duplicates; the cursor moves in the transaction that
            // applies the signals, so a crash can neither lose nor repeat one.
            try db.create(table: "agentCursor") { t in
                t.column("agent", .text).notNull()
                t.column("spool", .text).notNull()
                t.column("lastSeq", .integer).notNull()
                t.column("updatedAt", .integer).notNull()
                t.primaryKey(["agent", "spool"])
            }
            try db.execute(sql: """
                CREATE TABLE agentSpool (seq INTEGER PRIMARY KEY AUTOINCREMENT, body BLOB NOT NULL, queuedAt INTEGER NOT NULL)
                """)
            try db.create(table: "agentSpoolIdentity") { t in
                t.primaryKey("id", .integer).check { $0 == 1 }
                t.column("spool", .text).notNull()
                t.column("createdAt", .integer).notNull()
            }
        }
    }
}

// MARK: The host agent's spool

extension Store {
    /// The spool's id, made (a random UUID) the first time: the central daemon keeps one cursor
    /// per agent and spool, so an agent whose state folder was wiped starts afresh rather than
    /// having its new signals taken for replays.
    public func agentSpoolIdentity(now: Timestamp) async throws -> String {
        try await Self.reportingRefusal { try await pool.write { db in
            if let id = try String.fetchOne(db, sql: "SELECT spool FROM agentSpoolIdentity WHERE id = 1") { return id }
            let id = UUID().uuidString.lowercased()
            try db.execute(sql: "INSERT INTO agentSpoolIdentity (id, spool, createdAt) VALUES (1, ?, ?)",
                           arguments: [id, now.nanoseconds])
            return id
        } }
    }

    /// Appends signals (JSON bodies) in order, durable when this returns. The spool holds at most
    /// `limit`, and `reserve` more for those marked (resolved signals, which must not be lost while
    /// their firing waits): signals past that are not stored, and their count is returned as
    /// `dropped` (the oldest are kept: they are what the central daemons have not seen).
    public func appendToAgentSpool(_ items: [(body: Data, reserved: Bool)], queuedAt: Timestamp, limit: Int,
                                   reserve: Int = 0) async throws -> (appended: Int, dropped: Int) {
        guard !items.isEmpty else { return (0, 0) }
        return try await Self.reportingRefusal { try await pool.write { db in
            var held = try Self.agentSpoolCount(db)
            var appended = 0
            let statement = try db.cachedStatement(sql: "INSERT INTO agentSpool (body, queuedAt) VALUES (?, ?)")
            for item in items where held < (item.reserved ? limit + reserve : limit) {
                try statement.execute(arguments: [item.body, queuedAt.nanoseconds])
                held += 1
                appended += 1
            }
            return (appended, items.count - appended)
        } }
    }

    /// Appends unreserved signals (see ``appendToAgentSpool(_:queuedAt:limit:reserve:)``).
    public func appendToAgentSpool(_ bodies: [Data], queuedAt: Timestamp, limit: Int) async throws -> (appended: Int, dropped: Int) {
        try await appendToAgentSpool(bodies.map { ($0, false) }, queuedAt: queuedAt, limit: limit)
    }

    /// A new spool id, for a spool whose numbers went back (its state folder restored from a backup).
    public func renewAgentSpoolIdentity(now: Timestamp) async throws -> String {
        try await Self.reportingRefusal { try await pool.write { db in
            let id = UUID().uuidString.lowercased()
            try db.execute(sql: "INSERT OR REPLACE INTO agentSpoolIdentity (id, spool, createdAt) VALUES (1, ?, ?)",
                           arguments: [id, now.nanoseconds])
            return id
        } }
    }

    /// The oldest `limit` spooled signals, in order.
    public func agentSpool(limit: Int) async throws -> [SpooledSignal] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT seq, body, queuedAt FROM agentSpool ORDER BY seq LIMIT ?",
                             arguments: [max(0, limit)]).map { row in
                SpooledSignal(seq: row["seq"], body: row["body"], queuedAt: Timestamp(nanoseconds: row["queuedAt"]))
            }
        }
    }

    /// Removes the spooled signals up to and including `seq` (the central daemon acknowledged them).
    public func removeFromAgentSpool(through seq: Int64) async throws {
        try await Self.reportingRefusal { try await pool.write { db in
            try db.execute(sql: "DELETE FROM agentSpool WHERE seq <= ?", arguments: [seq])
        } }
    }

    /// How many signals wait in the spool.
    public func agentSpoolCount() async throws -> Int {
        try await pool.read { db in try Self.agentSpoolCount(db) }
    }

    /// Signals are removed from the front only, so the count is the span of sequence numbers:
    /// two look-ups on the key instead of a scan of a spool that may hold a million.
    static func agentSpoolCount(_ db: Database) throws -> Int {
        guard let row = try Row.fetchOne(db, sql: "SELECT MIN(seq) AS low, MAX(seq) AS high FROM agentSpool"),
              let low: Int64 = row["low"], let high: Int64 = row["high"] else { return 0 }
        let (span, overflow) = high.subtractingReportingOverflow(low)
        guard !overflow, span < Int64(Int.max) else { return Int.max }
        return Int(span) + 1
    }
}

// MARK: The central daemon's agents

extension StoreTransaction {
    /// The last sequence number applied from `agent`'s spool `spool`, or nil when none was.
    public func agentCursor(agent: String, spool: String) throws -> Int64? {
        try Int64.fetchOne(db, sql: "SELECT lastSeq FROM agentCursor WHERE agent = ? AND spool = ?", arguments: [agent, spool])
    }

    /// The agent as stored, or nil when it never called in.
    public func agent(named name: String) throws -> AgentRecord? {
        try AgentRecord.fetchOne(db, key: name)
    }

    public func agentCount() throws -> Int {
        try AgentRecord.fetchCount(db)
    }

    /// Records a call-in: the agent's row (made at its first contact) and, when signals were
    /// applied, its spool's cursor. Keeps at most ``AgentLimits/maximumSpoolsPerAgent`` cursors
    /// per agent (the least recently used go).
    public func recordAgentContact(_ record: AgentRecord, cursor: (spool: String, lastSeq: Int64)?, at now: Timestamp) throws {
        try record.save(db)
        guard let cursor else { return }
        try db.execute(sql: """
            INSERT INTO agentCursor (agent, spool, lastSeq, updatedAt) VALUES (?, ?, ?, ?)
            ON CONFLICT(agent, spool) DO UPDATE SET lastSeq = excluded.lastSeq, updatedAt = excluded.updatedAt
            """, arguments: [record.name, cursor.spool, cursor.lastSeq, now.nanoseconds])
        try db.execute(sql: """
            DELETE FROM agentCursor WHERE agent = ? AND spool NOT IN
                (SELECT spool FROM agentCursor WHERE agent = ? ORDER BY updatedAt DESC LIMIT ?)
            """, arguments: [record.name, record.name, AgentLimits.maximumSpoolsPerAgent])
    }
}

extension Store {
    /// Every agent that has called in, by name.
    public func agents() async throws -> [AgentRecord] {
        try await pool.read { db in try AgentRecord.order(Column("name")).fetchAll(db) }
    }

    /// Stores an agent's last call-in (a poll for work, not a forwarded batch).
    public func touchAgent(_ name: String, at now: Timestamp) async throws {
        try await Self.reportingRefusal { try await pool.write { db in
            try db.execute(sql: "UPDATE agent SET lastContactAt = MAX(lastContactAt, ?) WHERE name = ?", arguments: [now.nanoseconds, name])
        } }
    }

    /// Stores whether agents are overdue (their incident opened or cleared).
    public func setAgentsMissed(_ names: [String], missed: Bool) async throws {
        guard !names.isEmpty else { return }
        try await Self.reportingRefusal { try await pool.write { db in
            for name in names {
                try db.execute(sql: "UPDATE agent SET missed = ? WHERE name = ?", arguments: [missed, name])
            }
        } }
    }
}
