import GRDB
import VigilCore

/// One write transaction, handed to the closure of ``Store/write(_:)``: read incidents, decide,
/// and write any number of changes; everything commits together or not at all.
///
/// Deciding inside the transaction is what keeps read-modify-write safe: the store has one
/// writer, so two requests about the same incident (a signal storm and an acknowledgement) can
/// never both start from the same stale copy.
public struct StoreTransaction {
    let db: Database
    /// Counts what this transaction queued for delivery, so the store can wake the outbox.
    let tally = WriteTally()

    /// Stores a notification's new delivery state (the outbox's outcome of an attempt).
    /// Puts the incident's notifications that a silence or maintenance window kept from leaving
    /// back in the outbox, due `now` (the mute ended). Returns how many.
    public func requeueSilencedNotifications(incidentID: String, at now: Timestamp) throws -> Int {
        try db.execute(sql: """
            UPDATE notification SET state = 'pending', nextAttemptAt = ?, lastError = NULL
            WHERE incidentID = ? AND state = 'silenced'
            """, arguments: [now.nanoseconds, incidentID])
        let count = db.changesCount
        if count > 0 { tally.unlisted = true }
        return count
    }

    /// Stores a notification's new state (a cached statement: the outbox saves every attempt).
    public func update(_ notification: NotificationRecord) throws {
        guard let id = notification.id else { throw StoreError.notFound(what: "notification", id: "(none)") }
        let statement = try db.cachedStatement(sql: """
            UPDATE notification SET incidentID = ?, createdAt = ?, channel = ?, recipients = ?, people = ?, subject = ?,
                body = ?, state = ?, attempts = ?, nextAttemptAt = ?, lastError = ?, purpose = ?, person = ?,
                fallbacks = ?, chain = ? WHERE id = ?
            """)
        let n = notification
        try statement.execute(arguments: [n.incidentID, n.createdAt, n.channel, CompactJSON.array(n.recipients),
                                          CompactJSON.array(n.people), n.subject, n.body, n.state, n.attempts,
                                          n.nextAttemptAt, n.lastError, n.purpose, n.person,
                                          CompactJSON.contactMethods(n.fallbacks), n.chain, id])
        guard db.changesCount > 0 else { throw StoreError.notFound(what: "notification", id: "\(id)") }
    }

    /// Appends `change`'s timeline (and notifications, evidence, action items) to an incident
    /// whose own row it leaves as stored: for lines about the incident that change nothing in it
    /// (a delivery attempt). Observers are told as for ``commit(_:)``.
    public func record(_ change: StoreChange) throws -> [TimelineEntry] {
        guard try exists(incidentID: change.incident.id) else {
            throw StoreError.notFound(what: "incident", id: change.incident.id)
        }
        return try append(change)
    }

    /// Every notification of the fallback chain whose first notification is `root`, oldest first.
    public func notificationChain(root: Int64) throws -> [NotificationRecord] {
        let statement = try db.cachedStatement(sql: "SELECT * FROM notification WHERE id = ? OR chain = ? ORDER BY id")
        return try NotificationRecord.fetchAll(statement, arguments: [root, root])
    }

