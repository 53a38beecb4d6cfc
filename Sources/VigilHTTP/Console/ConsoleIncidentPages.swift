import Foundation
import HTTPTypes
import Hummingbird
import VigilAccess
import VigilControl
import VigilCore

/// The incident list and each incident's page, with every change the CLI has for an incident.
extension ConsoleController {
    /// The incident list's filters, from the query (each bounded; a bad value is named).
    struct ListQuery {
        var state = "open"
        var severity = ""
        var type = ""
        var component = ""
        var q = ""
        var page = 1

        static let stateChoices = ["open", "all"] + IncidentState.allCases.map(\.rawValue)

        static func parse(_ request: Request) -> Result<ListQuery, FormBody.Problem> {
            var out = ListQuery()
            let params = ConsoleController.query(request)
            func text(_ name: String, _ label: String) -> Result<String, FormBody.Problem> {
                let v = params[name]?.trimmingCharacters(in: .whitespaces) ?? ""
                guard v.count <= 200 else { return .failure(FormBody.Problem("\(label) filter is longer than 200 characters")) }
                return .success(v)
            }
            if let s = params["state"], !s.isEmpty {
                guard stateChoices.contains(s) else { return .failure(FormBody.Problem("unknown state \"\(s.prefix(40))\"")) }
                out.state = s
            }
            for (name, label, keyPath) in [("severity", "Severity", \ListQuery.severity), ("type", "Type", \ListQuery.type),
                                           ("component", "Component", \ListQuery.component), ("q", "Text", \ListQuery.q)] {
                switch text(name, label) {
                case .success(let v): out[keyPath: keyPath] = v
                case .failure(let why): return .failure(why)
                }
            }
            if let p = params["page"], !p.isEmpty {
                guard let n = Int(p), (1...100_000).contains(n) else { return .failure(FormBody.Problem("page must be a number from 1")) }
                out.page = n
            }
            return .success(out)
        }

        /// The filter arguments of `incidents.list` and `incidents.count`.
        var filterArgs: [String: JSONValue] {
            var args: [String: JSONValue] = [:]
            if state != "all" { args["states"] = .array([.string(state)]) }
            if !severity.isEmpty { args["severity"] = .string(severity) }
            if !type.isEmpty { args["type"] = .string(type) }
            if !component.isEmpty { args["component"] = .string(component) }
            if !q.isEmpty { args["text"] = .string(q) }
            return args
        }

        func queryString(page: Int? = nil) -> String {
            var items: [(String, String)] = [("state", state)]
            for (k, v) in [("severity", severity), ("type", type), ("component", component), ("q", q)] where !v.isEmpty {
                items.append((k, v))
            }
            let p = page ?? self.page
            if p > 1 { items.append(("page", String(p))) }
            return items.map { "\($0.0)=\(ConsoleController.queryEncoded($0.1))" }.joined(separator: "&")
        }
    }

    /// Ids travel as JSON numbers: above 2^53 a Double would name another id.
    static let largestID: Int64 = 1 << 53

    static func queryEncoded(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }

    /// Incident ids are short and plain (`INC-2026-0001`); anything else is not one.
    static func validIncidentID(_ id: String?) -> String? {
        guard let id, !id.isEmpty, id.utf8.count <= 100,
              id.unicodeScalars.allSatisfy({ CharacterSet.alphanumerics.contains($0) || "-_.:".unicodeScalars.contains($0) })
        else { return nil }
        return id
    }

