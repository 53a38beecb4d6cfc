import VigilControl
import VigilCore
import VigilStore

/// `incidents.list` and `incidents.count`: the incidents a filter selects, found by SQLite.
extension IncidentControl {
    /// The most incidents one `incidents.list` answers with (and its default).
    static let maximumPage = 1000

    /// Args: `states` (list; `open` stands for every open state), `severity` (a code or a name
    /// on a configured ladder, or a list of them), `type`, `component`, `text`, `limit` (1–1000,
    /// default 1000), `offset` (default 0), `order` (`newest`, `open-first`).
    func list(_ r: ControlRequest, policy: IncidentPolicy) async throws -> JSONValue {
        let filter = try incidentFilter(r, policy: policy)
        let limit = try r.integer("limit", default: Self.maximumPage, in: 1...Self.maximumPage)
        let offset = try r.integer("offset", default: 0, in: 0...1_000_000_000)
        let order = try incidentOrder(r)
        let now = clock.now()
        let page = try await store.incidents(matching: filter, order: order, limit: limit, offset: offset)
        return try JSONValue.encoding(page.map { IncidentView($0, policy: policy, now: now) })
    }

    /// Args: the filters of ``list(_:policy:)``. Answers `{"total": N}`.
    func count(_ r: ControlRequest, policy: IncidentPolicy) async throws -> JSONValue {
        let total = try await store.countIncidents(matching: try incidentFilter(r, policy: policy))
        return .object(["total": .number(Double(total))])
    }

    /// The filter the request's `states`, `severity`, `type`, `component` and `text` describe.
    func incidentFilter(_ r: ControlRequest, policy: IncidentPolicy) throws(ControlFailure) -> IncidentFilter {
        IncidentFilter(states: try stateFilter(r), severities: try severityCodes(r, policy: policy),
                       type: try r.text("type"), component: try r.text("component"), text: try r.text("text"))
    }

    /// `severity`: codes (`P1`) or names (`Critical`, `P1 - Critical`) on the active ladder, or
    /// codes of another configured ladder (incidents opened before a ladder switch keep theirs).
    func severityCodes(_ r: ControlRequest, policy: IncidentPolicy) throws(ControlFailure) -> [String]? {
        guard let given = try r.texts("severity", maxBytes: 64, maxItems: 20) else { return nil }
        let otherCodes = Set(policy.ladders.values.flatMap { $0.levels.map(\.code) })
        var codes: [String] = []
        for text in given {
            if let level = policy.ladder.level(named: text) {
                codes.append(level.code)
            } else if let code = otherCodes.first(where: { $0.lowercased() == text.lowercased() }) {
                codes.append(code)
            } else {
                let known = policy.ladder.levels.map { "\($0.code) (\($0.name))" }.joined(separator: ", ")
                throw ControlFailure("severity: \"\(text)\" is not a severity of any configured ladder (active: \(known))")
            }
        }
        return codes
    }

    func incidentOrder(_ r: ControlRequest) throws(ControlFailure) -> IncidentOrder {
        guard let text = try r.text("order", maxBytes: 32) else { return .newest }
        guard let order = IncidentOrder(rawValue: text.lowercased()) else {
            throw ControlFailure("order: \"\(text)\" is not one of " + IncidentOrder.allCases.map(\.rawValue).joined(separator: ", "))
        }
        return order
    }
}
