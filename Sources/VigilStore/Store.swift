import Foundation
import GRDB
import Synchronization
import VigilCore

/// Everything that belongs together in one write: an incident's new value and what happened to it.
public struct StoreChange: Sendable {
    public var incident: Incident
    /// Appended to the incident's timeline; sequence numbers are assigned by the store.
    public var timeline: [TimelineEntry]
    public var notifications: [NotificationRecord]
    public var evidence: [EvidenceRecord]
    public var actionItems: [ActionItemRecord]

    public init(incident: Incident, timeline: [TimelineEntry] = [], notifications: [NotificationRecord] = [],
                evidence: [EvidenceRecord] = [], actionItems: [ActionItemRecord] = []) {
        self.incident = incident
        self.timeline = timeline
        self.notifications = notifications
        self.evidence = evidence
        self.actionItems = actionItems
    }
}

/// Vigil's SQLite database: the source of truth for incidents, timelines, actions, plugins,
/// action items, evidence and pending notifications.
///
/// WAL mode with `synchronous=FULL`: a call that returned has been committed to the WAL and
/// fsynced, so a `SIGKILL` (or power loss) right after it loses nothing that was acknowledged.
public final class Store: Sendable {
    public let path: String
    let pool: DatabasePool
    /// The connection WAL checkpoints run on (``checkpoint()``).
    let checkpointer: DatabaseQueue
    private let writeTransactions = Atomic<Int>(0)
    let gate = WriteGateState()
    let scheduler = WriteScheduler()
    private let notificationObservers = Mutex<[@Sendable (QueuedNotifications) -> Void]>([])
    private let changeObservers = Mutex<[@Sendable ([CommittedIncidentChange]) -> Void]>([])
    /// The open incidents as last read, each with the row it was decoded from (``openIncidents()``).
    private let openIncidentCache = Mutex<[String: DecodedIncidentRow]>([:])
    /// The newest incidents as the status page last read them (``recentIncidents(limit:)``).
    private let recentIncidentCache = Mutex<[String: DecodedIncidentRow]>([:])

