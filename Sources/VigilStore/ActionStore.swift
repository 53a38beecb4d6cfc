import Foundation
import GRDB
import Synchronization
import VigilCore

/// One containment action request and what became of it (the `action` table).
public struct ActionRecord: Codable, FetchableRecord, MutablePersistableRecord, Sendable, Equatable {
    public static let databaseTableName = "action"
    public var id: Int64?
    public var incidentID: String?
    public var name: String
    public var mode: String
    public var state: String
    public var dryRun: Bool
    public var requestedAt: Int64
    public var deadline: Int64?
    public var completedAt: Int64?
    /// `{"category":…, "position":…, "params":{…}, "by":…}`.
    public var params: JSONValue {
        get { Self.decode(paramsText) ?? .object([:]) }
        set { paramsText = newValue.description }
    }
    /// `{"detail":…, "performers":[…], "evidence":{…}}` once it ran.
    public var result: JSONValue? {
        get { resultText.flatMap(Self.decode) }
        set { resultText = newValue?.description }
    }
    /// How to undo it: `{"builtin":{…}}` and/or `{"plugins":[{"plugin":…,"action":…,"params":{…}}]}`.
    public var undo: JSONValue? {
        get { undoText.flatMap(Self.decode) }
        set { undoText = newValue?.description }
    }
    // The JSON columns as text: GRDB would hand a JSONValue the column's text, not its structure.
    var paramsText: String
    var resultText: String?
    var undoText: String?

    enum CodingKeys: String, CodingKey {
        case id, incidentID, name, mode, state, dryRun, requestedAt, deadline, completedAt
        case paramsText = "params", resultText = "result", undoText = "undo"
    }

    static func decode(_ text: String) -> JSONValue? { try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) }

    public init(id: Int64? = nil, incidentID: String?, name: String, mode: String, state: ActionState, dryRun: Bool,
                requestedAt: Timestamp, deadline: Timestamp? = nil, params: JSONValue = .object([:])) {
        self.id = id
        self.incidentID = incidentID
        self.name = name
        self.mode = mode
        self.state = state.rawValue
        self.dryRun = dryRun
        self.requestedAt = requestedAt.nanoseconds
        self.deadline = deadline?.nanoseconds
        self.paramsText = params.description
    }

    public var actionState: ActionState { ActionState(rawValue: state) ?? .failed }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// How much the daemon's own store accepts (the data-corruption containment actions).
public enum StoreWriteGate: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// Everything is written.
    case open = 0
    /// `stop_write_operations`: incident records are written; other writes (the plugin registry)
    /// are held in memory and written when the gate opens again — nothing is lost.
    case holding = 1
    /// `enable_read_only_mode`: incident records are written; other writes are refused.
    case readOnly = 2

    public var description: String {
        switch self {
        case .open: "open"
        case .holding: "holding non-incident writes"
        case .readOnly: "read-only except incident records"
        }
    }
}

/// What a checksummed backup file holds.
public struct BackupManifest: Codable, Sendable, Equatable {
    public var file: String
    public var sha256: String
    public var bytes: Int64
    public var integrity: String
    public var rowCounts: [String: Int]
    public var createdAt: String
}

extension StoreTransaction {
    /// Inserts (no id yet) or updates an action request.
    public func save(_ action: inout ActionRecord) throws {
        if action.id == nil { try action.insert(db) } else { try action.update(db) }
    }

    public func action(id: Int64) throws -> ActionRecord? { try ActionRecord.fetchOne(db, key: id) }

    public func actions(incidentID: String) throws -> [ActionRecord] {
        try ActionRecord.filter(Column("incidentID") == incidentID).order(Column("id")).fetchAll(db)
    }

    public func evidence(incidentID: String) throws -> [EvidenceRecord] {
        try EvidenceRecord.filter(Column("incidentID") == incidentID).order(Column("id")).fetchAll(db)
    }
}

extension Store {
    // MARK: actions

    public func action(id: Int64) async throws -> ActionRecord? {
        try await pool.read { db in try ActionRecord.fetchOne(db, key: id) }
    }

    /// Action requests, oldest first, of one incident, in some states, of some actions.
    public func actions(incidentID: String? = nil, states: [ActionState]? = nil, names: [String]? = nil) async throws
        -> [ActionRecord] {
        try await pool.read { db in
            var q = ActionRecord.order(Column("id"))
            if let incidentID { q = q.filter(Column("incidentID") == incidentID) }
            if let names { q = q.filter(names.contains(Column("name"))) }
            if let states { q = q.filter(states.map(\.rawValue).contains(Column("state"))) }
            return try q.fetchAll(db)
        }
    }