    func addIncidentRoutes(to router: Router<VigilRequestContext>) {
        router.get("/console/incidents") { request, _ in
            switch await requireSignIn(request) {
            case .failure(let r): return r.response
            case .success(let s): return await incidentList(request, signed: s)
            }
        }
        router.get("/console/incidents/rows") { request, _ in
            guard let s = await signed(request) else { return Self.plain(.unauthorized, "Sign in first.") }
            switch ListQuery.parse(request) {
            case .failure(let why): return Self.plain(.badRequest, why.description)
            case .success(let q):
                switch await incidentRows(q, signed: s) {
                case .success(let html): return Self.html(html, status: .ok, cache: false)
                case .failure(let r): return Self.plain(r.status, r.message)
                }
            }
        }
        router.post("/console/incidents") { request, context in
            switch await requireSignIn(request) {
            case .failure(let r): return r.response
            case .success(let s): return await declare(request, context: context, signed: s)
            }
        }
        router.get("/console/incidents/:id") { request, context in
            switch await requireSignIn(request) {
            case .failure(let r): return r.response
            case .success(let s):
                guard let id = Self.validIncidentID(context.parameters.get("id")) else {
                    return page("Not found", signed: s, template: "message", ["heading": "Not found", "text": "No such incident."],
                                status: .notFound)
                }
                let notice = Self.query(request)["done"].flatMap { Self.notices[$0] }
                return await incidentPage(id, signed: s, notice: notice)
            }
        }
        router.get("/console/incidents/:id/timeline") { request, context in
            guard let s = await signed(request) else { return Self.plain(.unauthorized, "Sign in first.") }
            guard let id = Self.validIncidentID(context.parameters.get("id")) else { return Self.plain(.notFound, "No such incident.") }
            switch await fetch([TimelineView].self, "incidents.timeline", ["id": .string(id)], as: s) {
            case .success(let entries): return fragment("timeline", Self.timelineContext(entries))
            case .failure(let r): return Self.plain(r.status, r.message)
            }
        }
        for verb in ["ack", "comment", "assign", "escalate", "transition", "resolve", "dismiss", "reopen", "classify", "actions", "verify", "ack-link"] {
            router.post("/console/incidents/:id/\(verb)") { request, context in
                switch await requireSignIn(request) {
                case .failure(let r): return r.response
                case .success(let s): return await incidentChange(verb, request: request, context: context, signed: s)
                }
            }
        }
        router.post("/console/incidents/:id/runbook/:step") { request, context in
            switch await requireSignIn(request) {
            case .failure(let r): return r.response
            case .success(let s): return await runbookStep(request: request, context: context, signed: s)
            }
        }
        for verb in ["approve", "deny", "undo"] {
            router.post("/console/actions/:n/\(verb)") { request, context in
                switch await requireSignIn(request) {
                case .failure(let r): return r.response
                case .success(let s): return await actionChange(verb, request: request, context: context, signed: s)
                }
            }
        }
    }

    /// What the incident page says after a change (`?done=ack`): fixed sentences, never text from the URL.
    static let notices: [String: String] = [
        "ack": "Acknowledged.", "comment": "Comment added.", "assign": "Role assigned.", "escalate": "Escalated.",
        "transition": "State changed.", "resolve": "Resolved.", "reopen": "Reopened.", "dismiss": "Closed as a false positive.", "classify": "Severity changed.",
        "runbook": "Runbook step updated.", "approve": "Action approved.", "deny": "Action denied.", "undo": "Action undone.",
        "declare": "Incident declared.", "actions": "Action requested.", "verify": "Containment checks run; see the timeline.",
    ]

    func severityChoices(selected: String) async -> [[String: Any]] {
        Self.severityChoices(await services.directory(), selected: selected)
    }

    /// The ladder's levels as `<option>`s (`P1 — Critical`), `selected` marked.
    static func severityChoices(_ directory: ConsoleDirectory, selected: String) -> [[String: Any]] {
        directory.severities.map {
            ["value": $0.id, "label": $0.name.isEmpty ? $0.id : "\($0.id) — \($0.name)", "selected": $0.id == selected] as [String: Any]
        }
    }

    func incidentList(_ request: Request, signed s: Signed, error: String? = nil, status: HTTPResponse.Status = .ok) async -> Response {
        let query: ListQuery
        var error = error
        var status = status
        switch ListQuery.parse(request) {
        case .success(let q): query = q
        case .failure(let why):
            query = ListQuery()
            error = why.description
            status = .badRequest
        }
        var rows = ""
        switch await incidentRows(query, signed: s) {
        case .success(let html): rows = html
        case .failure(let r):
            error = r.message
            status = r.status
        }
        let context: [String: Any] = [
            "states": ListQuery.stateChoices.map { ["value": $0, "label": $0 == "all" ? "All" : $0, "selected": $0 == query.state] as [String: Any] },
            "severities": await severityChoices(selected: query.severity),
            "type": query.type, "component": query.component, "q": query.q, "query": query.queryString(),
            "rows": rows, "canDeclare": s.may("incidents.declare"),
        ]
        return page("Incidents", signed: s, template: "incidents", context, status: status, error: error,
                     notice: Self.query(request)["done"].flatMap { Self.notices[$0] }, path: "/console/incidents")
    }

