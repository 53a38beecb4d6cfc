import Foundation
import GRDB
import VigilCore

/// One stored version of a post-mortem.
struct PostMortemRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "postMortem"
    var incidentID: String
    var version: Int
    var state: String
    var sections: [String: String]
    var author: String
    var updatedAt: Int64
    var approvedBy: String?
    var note: String?

    init(_ p: PostMortem) {
        incidentID = p.incidentID
        version = p.version
        state = p.state.rawValue
        sections = p.sections
        author = p.author
        updatedAt = p.updatedAt.nanoseconds
        approvedBy = p.approvedBy
        note = p.note
    }

    func document() throws -> PostMortem {
        guard let s = PostMortem.State(rawValue: state) else {
            throw StoreError.corruptRow(table: "postMortem", id: "\(incidentID) v\(version)", reason: "unknown state \"\(state)\"")
        }
        return PostMortem(incidentID: incidentID, version: version, state: s, sections: sections, author: author,
                          updatedAt: Timestamp(nanoseconds: updatedAt), approvedBy: approvedBy, note: note)
    }
}

extension Store {
    /// The latest version of an incident's post-mortem, or the one asked for; nil when none.
    public func postMortem(incidentID: String, version: Int? = nil) async throws -> PostMortem? {
        try await pool.read { db in try Self.postMortem(db, incidentID: incidentID, version: version) }
    }

    /// Every version's number, state, author and time (the document's history), oldest first.
    /// The most versions a listing returns (the newest).
    public static let maximumPostMortemVersionsListed = 1_000

    /// The document's versions, oldest first, **without their sections** (each version may
    /// hold 11 × 64 KiB; a listing needs who, when and what state): at most the newest
    /// ``maximumPostMortemVersionsListed``.
    public func postMortemVersions(incidentID: String) async throws -> [PostMortem] {
        try await pool.read { db in
            try PostMortemRow.fetchAll(db, sql: """
                SELECT incidentID, version, state, '{}' AS sections, author, updatedAt, approvedBy, note
                FROM postMortem WHERE incidentID = ? ORDER BY version DESC LIMIT ?
                """, arguments: [incidentID, Self.maximumPostMortemVersionsListed]).reversed().map { try $0.document() }
        }
    }

    static func postMortem(_ db: Database, incidentID: String, version: Int?) throws -> PostMortem? {
        var r = PostMortemRow.filter(Column("incidentID") == incidentID)
        if let version { r = r.filter(Column("version") == version) }
        return try r.order(Column("version").desc).fetchOne(db)?.document()
    }
}

extension StoreTransaction {
    public func postMortem(incidentID: String) throws -> PostMortem? {
        try Store.postMortem(db, incidentID: incidentID, version: nil)
    }

    /// Stores a new version (its number must be the next one: a version is never overwritten).
    public func insert(_ p: PostMortem) throws {
        try PostMortemRow(p).insert(db)
    }
}
