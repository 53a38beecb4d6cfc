import GRDB
import VigilCore

/// Which incidents a list, a count or a report selects. Every criterion is optional; those given
/// must all hold. Matching is done by SQLite over the stored columns, so a page of a large table
/// costs an index walk and the decoding of that page only.
public struct IncidentFilter: Sendable, Equatable {
    /// Only these states.
    public var states: Set<IncidentState>?
    /// Only these severity codes (`P1`), compared without regard to ASCII case.
    public var severities: [String]?
    /// Only this incident type (a row of the incident-type table), compared without regard to ASCII case.
    public var type: String?
    /// Only incidents about this component: their `component` label, or one of their classified
    /// affected components, equal to it without regard to ASCII case.
    public var component: String?
    /// Only incidents whose id, title or summary contains this text, without regard to ASCII case
    /// (SQLite's `LIKE`; `%`, `_` and `\` in it are matched literally).
    public var text: String?

    public init(states: Set<IncidentState>? = nil, severities: [String]? = nil, type: String? = nil,
                component: String? = nil, text: String? = nil) {
        self.states = states
        self.severities = severities
        self.type = type
        self.component = component
        self.text = text
    }

    /// The `WHERE` clause (empty, or starting with `WHERE`) for the incident table under `alias`,
    /// and its arguments.
    func sql(alias: String = "incident") -> (clause: String, arguments: StatementArguments) {
        var terms: [String] = []
        var arguments = StatementArguments()
        let a = alias
        if let states {
            // An empty set selects nothing, as it says.
            let names = states.map(\.rawValue).sorted()
            terms.append(names.isEmpty ? "0" : "\(a).state IN (\(Self.placeholders(names.count)))")
            arguments += StatementArguments(names)
        }
        if let severities {
            terms.append(severities.isEmpty ? "0" : "\(a).severityCode COLLATE NOCASE IN (\(Self.placeholders(severities.count)))")
            arguments += StatementArguments(severities)
        }
        if let type {
            terms.append("\(a).type = ? COLLATE NOCASE")
            arguments += [type]
        }
        if let component {
            terms.append("""
                (json_extract(\(a).labels, '$.component') = ? COLLATE NOCASE
                 OR EXISTS (SELECT 1 FROM json_each(\(a).classification, '$.affectedComponents') AS c
                            WHERE c.value = ? COLLATE NOCASE))
                """)
            arguments += [component, component]
        }
        if let text {
            let pattern = "%" + Self.escapedForLike(text) + "%"
            terms.append("(\(a).id LIKE ? ESCAPE '\\' OR \(a).title LIKE ? ESCAPE '\\' OR \(a).summary LIKE ? ESCAPE '\\')")
            arguments += [pattern, pattern, pattern]
        }
        return (terms.isEmpty ? "" : "WHERE " + terms.joined(separator: " AND "), arguments)
    }

    /// `text` with the `LIKE` wildcards and the escape character escaped by `\`.
    static func escapedForLike(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for c in text {
            if c == "\\" || c == "%" || c == "_" { out.append("\\") }
            out.append(c)
        }
        return out
    }

    static func placeholders(_ n: Int) -> String { Array(repeating: "?", count: n).joined(separator: ", ") }
}

/// The order of an incident list.
public enum IncidentOrder: String, Sendable, CaseIterable {
    /// Newest first (by when the incident was opened, then by id).
    case newest
    /// Open incidents first, each group newest first.
    case openFirst = "open-first"

    func sql(alias: String = "incident") -> String {
        switch self {
        case .newest: "\(alias).createdAt DESC, \(alias).id DESC"
        case .openFirst:
            "CASE WHEN \(alias).state IN (\(StoreTransaction.openStates)) THEN 0 ELSE 1 END, \(alias).createdAt DESC, \(alias).id DESC"
        }
    }
}

extension Store {
    /// One page of the incidents `filter` selects, in `order`: `limit` of them after skipping
    /// `offset`. The page's ids are found first (an index walk over a few columns); only those
    /// rows are then read and decoded.
    public func incidents(matching filter: IncidentFilter, order: IncidentOrder = .newest, limit: Int,
                          offset: Int = 0) async throws -> [Incident] {
        guard limit > 0 else { return [] }
        let (clause, arguments) = filter.sql()
        let pageArguments = arguments + [limit, max(offset, 0)]
        return try await pool.read { db in
            let ids = try String.fetchAll(db, sql: """
                SELECT incident.id FROM incident \(clause) ORDER BY \(order.sql()) LIMIT ? OFFSET ?
                """, arguments: pageArguments)
            guard !ids.isEmpty else { return [] }
            var byID: [String: Incident] = [:]
            for record in try IncidentRecord.fetchAll(db, keys: ids) { byID[record.id] = try record.incident() }
            return ids.compactMap { byID[$0] }
        }
    }

    /// How many incidents `filter` selects (one `COUNT(*)`, nothing decoded).
    public func countIncidents(matching filter: IncidentFilter) async throws -> Int {
        let (clause, arguments) = filter.sql()
        return try await pool.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM incident \(clause)", arguments: arguments) ?? 0
        }
    }

    /// How many incidents are in each state (one grouped count over the state index, nothing decoded).
    public func incidentCountsByState() async throws -> [String: Int] {
        try await pool.read { db in
            var out: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT state, COUNT(*) AS n FROM incident GROUP BY state") {
                out[try row.decode(String.self, forColumn: "state")] = try row.decode(Int.self, forColumn: "n")
            }
            return out
        }
    }
}
