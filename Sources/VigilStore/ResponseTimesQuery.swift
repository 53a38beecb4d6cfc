import GRDB
import VigilCore

/// The moments of one incident's response, as response metrics need them: read from the
/// incident's columns and two indexed look-ups, never by decoding the incident.
public struct IncidentResponseTimes: Sendable, Equatable {
    public var severity: String
    public var severityRank: Int
    public var type: String?
    /// When the condition first held.
    public var detectedAt: Timestamp
    /// When the incident was opened.
    public var createdAt: Timestamp
    public var acknowledgedAt: Timestamp?
    /// The first of: the incident entering `contained`, and its first containment action that
    /// ran and succeeded (dry runs do not contain anything).
    public var containedAt: Timestamp?
    public var resolvedAt: Timestamp?
    public var responseDeadline: Timestamp?
    public var slaBreachedAt: Timestamp?

    public init(severity: String, severityRank: Int, type: String?, detectedAt: Timestamp, createdAt: Timestamp,
                acknowledgedAt: Timestamp?, containedAt: Timestamp?, resolvedAt: Timestamp?,
                responseDeadline: Timestamp?, slaBreachedAt: Timestamp?) {
        self.severity = severity
        self.severityRank = severityRank
        self.type = type
        self.detectedAt = detectedAt
        self.createdAt = createdAt
        self.acknowledgedAt = acknowledgedAt
        self.containedAt = containedAt
        self.resolvedAt = resolvedAt
        self.responseDeadline = responseDeadline
        self.slaBreachedAt = slaBreachedAt
    }
}

/// One automated containment action (requested by its incident's containment category, not by
/// a person's `vigil actions run`) and where it ended up.
public struct ContainmentOutcome: Sendable, Equatable {
    public var requestedAt: Timestamp
    /// The action's state (`succeeded`, `failed`, `denied`, …; see `ActionState`).
    public var state: String

    public init(requestedAt: Timestamp, state: String) {
        self.requestedAt = requestedAt
        self.state = state
    }
}

extension Store {
    /// The response times of the incidents opened in `[from, until)` that `filter` selects, oldest first.
    public func responseTimes(openedFrom from: Timestamp, until: Timestamp,
                              matching filter: IncidentFilter = IncidentFilter()) async throws -> [IncidentResponseTimes] {
        let (clause, arguments) = filter.sql(alias: "i")
        let window = "i.createdAt >= ? AND i.createdAt < ?"
        let whereClause = clause.isEmpty ? "WHERE \(window)" : "\(clause) AND \(window)"
        return try await pool.read { db in
            let rows = try Row.fetchCursor(db, sql: """
                SELECT i.severityCode, i.severityRank, i.type, i.detectedAt, i.createdAt, i.acknowledgedAt, i.resolvedAt,
                       i.responseDeadline, i.slaBreachedAt,
                       (SELECT MIN(t.time) FROM timeline t
                        WHERE t.incidentID = i.id AND t.kind = 'transition' AND json_extract(t.data, '$.to') = 'contained')
                           AS containedAt,
                       (SELECT MIN(a.completedAt) FROM action a
                        WHERE a.incidentID = i.id AND a.state IN ('succeeded', 'undone') AND a.dryRun = 0) AS actedAt
                FROM incident i \(whereClause)
                ORDER BY i.createdAt
                """, arguments: arguments + [from.nanoseconds, until.nanoseconds])
            var out: [IncidentResponseTimes] = []
            while let row = try rows.next() {
                func time(_ column: String) throws -> Timestamp? {
                    try row.decode(Int64?.self, forColumn: column).map(Timestamp.init(nanoseconds:))
                }
                let contained = [try time("containedAt"), try time("actedAt")].compactMap { $0 }.min()
                out.append(IncidentResponseTimes(
                    severity: try row.decode(String.self, forColumn: "severityCode"),
                    severityRank: try row.decode(Int.self, forColumn: "severityRank"),
                    type: try row.decode(String?.self, forColumn: "type"),
                    detectedAt: Timestamp(nanoseconds: try row.decode(Int64.self, forColumn: "detectedAt")),
                    createdAt: Timestamp(nanoseconds: try row.decode(Int64.self, forColumn: "createdAt")),
                    acknowledgedAt: try time("acknowledgedAt"), containedAt: contained, resolvedAt: try time("resolvedAt"),
                    responseDeadline: try time("responseDeadline"), slaBreachedAt: try time("slaBreachedAt")))
            }
            return out
        }
    }

    /// The automated containment actions requested in `[from, until)` for incidents `filter`
    /// selects, oldest first.
    public func containmentOutcomes(requestedFrom from: Timestamp, until: Timestamp,
                                    matching filter: IncidentFilter = IncidentFilter()) async throws -> [ContainmentOutcome] {
        let (clause, arguments) = filter.sql(alias: "i")
        let window = "json_extract(a.params, '$.category') IS NOT NULL AND a.requestedAt >= ? AND a.requestedAt < ?"
        let whereClause = clause.isEmpty ? "WHERE \(window)" : "\(clause) AND \(window)"
        return try await pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT a.requestedAt, a.state FROM action a JOIN incident i ON i.id = a.incidentID
                \(whereClause) ORDER BY a.requestedAt
                """, arguments: arguments + [from.nanoseconds, until.nanoseconds]).map { row in
                ContainmentOutcome(requestedAt: Timestamp(nanoseconds: try row.decode(Int64.self, forColumn: "requestedAt")),
                                   state: try row.decode(String.self, forColumn: "state"))
            }
        }
    }
}