    /// The list's table: one page of incidents, open first, with the total and page links.
    func incidentRows(_ query: ListQuery, signed s: Signed) async -> Result<String, Refusal> {
        var args = query.filterArgs
        args["limit"] = .number(Double(Self.pageSize))
        let (offset, overflow) = (query.page - 1).multipliedReportingOverflow(by: Self.pageSize)
        guard !overflow else { return .failure(Refusal(status: .badRequest, message: "page is too large")) }
        args["offset"] = .number(Double(offset))
        args["order"] = .string("open-first")
        let incidents: [IncidentView]
        switch await fetch([IncidentView].self, "incidents.list", args, as: s) {
        case .success(let v): incidents = v
        case .failure(let r): return .failure(r)
        }
        var total = offset + incidents.count
        if case .success(let counted) = await run("incidents.count", query.filterArgs, as: s),
           let n = counted["total"]?.doubleValue, let t = Int(exactly: n) {
            total = t
        }
        let hasNext = offset + incidents.count < total
        let context: [String: Any] = [
            "incidents": incidents.map(Self.listRow), "total": total, "one": total == 1, "any": !incidents.isEmpty,
            "first": incidents.isEmpty ? 0 : offset + 1, "last": offset + incidents.count,
            "prev": query.page > 1 ? query.queryString(page: query.page - 1) : "",
            "next": hasNext ? query.queryString(page: query.page + 1) : "",
        ]
        return .success(render("incident-rows", context))
    }

    static func listRow(_ i: IncidentView) -> [String: Any] {
        let pending = i.acknowledgedAt == nil && IncidentState(rawValue: i.state)?.isOpen == true
        return ["id": i.id, "severity": i.severity, "state": i.state + (i.acknowledgedAt != nil && IncidentState(rawValue: i.state)?.isOpen == true ? " (acknowledged)" : ""),
                "title": i.title, "type": i.type ?? "", "component": i.labels["component"] ?? "",
                "detectedAt": i.detectedAt, "detectedShort": short(i.detectedAt),
                "deadline": pending ? (i.sla.deadline ?? "") : "", "slaState": i.sla.state]
    }

    static func evidenceText(_ e: TimelineView) -> String {
        var lines = [e.message]
        for key in e.data.keys.sorted() { lines.append("\(key): \(e.data[key] ?? "")") }
        return lines.joined(separator: "\n")
    }

    /// The newest `timelineLimit` entries, oldest first (an incident that flapped for days can
    /// hold tens of thousands).
    static let timelineLimit = 500

    static func timelineContext(_ entries: [TimelineView]) -> [String: Any] {
        var context: [String: Any] = ["entries": entries.suffix(timelineLimit).map(timelineRow)]
        if entries.count > timelineLimit { context["omitted"] = entries.count - timelineLimit }
        return context
    }

    static func timelineRow(_ e: TimelineView) -> [String: Any] {
        ["time": e.time, "timeShort": short(e.time), "actor": e.actor, "kind": e.kind, "message": e.message]
    }

