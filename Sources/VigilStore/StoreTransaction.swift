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

    public func incident(id: String) throws -> Incident? {
        try IncidentRecord.fetchOne(db, key: id)?.incident()
    }

    /// The newest open incident with this fingerprint (the one new signals join).
    public func openIncident(fingerprint: String) throws -> Incident? {
        try IncidentRecord.filter(Column("fingerprint") == fingerprint)
            .filter(IncidentState.allCases.filter(\.isOpen).map(\.rawValue).contains(Column("state")))
            .order(Column("createdAt").desc).fetchOne(db)?.incident()
    }

    /// The newest incident with this fingerprint in any state (for the reopen window).
    public func latestIncident(fingerprint: String) throws -> Incident? {
        try IncidentRecord.filter(Column("fingerprint") == fingerprint).order(Column("createdAt").desc)
            .fetchOne(db)?.incident()
    }

    public func timeline(incidentID: String) throws -> [TimelineEntry] {
        try TimelineRecord.filter(Column("incidentID") == incidentID).order(Column("sequence")).fetchAll(db)
            .map { $0.entry() }
    }

    /// Allocates the next id (`PREFIX-YYYY-NNNN`, counted per year) and stores the incident that
    /// `make` builds for it, with its timeline, notifications, evidence and action items.
    public func open(year: Int, prefix: String, make: (String) throws -> StoreChange) throws -> (Incident, [TimelineEntry]) {
        let last = try Int.fetchOne(db, sql: "SELECT last FROM incident_counter WHERE year = ?", arguments: [year]) ?? 0
        let next = last + 1
        try db.execute(sql: "INSERT INTO incident_counter(year, last) VALUES (?, ?) "
                       + "ON CONFLICT(year) DO UPDATE SET last = excluded.last", arguments: [year, next])
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
        guard try IncidentRecord.exists(db, key: change.incident.id) else {
            throw StoreError.notFound(what: "incident", id: change.incident.id)
        }
        try IncidentRecord(change.incident).update(db)
        return try append(change)
    }

    private func append(_ change: StoreChange) throws -> [TimelineEntry] {
        let id = change.incident.id
        var seq = try Int.fetchOne(db, sql: "SELECT MAX(sequence) FROM timeline WHERE incidentID = ?",
                                   arguments: [id]) ?? 0
        var stored: [TimelineEntry] = []
        for var entry in change.timeline {
            seq += 1
            entry.incidentID = id
            entry.sequence = seq
            try TimelineRecord(entry).insert(db)
            stored.append(entry)
        }
        for var n in change.notifications {
            n.incidentID = id
            try n.insert(db)
            tally.notifications += 1
        }
        for var e in change.evidence {
            e.incidentID = id
            try e.insert(db)
        }
        for var a in change.actionItems {
            a.incidentID = id
            try a.insert(db)
        }
        return stored
    }
}

/// What one write transaction inserted that someone outside it waits for.
final class WriteTally {
    var notifications = 0
}
