import GRDB
import VigilCore

/// One API token as stored (the `api_token` table): its id, the SHA-256 of its text, who it speaks
/// for and whether it still may. The token's secret is never stored.
public struct APITokenRecord: Codable, FetchableRecord, PersistableRecord, Sendable, Equatable {
    public static let databaseTableName = "api_token"
    public var id: String
    public var hash: String
    public var role: String
    public var person: String
    public var createdAt: Int64
    public var createdBy: String
    public var expiresAt: Int64?
    public var revokedAt: Int64?

    public init(id: String, hash: String, role: String, person: String, createdAt: Timestamp, createdBy: String,
                expiresAt: Timestamp?, revokedAt: Timestamp? = nil) {
        self.id = id
        self.hash = hash
        self.role = role
        self.person = person
        self.createdAt = createdAt.nanoseconds
        self.createdBy = createdBy
        self.expiresAt = expiresAt?.nanoseconds
        self.revokedAt = revokedAt?.nanoseconds
    }
}

extension Store {
    /// Stores a new token. Refused while the write gate is read-only: minting credentials is not
    /// incident work.
    public func insertToken(_ record: APITokenRecord) async throws {
        if writeGate == .readOnly { throw StoreError.readOnly("a new API token") }
        try await scheduled(.normal) { try await pool.write { db in try record.insert(db) } }
    }

    public func token(id: String) async throws -> APITokenRecord? {
        try await pool.read { db in try APITokenRecord.fetchOne(db, key: id) }
    }

    /// Every token, oldest first (revoked and expired ones too: they stay listed as such).
    public func tokens() async throws -> [APITokenRecord] {
        try await pool.read { db in try APITokenRecord.order(Column("createdAt"), Column("id")).fetchAll(db) }
    }

    /// Marks a token revoked at `at`; returns the record, or nil for an unknown id. Revoking twice
    /// keeps the first time. Allowed whatever the write gate says: taking access away must always work.
    public func revokeToken(id: String, at: Timestamp) async throws -> APITokenRecord? {
        try await Self.reportingRefusal { try await pool.write { db in
            guard var record = try APITokenRecord.fetchOne(db, key: id) else { return nil }
            if record.revokedAt == nil {
                record.revokedAt = at.nanoseconds
                try record.update(db)
            }
            return record
        } }
    }

    /// Records that the acknowledgement link with `nonce` was used; false when it already was.
    /// Nonces of links past their expiry are dropped in the same transaction (such links are
    /// refused for their age anyway), so the table holds at most the links still alive.
    public func consumeAckLinkNonce(_ nonce: String, incidentID: String, person: String, expiresAt: Timestamp,
                                    now: Timestamp) async throws -> Bool {
        try await Self.reportingRefusal { try await pool.write { db in
            try db.execute(sql: "DELETE FROM ack_link_use WHERE expiresAt <= ?", arguments: [now.nanoseconds])
            try db.execute(sql: """
                INSERT INTO ack_link_use(nonce, incidentID, person, usedAt, expiresAt) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT(nonce) DO NOTHING
                """, arguments: [nonce, incidentID, person, now.nanoseconds, expiresAt.nanoseconds])
            return db.changesCount == 1
        } }
    }

    /// How many used-link nonces are kept (for tests and status).
    public func usedAckLinkCount() async throws -> Int {
        try await pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM ack_link_use") ?? 0 }
    }
}

extension Store {
    /// Open incidents counted by severity code and state, for `/metrics` (one grouped query, not a load of every row).
    public func openIncidentCounts() async throws -> [(severity: String, state: String, count: Int)] {
        let open = IncidentState.allCases.filter(\.isOpen).map(\.rawValue)
        return try await pool.read { db in
            let placeholders = Array(repeating: "?", count: open.count).joined(separator: ", ")
            return try Row.fetchAll(db, sql: """
                SELECT severityCode, state, COUNT(*) AS n FROM incident WHERE state IN (\(placeholders))
                GROUP BY severityCode, state ORDER BY severityCode, state
                """, arguments: StatementArguments(open)).map { ($0["severityCode"], $0["state"], $0["n"]) }
        }
    }
}
