import Foundation
import GRDB
import VigilCore

/// One stored disaster-recovery assessment.
struct RecoveryAssessmentRow: Codable, FetchableRecord, MutablePersistableRecord {
    static let databaseTableName = "drAssessment"
    var id: Int64?
    var incidentID: String
    var assessedAt: Int64
    var recommend: Bool
    var document: String

    mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// One incident's recovery: the run (plan, steps, clocks) and, once completed, its report.
struct RecoveryRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "drRecovery"
    var incidentID: String
    var status: String
    var plan: String
    var startedAt: Int64
    var document: String
    var report: String?
}

enum RecoveryCoding {
    static func encode<T: Encodable>(_ value: T) throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return String(decoding: try e.encode(value), as: UTF8.self)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String, table: String, id: String) throws -> T {
        do { return try JSONDecoder().decode(type, from: Data(text.utf8)) } catch {
            throw StoreError.corruptRow(table: table, id: id, reason: "\(error)")
        }
    }
}

extension Store {
    /// The incident's recovery, nil when none was started.
    public func recovery(incidentID: String) async throws -> DisasterRecoveryRun? {
        try await pool.read { db in try Self.recovery(db, incidentID: incidentID) }
    }

    /// The report of a completed recovery.
    public func recoveryReport(incidentID: String) async throws -> RecoveryReport? {
        try await pool.read { db in
            guard let row = try RecoveryRow.fetchOne(db, key: incidentID), let data = row.report else { return nil }
            return try RecoveryCoding.decode(RecoveryReport.self, data, table: "drRecovery", id: incidentID)
        }
    }

    /// Recoveries still in progress (the tick watches their clocks).
    public func recoveriesInProgress() async throws -> [DisasterRecoveryRun] {
        try await pool.read { db in
            try RecoveryRow.filter(Column("status") == DisasterRecoveryRun.Status.inProgress.rawValue)
                .order(Column("startedAt")).fetchAll(db)
                .map { try RecoveryCoding.decode(DisasterRecoveryRun.self, $0.document, table: "drRecovery", id: $0.incidentID) }
        }
    }

    /// The incident's assessments, oldest first.
    public func recoveryAssessments(incidentID: String) async throws -> [RecoveryAssessment] {
        try await pool.read { db in
            try RecoveryAssessmentRow.filter(Column("incidentID") == incidentID).order(Column("id")).fetchAll(db)
                .map { try RecoveryCoding.decode(RecoveryAssessment.self, $0.document, table: "drAssessment", id: "\($0.id ?? 0)") }
        }
    }

    static func recovery(_ db: Database, incidentID: String) throws -> DisasterRecoveryRun? {
        guard let row = try RecoveryRow.fetchOne(db, key: incidentID) else { return nil }
        return try RecoveryCoding.decode(DisasterRecoveryRun.self, row.document, table: "drRecovery", id: incidentID)
    }
}

extension StoreTransaction {
    public func recovery(incidentID: String) throws -> DisasterRecoveryRun? {
        try Store.recovery(db, incidentID: incidentID)
    }

    /// Stores the run (new or changed) and, when given, its report.
    public func save(_ run: DisasterRecoveryRun, report: RecoveryReport? = nil) throws {
        let existing = try RecoveryRow.fetchOne(db, key: run.incidentID)
        let row = RecoveryRow(incidentID: run.incidentID, status: run.status.rawValue, plan: run.plan,
                              startedAt: run.startedAt.nanoseconds, document: try RecoveryCoding.encode(run),
                              report: try report.map(RecoveryCoding.encode) ?? existing?.report)
        try row.save(db)
    }

    public func latestRecoveryAssessment(incidentID: String) throws -> RecoveryAssessment? {
        guard let row = try RecoveryAssessmentRow.filter(Column("incidentID") == incidentID).order(Column("id").desc).fetchOne(db) else {
            return nil
        }
        return try RecoveryCoding.decode(RecoveryAssessment.self, row.document, table: "drAssessment", id: "\(row.id ?? 0)")
    }

    public func insert(_ assessment: RecoveryAssessment) throws {
        var row = RecoveryAssessmentRow(incidentID: assessment.incidentID, assessedAt: assessment.assessedAt.nanoseconds,
                                        recommend: assessment.recommend, document: try RecoveryCoding.encode(assessment))
        try row.insert(db)
    }
}
