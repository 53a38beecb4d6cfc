import VigilControl
import VigilCore
import VigilStore

/// `actionitems.list`, `actionitems.add`, `actionitems.update`: seed 004 Phase 5's action items
/// across incidents.
extension IncidentControl {
    static let actionItemCommands: Set<String> = ["actionitems.list", "actionitems.add", "actionitems.update"]

    func actionItems(_ r: ControlRequest, user: ControlCaller, policy: IncidentPolicy) async throws -> JSONValue {
        do {
            switch r.command {
            case "actionitems.list": return try await listActionItems(r)
            case "actionitems.add":
                guard let incident = try r.text("incident", maxBytes: 64) else { throw ControlFailure("incident: required") }
                let item = try await service.addActionItem(incident: incident, fields: try actionItemFields(r),
                                                           actor: try actor(r, user: user, policy: policy))
                return try JSONValue.encoding(IncidentView.ActionItemView(item, now: clock.now()))
            default:
                let id = try r.integer("id", default: -1, in: -1...Int(Int32.max))
                guard id >= 0 else { throw ControlFailure("id: required (the action item's number)") }
                let item = try await service.updateActionItem(id: Int64(id), fields: try actionItemFields(r),
                                                              actor: try actor(r, user: user, policy: policy))
                return try JSONValue.encoding(IncidentView.ActionItemView(item, now: clock.now()))
            }
        } catch let e as ActionItemError {
            switch e {
            case .notFound: throw ControlFailure(e.description, kind: .notFound)
            case .invalid: throw ControlFailure(e.description, kind: .invalid)
            case .conflict: throw ControlFailure(e.description, kind: .conflict)
            }
        }
    }

    /// Args: `owner`, `state` (repeatable; `open` alone means every unsettled state), `incident`,
    /// `overdue` (true: only those past due). Overdue first, then by due date, then undated.
    func listActionItems(_ r: ControlRequest) async throws -> JSONValue {
        var states = try r.texts("state", maxBytes: 40, maxItems: 10)?.map { $0.lowercased() }
        if let given = states {
            for s in given where ActionItemState(rawValue: s) == nil {
                throw ControlFailure("state: \"\(s)\" is not one of " + ActionItemState.allCases.map(\.rawValue).joined(separator: ", "))
            }
            if given == ["open"] { states = [ActionItemState.open.rawValue, ActionItemState.inProgress.rawValue] }
        }
        let overdueOnly: Bool
        switch r.args["overdue"] {
        case nil, .null?: overdueOnly = false
        case .bool(let b)?: overdueOnly = b
        case .string(let s)? where ["true", "false", "1", "0"].contains(s.lowercased()): overdueOnly = s == "true" || s == "1"
        case _?: throw ControlFailure("overdue: expected true or false")
        }
        let filter = ActionItemFilter(owner: try r.text("owner"), states: states, incidentID: try r.text("incident", maxBytes: 64))
        let now = clock.now()
        var views = try await store.actionItems(matching: filter).map { IncidentView.ActionItemView($0, now: now) }
        if overdueOnly { views = views.filter { $0.overdue == true } }
        // Stable: the store's order (due date, then undated) within each half.
        views = views.filter { $0.overdue == true } + views.filter { $0.overdue != true }
        return try JSONValue.encoding(views)
    }

    func actionItemFields(_ r: ControlRequest) throws -> ActionItemFields {
        var f = ActionItemFields()
        func raw(_ key: String, limit: Int = 2000) throws -> String? {
            switch r.args[key] {
            case nil, .null?: return nil
            case .string(let s)?:
                guard s.utf8.count <= limit else { throw ControlFailure("\(key): \(s.utf8.count) bytes; at most \(limit)") }
                return s
            case _?: throw ControlFailure("\(key): expected text")
            }
        }
        f.title = try raw("title", limit: 500)
        f.owner = try raw("owner", limit: 200)
        f.category = try raw("category", limit: 40)
        f.successCriteria = try raw("success_criteria")
        f.trackerURL = try raw("tracker_url")
        f.state = try raw("state", limit: 40)
        f.note = try raw("note")
        if let due = try raw("due", limit: 64) {
            let t = due.trimmingWhitespace().lowercased()
            if t == "none" || t.isEmpty {
                f.clearDue = true
            } else {
                f.due = try OnCallTime.parse(due, now: clock.now(), argument: "due")
            }
        }
        switch r.args["depends_on"] {
        case nil, .null?: break
        case .array(let list)?:
            guard list.count <= 50 else { throw ControlFailure("depends_on: \(list.count) items; at most 50") }
            f.dependsOn = try list.map { v in
                switch v {
                case .number(let n) where n.rounded() == n && n >= 1 && n < 9e15: return Int64(n)
                case .string(let s): if let n = Int64(s.trimmingWhitespace().trimmingPrefix("#")), n >= 1 { return n }
                default: break
                }
                throw ControlFailure("depends_on: expected action item numbers, found \(v)")
            }
        case .string(let s)?:
            f.dependsOn = try s.split(separator: ",").map { part in
                guard let n = Int64(part.trimmingWhitespace().trimmingPrefix("#")), n >= 1 else {
                    throw ControlFailure("depends_on: \"\(part)\" is not an action item number")
                }
                return n
            }
        case _?: throw ControlFailure("depends_on: expected a list of action item numbers")
        }
        return f
    }
}