    // The hot lookups of signal intake run as cached statements (compiled once per connection).
    private func exists(incidentID: String) throws -> Bool {
        try Bool.fetchOne(db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM incident WHERE id = ?)"),
                          arguments: [incidentID]) ?? false
    }

    public func incident(id: String) throws -> Incident? {
        try IncidentRecord.fetchOne(try db.cachedStatement(sql: "SELECT * FROM incident WHERE id = ?"), arguments: [id])?
            .incident()
    }

    static let openStates = IncidentState.allCases.filter(\.isOpen).map { "'\($0.rawValue)'" }.joined(separator: ", ")

    /// The newest open incident with this fingerprint (the one new signals join).
    public func openIncident(fingerprint: String) throws -> Incident? {
        let statement = try db.cachedStatement(sql: """
            SELECT * FROM incident WHERE fingerprint = ? AND state IN (\(Self.openStates)) ORDER BY createdAt DESC LIMIT 1
            """)
        return try IncidentRecord.fetchOne(statement, arguments: [fingerprint])?.incident()
    }

    /// The oldest open incident about this plugin (its `plugin` label, which only the daemon and
    /// operators set): the one the daemon's later signals about the same plugin correlate with.
    ///
    /// `origin` keeps hosts apart: a host agent's incidents have fingerprints starting with
    /// `agent/NAME/` and correlate only with that agent's; nil means this daemon's own (no such prefix).
    public func openIncident(plugin: String, origin: String? = nil) throws -> Incident? {
        if let origin {
            let statement = try db.cachedStatement(sql: """
                SELECT * FROM incident WHERE json_extract(labels, '$.plugin') = ? AND state IN (\(Self.openStates))
                AND substr(fingerprint, 1, ?) = ? ORDER BY createdAt ASC LIMIT 1
                """)
            return try IncidentRecord.fetchOne(statement, arguments: [plugin, origin.utf8.count, origin])?.incident()
        }
        let statement = try db.cachedStatement(sql: """
            SELECT * FROM incident WHERE json_extract(labels, '$.plugin') = ? AND state IN (\(Self.openStates))
            AND (fingerprint IS NULL OR substr(fingerprint, 1, 6) != 'agent/') ORDER BY createdAt ASC LIMIT 1
            """)
        return try IncidentRecord.fetchOne(statement, arguments: [plugin])?.incident()
    }

    /// The newest incident with this fingerprint in any state (for the reopen window).
    public func latestIncident(fingerprint: String) throws -> Incident? {
        let statement = try db.cachedStatement(sql: "SELECT * FROM incident WHERE fingerprint = ? ORDER BY createdAt DESC LIMIT 1")
        return try IncidentRecord.fetchOne(statement, arguments: [fingerprint])?.incident()
    }

    public func timeline(incidentID: String) throws -> [TimelineEntry] {
        let statement = try db.cachedStatement(sql: "SELECT * FROM timeline WHERE incidentID = ? ORDER BY sequence")
        return try TimelineRecord.fetchAll(statement, arguments: [incidentID]).map { $0.entry() }
    }

    /// Allocates the next id (`PREFIX-YYYY-NNNN`, counted per year) and stores the incident that
    /// `make` builds for it, with its timeline, notifications, evidence and action items.
    public func open(year: Int, prefix: String, make: (String) throws -> StoreChange) throws -> (Incident, [TimelineEntry]) {
        let last = try Int.fetchOne(db.cachedStatement(sql: "SELECT last FROM incident_counter WHERE year = ?"),
                                    arguments: [year]) ?? 0
        let next = last + 1
        try db.cachedStatement(sql: "INSERT INTO incident_counter(year, last) VALUES (?, ?) "
                               + "ON CONFLICT(year) DO UPDATE SET last = excluded.last").execute(arguments: [year, next])
        let number = String(next)
        let id = "\(prefix)-\(year)-" + String(repeating: "0", count: max(0, 4 - number.count)) + number
        var change = try make(id)
        change.incident.id = id
        try IncidentRecord(change.incident).insert(db)
        return (change.incident, try append(change))
    }

    /// Stores an existing incident's new value and appends what happened.
    @discardableResult
    public func commit(_ change: StoreChange) throws -> [TimelineEntry] {
        guard try exists(incidentID: change.incident.id) else {
            throw StoreError.notFound(what: "incident", id: change.incident.id)
        }
        try IncidentRecord(change.incident).update(db)
        return try append(change)
    }

    private func append(_ change: StoreChange) throws -> [TimelineEntry] {
        // Cached statements with plain arguments: the Codable record path compiled and authorised
        // each INSERT again and JSON-encoded every column through Encoder boxes (half the cost of
        // opening an incident; see Benchmarks/incidents). The stored text is the same JSON.
        let id = change.incident.id
        let last = try db.cachedStatement(sql: "SELECT MAX(sequence) FROM timeline WHERE incidentID = ?")
        var seq = try Int.fetchOne(last, arguments: [id]) ?? 0
        var stored: [TimelineEntry] = []
        if !change.timeline.isEmpty {
            let insert = try db.cachedStatement(sql: """
                INSERT INTO timeline (incidentID, sequence, time, actor, kind, message, data) VALUES (?, ?, ?, ?, ?, ?, ?)
                """)
            for var entry in change.timeline {
                seq += 1
                entry.incidentID = id
                entry.sequence = seq
                try insert.execute(arguments: [id, seq, entry.time.nanoseconds, entry.actor, entry.kind.rawValue, entry.message,
                                               CompactJSON.object(entry.data)])
                stored.append(entry)
            }
            if tally.recordsChanges { tally.changes.append(CommittedIncidentChange(incident: change.incident, timeline: stored)) }
        }
        if !change.notifications.isEmpty {
            let insert = try db.cachedStatement(sql: """
                INSERT INTO notification (incidentID, createdAt, channel, recipients, people, subject, body, state, attempts,
                                          nextAttemptAt, lastError, purpose, person, fallbacks, chain)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            for var n in change.notifications {
                try insert.execute(arguments: [id, n.createdAt, n.channel, CompactJSON.array(n.recipients),
                                               CompactJSON.array(n.people), n.subject, n.body,
                                               n.state, n.attempts, n.nextAttemptAt, n.lastError, n.purpose, n.person,
                                               CompactJSON.contactMethods(n.fallbacks), n.chain])
                n.id = db.lastInsertedRowID
                n.incidentID = id
                tally.notifications.append(n)
            }
        }
        // The incident as this transaction leaves it, for the pages it queued: a later change to
        // the same incident in the transaction replaces the copy an earlier one left.
        if !change.notifications.isEmpty || tally.incidents[id] != nil { tally.incidents[id] = change.incident }
        if !change.evidence.isEmpty {
            let insert = try db.cachedStatement(sql: """
                INSERT INTO evidence (incidentID, time, source, kind, content, sha256) VALUES (?, ?, ?, ?, ?, ?)
                """)
            for e in change.evidence {
                try insert.execute(arguments: [id, e.time, e.source, e.kind, e.content, e.sha256])
            }
        }
        for var a in change.actionItems {
            a.incidentID = id
            try a.insert(db)
        }
        return stored
    }
}

/// JSON text for the string maps and lists the store keeps in JSON columns, keys sorted (what
/// GRDB's Codable encoding wrote), without going through `JSONEncoder`.
enum CompactJSON {
    static func object(_ map: [String: String]) -> String {
        guard !map.isEmpty else { return "{}" }
        var out = "{"
        for (i, key) in map.keys.sorted().enumerated() {
            if i > 0 { out += "," }
            string(key, into: &out)
            out += ":"
            string(map[key] ?? "", into: &out)
        }
        return out + "}"
    }

    /// `[{"address":"…","channel":"…"},…]`, keys sorted as JSONEncoder's sorted output writes them.
    static func contactMethods(_ methods: [ContactMethod]) -> String {
        var out = "["
        for (i, m) in methods.enumerated() {
            if i > 0 { out += "," }
            out += "{\"address\":"
            string(m.address, into: &out)
            out += ",\"channel\":"
            string(m.channel, into: &out)
            out += "}"
        }
        return out + "]"
    }

    static func array(_ items: [String]) -> String {
        var out = "["
        for (i, item) in items.enumerated() {
            if i > 0 { out += "," }
            string(item, into: &out)
        }
        return out + "]"
    }

    static func string(_ s: String, into out: inout String) {
        JSONValue.quote(s, into: &out)
    }
}

/// Notifications one committed transaction queued (``Store/onNotificationsQueued(_:)``).
public struct QueuedNotifications: Sendable {
    /// Each notification it inserted, with its id, and its incident as the transaction left it.
    public var inserted: [(notification: NotificationRecord, incident: Incident?)]
    /// Whether it also put back notifications it does not list (those a silence held, when the
    /// silence ended): whoever delivers must read the pending ones to find them.
    public var unlisted: Bool

    public init(inserted: [(notification: NotificationRecord, incident: Incident?)], unlisted: Bool) {
        self.inserted = inserted
        self.unlisted = unlisted
    }
}

/// What one write transaction inserted that someone outside it waits for.
final class WriteTally {
    var notifications: [NotificationRecord] = []
    /// The last value each incident with a new notification was given in the transaction.
    var incidents: [String: Incident] = [:]
    var unlisted = false

    /// What the transaction queued, nil when nothing.
    func queued() -> QueuedNotifications? {
        guard !notifications.isEmpty || unlisted else { return nil }
        return QueuedNotifications(inserted: notifications.map { ($0, $0.incidentID.flatMap { incidents[$0] }) },
                                   unlisted: unlisted)
    }
    /// Filled only while someone observes commits (``Store/onIncidentChangesCommitted(_:)``).
    var recordsChanges = false
    var changes: [CommittedIncidentChange] = []
}

/// One incident's value and the timeline entries one transaction stored for it.
public struct CommittedIncidentChange: Sendable {
    public var incident: Incident
    public var timeline: [TimelineEntry]
}
