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

    static func text(_ map: [String: String]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return (try? encoder.encode(map)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    static func map(_ text: String) -> [String: String] {
        (try? JSONDecoder().decode([String: String].self, from: Data(text.utf8))) ?? [:]
    }
}

extension Store {
    /// Saves alerts (insert or replace by fingerprint) and deletes `removing`, in one transaction:
    /// when it returns they are on disk (WAL, fsynced).
    public func saveAlerts(_ records: [AlertRecord], removing: [String] = []) async throws {
        guard !records.isEmpty || !removing.isEmpty else { return }
        try await pool.write { db in
            for r in records { try r.save(db) }
            for fp in removing { _ = try AlertRecord.deleteOne(db, key: fp) }
        }
    }

    /// Applies queued alert writes in their order, in one transaction (``AlertWriteQueue``).
    func applyAlertOperations(_ operations: [AlertWriteQueue.Operation]) async throws {
        try await pool.write { db in
            for op in operations {
                switch op {
                case .save(let r): try r.save(db)
                case .remove(let fp): _ = try AlertRecord.deleteOne(db, key: fp)
                }
            }
        }
    }

    /// Every stored alert, oldest first.
    public func alerts() async throws -> [AlertRecord] {
        try await pool.read { db in try AlertRecord.order(Column("startsAt"), Column("fingerprint")).fetchAll(db) }
    }
}