    /// Opens (creating if needed) the database at `path` and applies pending migrations.
    public init(path: String) throws {
        self.path = path
        var config = Configuration()
        config.busyMode = .timeout(5)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA foreign_keys = ON")
        }
        pool = try DatabasePool(path: path, configuration: config)
        // After the pool is open, on its writer: GRDB's DatabasePool switches the writer to WAL
        // and then to `synchronous = NORMAL` after `prepareDatabase` ran, which would leave
        // commits unsynced (durable against a kill, not against a power cut) whatever we set there.
        try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        try Schema.migrator.migrate(pool)
        checkpointer = try Self.openCheckpointer(path: path, configuration: config, writer: pool)
    }

    /// Names of the migrations applied to this database, in order.
    public func appliedMigrations() throws -> [String] {
        try pool.read { db in try Schema.migrator.appliedMigrations(db) }
    }

    // MARK: incidents

    /// Runs `body` in one write transaction: everything it writes commits together, or nothing
    /// does when it throws. Writes are serialised (one writer), so `body` sees the latest data;
    /// `urgent` ones go before every normal write still waiting (see ``WriteScheduler``).
    public func write<T: Sendable>(priority: WritePriority = .normal,
                                   _ body: @escaping @Sendable (StoreTransaction) throws -> T) async throws -> T {
        let observers = changeObservers.withLock { $0 }
        let (result, queued, changes) = try await scheduled(priority) {
            try await self.pool.write { db in
                // An urgent transaction (incidents from a burst of breaches) runs its thread at a
                // raised priority: the plugin starts, quarantines and reads that the same burst
                // causes share two cores with it and must not stretch it out.
                let raised = priority == .urgent ? ThreadPriority.raise() : nil
                defer { raised?.restore() }
                let tx = StoreTransaction(db: db)
                tx.tally.recordsChanges = !observers.isEmpty
                return (try body(tx), tx.tally.queued(), tx.tally.changes)
            }
        }
        writeTransactions.add(1, ordering: .relaxed)
        if let queued { for observer in notificationObservers.withLock({ $0 }) { observer(queued) } }
        if !changes.isEmpty { for observer in observers { observer(changes) } }
        return result
    }

    /// Runs `write` when the scheduler hands it the writer, and passes the writer on after it.
    func scheduled<T>(_ priority: WritePriority, _ write: () async throws -> T) async throws -> T {
        await scheduler.acquire(priority)
        defer { scheduler.release() }
        return try await Self.reportingRefusal(write)
    }

    /// Runs `body`, and reports a busy or locked refusal it meets as a store failure
    /// (``StoreFailureLog``): SQLite's error log does not carry those, since they can be retried.
    static func reportingRefusal<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as DatabaseError {
            let code = error.extendedResultCode.rawValue
            if let kind = StoreFailure.kind(code: code), kind == .busy || kind == .locked {
                StoreFailureLog.report(code: code, message: error.message ?? "\(error.resultCode)")
            }
            throw error
        }
    }

    /// Called (on the writer's task) after every commit that queued notifications, with what it
    /// queued: the outbox registers here so a page leaves the moment it is stored, not at its
    /// next poll, and without reading back what the transaction just wrote.
    public func onNotificationsQueued(_ observer: @escaping @Sendable (QueuedNotifications) -> Void) {
        notificationObservers.withLock { $0.append(observer) }
    }

    /// Called after every commit that appended timeline entries, with what was stored (the
    /// daemon's metrics count escalations, breaches, deliveries and outcomes here, in one place,
    /// whichever part of the daemon made the change). Must be quick: it runs on the writer's task.
    public func onIncidentChangesCommitted(_ observer: @escaping @Sendable ([CommittedIncidentChange]) -> Void) {
        changeObservers.withLock { $0.append(observer) }
    }

    /// How many write transactions ``write(_:)`` has committed since this store was opened.
    public var committedWrites: Int { writeTransactions.load(ordering: .relaxed) }

    /// Opens a new incident: allocates its id (`PREFIX-YYYY-NNNN`, counted per year) and stores the
    /// incident built by `make` with its first timeline entries, all in one transaction.
    public func openIncident(year: Int, prefix: String,
                             make: @escaping @Sendable (String) -> StoreChange) async throws -> (Incident, [TimelineEntry]) {
        try await write { tx in try tx.open(year: year, prefix: prefix, make: make) }
    }

    /// Stores an existing incident's new value and appends what happened, in one transaction.
    @discardableResult
    public func commit(_ change: StoreChange) async throws -> [TimelineEntry] {
        try await write { tx in try tx.commit(change) }
    }

    public func incident(id: String) async throws -> Incident? {
        try await pool.read { db in try IncidentRecord.fetchOne(db, key: id)?.incident() }
    }

    /// The incidents with these ids, in one read (absent ids are left out).
    public func incidents(ids: Set<String>) async throws -> [String: Incident] {
        guard !ids.isEmpty else { return [:] }
        return try await pool.read { db in
            var out: [String: Incident] = [:]
            for record in try IncidentRecord.fetchAll(db, keys: Array(ids)) { out[record.id] = try record.incident() }
            return out
        }
    }

    /// Incidents, newest first; restricted to `states` when given.
    public func incidents(states: Set<IncidentState>? = nil, limit: Int = 1000) async throws -> [Incident] {
        try await pool.read { db in
            var request = IncidentRecord.order(Column("createdAt").desc, Column("id").desc).limit(limit)
            if let states { request = request.filter(states.map(\.rawValue).contains(Column("state"))) }
            return try request.fetchAll(db).map { try $0.incident() }
        }
    }

    /// Every incident still needing people (not resolved, post-mortem or closed), newest first.
    ///
    /// Read every second by the incident clocks: each row is compared with the row it was last
    /// decoded from (``openIncidentCache``) and decoded again only when a column differs, so a
    /// pass over thousands of open incidents costs a read, not thousands of JSON decodes.
    public func openIncidents() async throws -> [Incident] {
        try await incidents(sql: """
            SELECT * FROM incident WHERE state IN (\(StoreTransaction.openStates))
            ORDER BY createdAt DESC, id DESC LIMIT 100000
            """, arguments: [], cache: openIncidentCache)
    }

    /// The newest `limit` incidents in any state, newest first, decoded as ``openIncidents()``
    /// does (only rows that changed since the last call): the status page reads them each time
    /// it is regenerated, at most once a second in an alert storm.
    public func recentIncidents(limit: Int) async throws -> [Incident] {
        try await incidents(sql: "SELECT * FROM incident ORDER BY createdAt DESC, id DESC LIMIT ?",
                            arguments: [limit], cache: recentIncidentCache)
    }

    /// The incidents `sql` selects, each decoded again only when its row differs from the one
    /// `cache` holds for it; `cache` then holds exactly the rows just read.
    private func incidents(sql: String, arguments: StatementArguments,
                           cache: borrowing Mutex<[String: DecodedIncidentRow]>) async throws -> [Incident] {
        let known = cache.withLock { $0 }
        let (incidents, fresh) = try await pool.read { db -> ([Incident], [String: DecodedIncidentRow]) in
            let statement = try db.cachedStatement(sql: sql)
            var incidents: [Incident] = []
            var fresh: [String: DecodedIncidentRow] = [:]
            let rows = try Row.fetchCursor(statement, arguments: arguments)
            while let row = try rows.next() {
                let id: String = try row.decode(forColumn: "id")
                if let cached = known[id], cached.row == row {
                    incidents.append(cached.incident)
                    fresh[id] = cached
                } else {
                    let incident = try IncidentRecord(row: row).incident()
                    incidents.append(incident)
                    fresh[id] = DecodedIncidentRow(row: row.copy(), incident: incident)
                }
            }
            return (incidents, fresh)
        }
        cache.withLock { $0 = fresh }
        return incidents
    }

    public func timeline(incidentID: String) async throws -> [TimelineEntry] {
        try await pool.read { db in
            try TimelineRecord.filter(Column("incidentID") == incidentID).order(Column("sequence"))
                .fetchAll(db).map { $0.entry() }
        }
    }

    /// The timeline entries of one kind of each of `incidentIDs`, in one read, by incident, each
    /// incident's in order (the status page reads only its public updates of hundreds of incidents).
    public func timelines(incidentIDs: [String], kind: TimelineKind) async throws -> [String: [TimelineEntry]] {
        guard !incidentIDs.isEmpty else { return [:] }
        return try await pool.read { db in
            var out: [String: [TimelineEntry]] = [:]
            // In slices: SQLite limits the parameters of one statement.
            var start = incidentIDs.startIndex
            while start < incidentIDs.endIndex {
                let slice = incidentIDs[start..<min(start + 500, incidentIDs.endIndex)]
                start = slice.endIndex
                let rows = try TimelineRecord.filter(slice.contains(Column("incidentID")) && Column("kind") == kind.rawValue)
                    .order(Column("incidentID"), Column("sequence")).fetchAll(db)
                for r in rows { out[r.incidentID, default: []].append(r.entry()) }
            }
            return out
        }
    }

    public func evidence(incidentID: String) async throws -> [EvidenceRecord] {
        try await pool.read { db in
            try EvidenceRecord.filter(Column("incidentID") == incidentID).order(Column("id")).fetchAll(db)
        }
    }

    public func actionItems(incidentID: String? = nil) async throws -> [ActionItemRecord] {
        try await pool.read { db in
            var r = ActionItemRecord.order(Column("id"))
            if let incidentID { r = r.filter(Column("incidentID") == incidentID) }
            return try r.fetchAll(db)
        }
    }

    // MARK: notifications

    /// Notifications not yet delivered, oldest first.
    public func pendingNotifications() async throws -> [NotificationRecord] {
        try await pendingNotifications(after: nil)
    }

    /// The pending notifications with an id above `after` (all when nil), oldest first.
    public func pendingNotifications(after: Int64?) async throws -> [NotificationRecord] {
        try await pool.read { db in
            var request = NotificationRecord.filter(Column("state") == "pending")
            if let after { request = request.filter(Column("id") > after) }
            return try request.order(Column("id")).fetchAll(db)
        }
    }

    public func notifications(incidentID: String) async throws -> [NotificationRecord] {
        try await pool.read { db in
            try NotificationRecord.filter(Column("incidentID") == incidentID).order(Column("id")).fetchAll(db)
        }
    }

    /// Records a delivery attempt's outcome.
    public func updateNotification(_ n: NotificationRecord) async throws {
        try await scheduled(.normal) { try await pool.write { db in try n.update(db) } }
    }

    // MARK: plugins

    /// The plugin's stored identity, allocating it the lowest free uid in `range` on first sight,
    /// so the same plugin keeps the same uid across restarts.
    public func pluginIdentity(name: String, range: ClosedRange<UInt32>, now: Timestamp) throws -> PluginRecord {
        if let held = gate.held.withLock({ $0[name] }) { return held }
        if writeGate != .open, let existing = try pool.read({ db in try PluginRecord.fetchOne(db, key: name) }) {
            return existing
        }
        if writeGate == .readOnly { throw StoreError.readOnly("a new plugin identity for \(name)") }
        return try pool.write { db in
            if let existing = try PluginRecord.fetchOne(db, key: name) { return existing }
            let used = Set(try Int64.fetchAll(db, sql: "SELECT uid FROM plugin"))
            guard let uid = range.first(where: { !used.contains(Int64($0)) }) else {
                throw StoreError.idRangeExhausted(range: range)
            }
            let record = PluginRecord(name: name, uid: Int64(uid), enabled: true, state: "stopped",
                                      quarantineReason: nil, quarantinedAt: nil, restarts: 0,
                                      updatedAt: now.nanoseconds)
            try record.insert(db)
            return record
        }
    }

    /// Every plugin record, with any held by the write gate in place of the stored one.
    public func plugins() throws -> [PluginRecord] {
        let stored = try pool.read { db in try PluginRecord.order(Column("name")).fetchAll(db) }
        let held = gate.held.withLock { $0 }
        guard !held.isEmpty else { return stored }
        var byName = Dictionary(stored.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for (name, record) in held { byName[name] = record }
        return byName.values.sorted { $0.name < $1.name }
    }

    /// One plugin's record (the one held by the write gate, if any): a plugin's state change
    /// reads its own row, not every plugin's.
    public func plugin(named name: String) throws -> PluginRecord? {
        if let held = gate.held.withLock({ $0[name] }) { return held }
        return try pool.read { db in try PluginRecord.fetchOne(db, key: name) }
    }

    /// Saves a plugin's record; held in memory while the write gate holds, refused while read-only.
    public func savePlugin(_ record: PluginRecord) throws {
        switch writeGate {
        case .open: try pool.write { db in try record.save(db) }
        case .holding: gate.held.withLock { $0[record.name] = record }
        case .readOnly: throw StoreError.readOnly("plugin \(record.name)'s record")
        }
    }

    // MARK: maintenance

    /// Copies the live database to `destination` with SQLite's online backup (consistent while in use).
    public func backup(to destination: String) throws {
        let target = try DatabaseQueue(path: destination)
        try pool.backup(to: target)
        try target.close()
    }

    /// `PRAGMA integrity_check`: "ok" when the database is sound.
    public func integrityCheck() throws -> String {
        try pool.read { db in try String.fetchOne(db, sql: "PRAGMA integrity_check") ?? "no answer" }
    }

    /// `PRAGMA quick_check`: "ok" when the database is sound (cheaper than integrity_check).
    public func quickCheck() throws -> String {
        try pool.read { db in try String.fetchOne(db, sql: "PRAGMA quick_check") ?? "no answer" }
    }

    /// Row counts per table, for status and backup verification.
    public func rowCounts() throws -> [String: Int] {
        try pool.read { db in
            var out: [String: Int] = [:]
            for table in Self.countedTables {
                out[table] = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)") ?? 0
            }
            return out
        }
    }
}

extension Store {
    /// True when the database answers a trivial read (the HTTP `/-/ready` probe): cheap, and
    /// off the cooperative pool like every other read.
    public func answersReads() async -> Bool {
        (try? await pool.read { db in try Int.fetchOne(db, sql: "SELECT 1") }) == 1
    }
}

/// The calling thread's nice value, raised for one transaction and put back after (on Linux the
/// nice value is per thread: `PRIO_PROCESS` with 0 names the calling thread). Needs CAP_SYS_NICE,
/// which the daemon has as root; without it nothing changes.
struct ThreadPriority {
    static let urgentNice: Int32 = -5
    let previous: Int32

    static func raise() -> ThreadPriority? {
        errno = 0
        let previous = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
        guard errno == 0, previous > urgentNice,
              setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, urgentNice) == 0 else { return nil }
        return ThreadPriority(previous: previous)
    }

    func restore() { _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, previous) }
}

/// An incident and the database row it was decoded from.
struct DecodedIncidentRow: @unchecked Sendable {
    // `Row` is a class GRDB does not mark Sendable; a copied row is immutable and owned here.
    let row: Row
    let incident: Incident
}
