import Foundation
import GRDB
import VigilCore

/// The moments of one incident's response, as response metrics need them: read from the
/// incident's columns and two indexed look-ups, never by decoding the incident.
public struct IncidentResponseTimes: Sendable, Equatable {
    public var id: String = ""
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
    /// What opened it: `rule:<id>`, `alertmanager/<alert>`, `user-report`, `plugin:<name>`, ….
    public var source: String = ""
    /// Who sent the series that opened it, when its labels say (`plugin:log-patterns`,
    /// `http:alice`): a rule signal's labels carry the sender as `source`.
    public var sender: String?
    /// Its `component` label and its classified affected components, without repeats.
    public var components: [String] = []
    /// How many signals it absorbed.
    public var occurrences: Int = 1
    /// Closed as not an incident (``IncidentResolution/falsePositive``).
    public var falsePositive = false

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
    /// The incident it was requested for.
    public var incidentID: String = ""
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
    public func responseTimes(openedFrom from: Timestamp, until: Timestamp, matching filter: IncidentFilter = IncidentFilter(),
                              limit: Int = Int.max) async throws -> [IncidentResponseTimes] {
        let (clause, arguments) = filter.sql(alias: "i")
        let window = "i.createdAt >= ? AND i.createdAt < ?"
        let whereClause = clause.isEmpty ? "WHERE \(window)" : "\(clause) AND \(window)"
        return try await pool.read { db in
            let rows = try Row.fetchCursor(db, sql: """
                SELECT i.id, i.source, i.occurrences, json_extract(i.labels, '$.source') AS sender,
                       json_extract(i.labels, '$.component') AS component,
                       json_extract(i.classification, '$.affectedComponents') AS affected,
                       json_extract(i.resolution, '$.falsePositive') IS NOT NULL AS falsePositive,
                       i.severityCode, i.severityRank, i.type, i.detectedAt, i.createdAt, i.acknowledgedAt, i.resolvedAt,
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
            while out.count < limit, let row = try rows.next() {
                func time(_ column: String) throws -> Timestamp? {
                    try row.decode(Int64?.self, forColumn: column).map(Timestamp.init(nanoseconds:))
                }
                let contained = [try time("containedAt"), try time("actedAt")].compactMap { $0 }.min()
                var t = IncidentResponseTimes(
                    severity: try row.decode(String.self, forColumn: "severityCode"),
                    severityRank: try row.decode(Int.self, forColumn: "severityRank"),
                    type: try row.decode(String?.self, forColumn: "type"),
                    detectedAt: Timestamp(nanoseconds: try row.decode(Int64.self, forColumn: "detectedAt")),
                    createdAt: Timestamp(nanoseconds: try row.decode(Int64.self, forColumn: "createdAt")),
                    acknowledgedAt: try time("acknowledgedAt"), containedAt: contained, resolvedAt: try time("resolvedAt"),
                    responseDeadline: try time("responseDeadline"), slaBreachedAt: try time("slaBreachedAt"))
                t.id = try row.decode(String.self, forColumn: "id")
                t.source = try row.decode(String.self, forColumn: "source")
                t.occurrences = try row.decode(Int.self, forColumn: "occurrences")
                t.sender = try row.decode(String?.self, forColumn: "sender")
                t.falsePositive = try row.decode(Bool.self, forColumn: "falsePositive")
                t.components = Self.components(label: try row.decode(String?.self, forColumn: "component"),
                                               affected: try row.decode(String?.self, forColumn: "affected"))
                out.append(t)
            }
            return out
        }
    }

    /// The `component` label first, then the classified affected components (a JSON array of
    /// texts), each once regardless of ASCII case; anything else in the column is ignored.
    static func components(label: String?, affected: String?) -> [String] {
        var out: [String] = []
        var seen: Set<String> = []
        func add(_ c: String) {
            guard !c.isEmpty, seen.insert(c.lowercased()).inserted else { return }
            out.append(c)
        }
        if let label { add(label) }
        if let affected, let data = affected.data(using: .utf8),
           let list = try? JSONDecoder().decode([JSONValue].self, from: data) {
            for case .string(let c) in list.prefix(64) { add(c) }
        }
        return out
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
                SELECT a.incidentID, a.requestedAt, a.state FROM action a JOIN incident i ON i.id = a.incidentID
                \(whereClause) ORDER BY a.requestedAt
                """, arguments: arguments + [from.nanoseconds, until.nanoseconds]).map { row in
                var o = ContainmentOutcome(requestedAt: Timestamp(nanoseconds: try row.decode(Int64.self, forColumn: "requestedAt")),
                                           state: try row.decode(String.self, forColumn: "state"))
                o.incidentID = try row.decode(String?.self, forColumn: "incidentID") ?? ""
                return o
            }
        }
    }
}