    /// Non-empty lines of a text area, trimmed.
    static func lines(_ text: String?) -> [String] {
        (text ?? "").split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    func incidentPage(_ id: String, signed s: Signed, status: HTTPResponse.Status = .ok, error: String? = nil,
                      notice: String? = nil, link: String? = nil) async -> Response {
        let incident: IncidentView
        switch await fetch(IncidentView.self, "incidents.show", ["id": .string(id)], as: s) {
        case .success(let v): incident = v
        case .failure(let r):
            // A refused change keeps its own status and sentence even when the page cannot be read.
            return page("Incident", signed: s, template: "message", ["heading": "Incident \(id)", "text": error ?? r.message],
                        status: error == nil ? r.status : status, path: "/console/incidents")
        }
        let open = IncidentState(rawValue: incident.state)?.isOpen == true
        let canRespond = s.may("incidents.ack")
        var actions: [[String: Any]] = []
        if case .success(let list) = await fetch([ActionView].self, "actions.list", ["incident": .string(id)], as: s) {
            actions = list.map { a in
                ["id": a.id, "action": a.action, "dryRun": a.dryRun, "state": a.state, "requestedAt": a.requestedAt,
                 "requestedBy": a.requestedBy ?? "", "detail": a.detail ?? "", "incidentID": id,
                 "approvable": canRespond && a.state == "awaiting-approval",
                 "undoable": canRespond && a.state == "succeeded" && a.undo != nil && a.undo != .null] as [String: Any]
            }
        }
        var runbook: [String: Any]?
        if case .success(let rb) = await fetch(RunbookView.self, "runbooks.show", ["incident": .string(id)], as: s) {
            runbook = ["title": rb.title, "done": rb.done ?? 0, "stepCount": rb.steps.count,
                       "steps": rb.steps.map { step in
                           ["number": step.number, "kind": step.kind, "text": step.text, "done": step.done == true,
                            "toggle": step.done == true ? "0" : "1", "by": step.by ?? "", "at": step.at ?? "",
                            "incidentID": id, "canRespond": canRespond] as [String: Any]
                       }]
        }
        let timeline = incident.timeline ?? []
        let alerts = timeline.filter { $0.kind == TimelineKind.occurrence.rawValue }.suffix(50).map { e -> [String: Any] in
            ["time": e.time, "message": e.message,
             "labels": e.data.keys.sorted().map { ["name": $0, "value": e.data[$0] ?? ""] }]
        }
        // Collected evidence first (bounded: a page shows 50, each cut at 20,000 characters), then
        // the verification results the timeline holds.
        var evidence: [[String: Any]] = (incident.evidence ?? []).suffix(50).map {
            ["time": $0.time, "kind": $0.kind, "source": $0.source,
             "content": $0.content.count > 20_000 ? String($0.content.prefix(20_000)) + "\n…" : $0.content,
             "sha256": $0.sha256 ?? ""] as [String: Any]
        }
        evidence += timeline.filter { $0.kind == TimelineKind.verification.rawValue }.suffix(20).map {
            ["time": $0.time, "kind": $0.kind, "source": $0.actor, "content": Self.evidenceText($0)] as [String: Any]
        }
        let directory = await services.directory()
        var catalog: [[String: Any]] = []
        if canRespond, case .success(let entries) = await fetch([ActionCatalogEntry].self, "actions.catalog", as: s) {
            catalog = entries.map { ["action": $0.action, "summary": $0.summary] }
        }
        var context: [String: Any] = [
            "catalog": catalog, "canAckLink": s.may("incidents.ack_link") && open && incident.acknowledgedAt == nil,
            "people": directory.people.map { ["id": $0.id, "name": $0.name] },
            "i": Self.incidentContext(incident),
            "roles": (incident.roleDetails ?? []).map { ["roleName": $0.roleName, "personName": $0.personName ?? $0.person, "person": $0.person] },
            "upcoming": (incident.escalation?.upcoming ?? []).prefix(3).map { ["step": $0.step, "person": $0.person ?? "", "due": $0.due] as [String: Any] },
            "canRespond": canRespond, "canAck": canRespond && open && incident.acknowledgedAt == nil, "isOpen": open,
            "roleChoices": directory.roles.map { ["id": $0.id, "name": $0.name] },
            "stateChoices": IncidentState.allCases.map(\.rawValue),
            "severities": Self.severityChoices(directory, selected: incident.severity),
            "actions": actions,
            "timeline": render("timeline", Self.timelineContext(timeline)),
            "notifications": (incident.notifications ?? []).map {
                ["channel": $0.channel, "to": $0.recipients.joined(separator: ", "), "subject": $0.subject, "state": $0.state,
                 "attempts": $0.attempts, "lastError": $0.lastError ?? ""] as [String: Any]
            },
            "alerts": Array(alerts), "evidence": evidence,
            "labels": incident.labels.keys.sorted().map { ["name": $0, "value": incident.labels[$0] ?? ""] },
        ]
        if let runbook { context["runbook"] = runbook }
        return page("\(incident.id) \(incident.title)", signed: s, template: "incident", context, status: status, error: error,
                    notice: notice, link: link, path: "/console/incidents")
    }

    static func incidentContext(_ i: IncidentView) -> [String: Any] {
        var sla: [String: Any] = ["state": i.sla.state]
        if i.acknowledgedAt == nil, let d = i.sla.deadline, IncidentState(rawValue: i.state)?.isOpen == true { sla["deadline"] = d }
        if let r = i.sla.responseTime { sla["responseTime"] = r }
        var out: [String: Any] = [
            "id": i.id, "title": i.title, "summary": i.summary, "severity": i.severity, "state": i.state,
            "type": i.type ?? "—", "source": i.source, "occurrences": i.occurrences, "detectedAt": i.detectedAt,
            "escalationLevel": i.escalationLevel, "sla": sla,
        ]
        if let a = i.acknowledgedAt { out["acknowledgedAt"] = a }
        if let e = i.escalation { out["escalation"] = ["path": e.path] }
        return out
    }

    /// A change to an incident from its page: the form's fields become the command's arguments.
    func incidentChange(_ verb: String, request: Request, context: VigilRequestContext, signed s: Signed) async -> Response {
        guard let id = Self.validIncidentID(context.parameters.get("id")) else { return Self.plain(.notFound, "No such incident.") }
        let commands = ["ack": "incidents.ack", "comment": "incidents.comment", "assign": "incidents.assign",
                        "escalate": "incidents.escalate", "transition": "incidents.transition", "resolve": "incidents.resolve",
                        "reopen": "incidents.reopen", "dismiss": "incidents.dismiss", "classify": "incidents.classify", "actions": "actions.run",
                        "verify": "actions.verify", "ack-link": "incidents.ack_link"]
        let form: FormBody
        switch await checkedForm(request, context: context, signed: s, for: commands[verb] ?? "incidents.\(verb)") {
        case .success(let f): form = f
        case .failure(let r): return r.response
        }
        var args: [String: JSONValue] = ["id": .string(id)]
        let command: String
        do {
            switch verb {
            case "ack":
                command = "incidents.ack"
                if let note = try form.optional("note", label: "Note") { args["note"] = .string(note) }
            case "comment":
                command = "incidents.comment"
                args["text"] = .string(try form.required("message", label: "Comment", limit: 10_000))
                if form["status_update"] != nil { args["status_update"] = .bool(true) }
                if let eta = try form.optional("eta", label: "Estimated resolution", limit: 200) { args["eta"] = .string(eta) }
            case "assign":
                command = "incidents.assign"
                args["role"] = .string(try form.required("role", label: "Role", limit: 100))
                args["person"] = .string(try form.required("person", label: "Person", limit: 200))
            case "escalate":
                command = "incidents.escalate"
                args["reason"] = .string(try form.required("reason", label: "Reason"))
                if form["transfer_command"] != nil { args["transfer_command"] = .bool(true) }
            case "transition":
                command = "incidents.transition"
                args["state"] = .string(try form.required("state", label: "State", limit: 40))
                args["reason"] = .string(try form.required("reason", label: "Reason"))
            case "resolve":
                command = "incidents.resolve"
                args["summary"] = .string(try form.required("summary", label: "Resolution summary", limit: 10_000))
                args["verification"] = .string(try form.required("verification", label: "Verification"))
                if let cause = try form.optional("root_cause", label: "Root cause", limit: 2000) { args["root_cause"] = .string(cause) }
                for (field, label, key) in [("actions", "Key actions", "actions"), ("follow_ups", "Follow-up work", "follow_ups")] {
                    let lines = try Self.lines(form.optional(field, label: label, limit: 5000))
                    if !lines.isEmpty { args[key] = .array(lines.map { .string($0) }) }
                }
            case "actions":
                command = "actions.run"
                args = ["incident": .string(id), "action": .string(try form.required("action", label: "Action", limit: 100))]
                if form["dry_run"] != nil { args["dry_run"] = .bool(true) }
                var params: [String: JSONValue] = [:]
                for line in try Self.lines(form.optional("params", label: "Parameters", limit: 4000)) {
                    let kv = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                    guard kv.count == 2, !kv[0].isEmpty else {
                        throw FormBody.Problem("Parameters: \"\(line.prefix(60))\" is not key=value")
                    }
                    params[kv[0]] = .string(kv[1])
                }
                if !params.isEmpty { args["params"] = .object(params) }
            case "verify":
                command = "actions.verify"
                args = ["incident": .string(id)]
            case "ack-link":
                command = "incidents.ack_link"
                args["person"] = .string(try form.required("person", label: "Person", limit: 200))
                if let ttl = try form.optional("ttl", label: "Valid for", limit: 40) { args["ttl"] = .string(ttl) }
            case "dismiss":
                command = "incidents.dismiss"
                args["reason"] = .string(try form.required("reason", label: "Reason"))
            case "reopen":
                command = "incidents.reopen"
                args["reason"] = .string(try form.required("reason", label: "Reason"))
            case "classify":
                command = "incidents.classify"
                args["severity"] = .string(try form.required("severity", label: "Severity", limit: 40))
                args["reason"] = .string(try form.required("reason", label: "Reason"))
            default:
                return Self.plain(.notFound, "No such change.")
            }
        } catch let problem as FormBody.Problem {
            return await incidentPage(id, signed: s, status: .badRequest, error: "Not saved: \(problem.description).")
        } catch {
            return await incidentPage(id, signed: s, status: .badRequest, error: "Not saved: \(error).")
        }
        switch await run(command, args, as: s) {
        case .success(let answer) where verb == "ack-link":
            // The link is a credential: shown once, in this answer, never put in a URL.
            let link = answer["url"]?.stringValue ?? answer["path"]?.stringValue ?? ""
            return await incidentPage(id, signed: s, notice: "Link made for \(answer["person"]?.stringValue ?? "")", link: link)
        case .success: return Self.redirect("/console/incidents/\(id)?done=\(verb)")
        case .failure(let r): return await incidentPage(id, signed: s, status: r.status, error: "Not saved: \(r.message)")
        }
    }

    func runbookStep(request: Request, context: VigilRequestContext, signed s: Signed) async -> Response {
        guard let id = Self.validIncidentID(context.parameters.get("id")) else { return Self.plain(.notFound, "No such incident.") }
        guard let stepText = context.parameters.get("step"), let step = Int(stepText), (1...10_000).contains(step) else {
            return Self.plain(.notFound, "No such step.")
        }
        let form: FormBody
        switch await checkedForm(request, context: context, signed: s, for: "runbooks.step") {
        case .success(let f): form = f
        case .failure(let r): return r.response
        }
        let done = form["done"] != "0"
        switch await run("runbooks.step", ["id": .string(id), "step": .number(Double(step)), "done": .bool(done)], as: s) {
        case .success: return Self.redirect("/console/incidents/\(id)?done=runbook")
        case .failure(let r): return await incidentPage(id, signed: s, status: r.status, error: "Not saved: \(r.message)")
        }
    }

    func actionChange(_ verb: String, request: Request, context: VigilRequestContext, signed s: Signed) async -> Response {
        guard let text = context.parameters.get("n"), let n = Int64(text), n > 0, n <= Self.largestID else { return Self.plain(.notFound, "No such action.") }
        let form: FormBody
        switch await checkedForm(request, context: context, signed: s, for: "actions.\(verb)") {
        case .success(let f): form = f
        case .failure(let r): return r.response
        }
        let back = Self.validIncidentID(form["incident"])
        switch await run("actions.\(verb)", ["id": .number(Double(n))], as: s) {
        case .success:
            return Self.redirect(back.map { "/console/incidents/\($0)?done=\(verb)#containment" } ?? "/console/incidents")
        case .failure(let r):
            if let back { return await incidentPage(back, signed: s, status: r.status, error: "Not done: \(r.message)") }
            return page("Refused", signed: s, template: "message", ["heading": "Refused", "text": r.message], status: r.status)
        }
    }

    func declare(_ request: Request, context: VigilRequestContext, signed s: Signed) async -> Response {
        let form: FormBody
        switch await checkedForm(request, context: context, signed: s, for: "incidents.declare") {
        case .success(let f): form = f
        case .failure(let r): return r.response
        }
        var args: [String: JSONValue] = [:]
        do {
            args["title"] = .string(try form.required("title", label: "Title", limit: 300))
            if let summary = try form.optional("summary", label: "Summary", limit: 5000) { args["summary"] = .string(summary) }
            if let severity = try form.optional("severity", label: "Severity", limit: 40) { args["severity"] = .string(severity) }
        } catch let problem {
            return await incidentList(request, signed: s, error: "Not declared: \(problem.description).", status: .badRequest)
        }
        switch await fetch(IncidentView.self, "incidents.declare", args, as: s) {
        case .success(let i): return Self.redirect("/console/incidents/\(i.id)?done=declare")
        case .failure(let r): return await incidentList(request, signed: s, error: "Not declared: \(r.message)", status: r.status)
        }
    }
}