    /// How many times `name` ran (or was simulated) since `since` for incidents with `fingerprint`
    /// (the loop breaker's count).
    public func actionRuns(name: String, fingerprint: String, since: Timestamp) async throws -> Int {
        try await pool.read { db in
            try Int.fetchOne(db, sql: """
                SELECT COUNT(*) FROM action JOIN incident ON incident.id = action.incidentID
                WHERE action.name = ? AND incident.fingerprint = ? AND action.requestedAt >= ?
                  AND action.state IN ('succeeded', 'simulated', 'failed', 'running', 'queued', 'undone')
                """, arguments: [name, fingerprint, since.nanoseconds]) ?? 0
        }
    }

    // MARK: write gate

    /// The gate in force; see ``StoreWriteGate``.
    public var writeGate: StoreWriteGate { StoreWriteGate(rawValue: gate.value.load(ordering: .acquiring)) ?? .open }

    /// Sets the gate; opening it writes what was held.
    public func setWriteGate(_ new: StoreWriteGate) throws {
        gate.value.store(new.rawValue, ordering: .releasing)
        guard new == .open else { return }
        let held = gate.held.withLock { h -> [PluginRecord] in
            defer { h.removeAll() }
            return Array(h.values)
        }
        for record in held { try pool.write { db in try record.save(db) } }
    }

    /// Non-incident writes waiting for the gate to open.
    public var heldWrites: Int { gate.held.withLock { $0.count } }

    // MARK: backups

    /// Backs the live database up into `directory` as `vigil-<time>[-<label>].db` with a
    /// `.sha256` beside it and a JSON manifest (integrity check, row counts).
    public func checksummedBackup(into directory: String, label: String?, now: Timestamp) throws -> BackupManifest {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let stamp = now.rfc3339.replacingOccurrences(of: ":", with: "")
        let safe = label.map { "-" + $0.filter { $0.isLetter || $0.isNumber || $0 == "-" } } ?? ""
        var file = (directory as NSString).appendingPathComponent("vigil-\(stamp)\(safe).db")
        var n = 1
        while FileManager.default.fileExists(atPath: file) {
            n += 1
            file = (directory as NSString).appendingPathComponent("vigil-\(stamp)\(safe)-\(n).db")
        }
        try backup(to: file)
        chmod(file, 0o600)
        let manifest = try Self.verifyBackup(file, createdAt: now)
        try Data("\(manifest.sha256)  \((file as NSString).lastPathComponent)\n".utf8)
            .write(to: URL(fileURLWithPath: file + ".sha256"))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(manifest).write(to: URL(fileURLWithPath: file + ".json"))
        return manifest
    }

    /// The names of the backups ``checksummedBackup(into:label:now:)`` wrote into `directory`,
    /// oldest first (they start with the time they were taken).
    public static func backups(in directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasPrefix("vigil-") && $0.hasSuffix(".db") }.sorted()
    }

    /// Opens a backup read-only and checks it: SHA-256, `PRAGMA integrity_check`, row counts.
    public static func verifyBackup(_ file: String, createdAt: Timestamp) throws -> BackupManifest {
        var config = Configuration()
        config.readonly = true
        let queue = try DatabaseQueue(path: file, configuration: config)
        let (integrity, counts) = try queue.read { db -> (String, [String: Int]) in
            let check = try String.fetchOne(db, sql: "PRAGMA integrity_check") ?? "no answer"
            var counts: [String: Int] = [:]
            for table in countedTables { counts[table] = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)") ?? 0 }
            return (check, counts)
        }
        try queue.close()
        let attributes = try FileManager.default.attributesOfItem(atPath: file)
        return BackupManifest(file: file, sha256: try SHA256Digest.file(file),
                              bytes: (attributes[.size] as? NSNumber)?.int64Value ?? 0, integrity: integrity,
                              rowCounts: counts, createdAt: createdAt.rfc3339)
    }

    static let countedTables = ["incident", "timeline", "evidence", "action", "actionItem", "plugin", "notification", "alert"]
}

/// The gate's state, shared by every copy of the store's handle.
final class WriteGateState: Sendable {
    let value = Atomic<UInt8>(0)
    /// Plugin records held while the gate is `holding`, latest per plugin.
    let held = Mutex<[String: PluginRecord]>([:])
}
