import Foundation
import HTTPTypes
import Hummingbird
import VigilControl
import VigilCore

/// An incident's post-mortem and action items in the console (`/console/incidents/ID/postmortem`):
/// the document Vigil drafted, each section editable, submitted, approved or sent back; the
/// incident's action items added and moved along their lifecycle. Every change goes through the
/// same commands as the CLI and the API (`postmortem.edit`, `postmortem.review`,
/// `actionitems.add`, `actionitems.update`), as the signed-in person.
extension ConsoleController {
    func addPostMortemRoutes(to router: Router<VigilRequestContext>) {
        router.get("/console/incidents/:id/postmortem") { request, context in
            switch await requireSignIn(request) {
            case .failure(let r): return r.response
            case .success(let s):
                guard let id = Self.validIncidentID(context.parameters.get("id")) else {
                    return page("Not found", signed: s, template: "message", ["heading": "Not found", "text": "No such incident."],
                                status: .notFound)
                }
                let notice = Self.query(request)["done"].flatMap { Self.postMortemNotices[$0] }
                return await postMortemPage(id, signed: s, notice: notice)
            }
        }
        for verb in ["edit", "submit", "approve", "reopen", "add-item"] {
            router.post("/console/incidents/:id/postmortem/\(verb)") { request, context in
                switch await requireSignIn(request) {
                case .failure(let r): return r.response
                case .success(let s): return await postMortemChange(verb, request: request, context: context, signed: s)
                }
            }
        }
        router.post("/console/action-items/:n") { request, context in
            switch await requireSignIn(request) {
            case .failure(let r): return r.response
            case .success(let s): return await actionItemChange(request: request, context: context, signed: s)
            }
        }
    }

    static let postMortemNotices: [String: String] = [
        "edit": "Post-mortem saved as a new version.", "submit": "Submitted for review.", "approve": "Approved.",
        "reopen": "Sent back to draft.", "add-item": "Action item added.", "item": "Action item updated.",
        "unchanged": "Nothing changed: no section differs from the current version.",
    ]

    /// The most a section's text may be (the store's own limit is 64 KiB).
    public static let sectionLimit = 65_536
    /// A section edit's form: one section at its limit, %-escaped, and the other fields.
    static let sectionFormLimit = 3 * sectionLimit + 8_192

    func postMortemPage(_ id: String, signed s: Signed, status: HTTPResponse.Status = .ok, error: String? = nil,
                        notice: String? = nil) async -> Response {
        let incident: IncidentView
        switch await fetch(IncidentView.self, "incidents.show", ["id": .string(id)], as: s) {
        case .success(let v): incident = v
        case .failure(let r):
            return page("Post-mortem", signed: s, template: "message", ["heading": "Incident \(id)", "text": error ?? r.message],
                        status: error == nil ? r.status : status, path: "/console/incidents")
        }
        var context: [String: Any] = ["i": ["id": incident.id, "title": incident.title, "state": incident.state]]
        let canEdit = s.may("postmortem.edit")
        switch await fetch(PostMortemView.self, "postmortem.show", ["id": .string(id)], as: s) {
        case .success(let pm):
            let editable = canEdit && pm.state == "draft"
            context["pm"] = [
                "version": pm.version, "state": pm.state, "author": pm.author, "updatedAt": pm.updatedAt,
                "approvedBy": pm.approvedBy ?? "", "note": pm.note ?? "",
                "sections": pm.sections.map { section in
                    ["key": section.key, "title": section.title, "text": section.text ?? "", "drafted": section.drafted,
                     "editable": editable, "incidentID": id, "version": pm.version] as [String: Any]
                },
                "versions": (pm.versions ?? []).suffix(20).reversed().map {
                    ["version": $0.version, "state": $0.state, "author": $0.author, "updatedAt": $0.updatedAt,
                     "note": $0.note ?? ""] as [String: Any]
                },
            ] as [String: Any]
            context["editable"] = editable
            context["canSubmit"] = canEdit && pm.state == "draft"
            context["canApprove"] = s.may("postmortem.review") && pm.state == "in-review"
            context["canReopen"] = s.may("postmortem.review") && pm.state != "draft"
        case .failure(let r) where r.status == .notFound:
            context["canDraft"] = canEdit
        case .failure(let r):
            return page("Post-mortem", signed: s, template: "message", ["heading": "Post-mortem of \(id)", "text": r.message],
                        status: r.status, path: "/console/incidents")
        }
        let canItems = s.may("actionitems.update")
        if case .success(let items) = await fetch([IncidentView.ActionItemView].self, "actionitems.list",
                                                  ["incident": .string(id)], as: s) {
            context["items"] = items.prefix(200).map { item in
                ["id": item.id.map { "\($0)" } ?? "", "title": item.title, "owner": item.owner ?? "", "due": item.dueAt ?? "",
                 "state": item.state, "category": item.category ?? "", "criteria": item.successCriteria ?? "",
                 "overdue": item.overdue == true, "canChange": canItems && item.id != nil, "incidentID": id,
                 "states": ActionItemStates.all.filter { $0 != item.state }] as [String: Any]
            }
        }
        context["canAddItem"] = s.may("actionitems.add")
        context["categories"] = ["prevent", "detect", "mitigate", "process"]
        return page("Post-mortem \(incident.id)", signed: s, template: "postmortem", context, status: status, error: error,
                    notice: notice, path: "/console/incidents")
    }

    func postMortemChange(_ verb: String, request: Request, context: VigilRequestContext, signed s: Signed) async -> Response {
        guard let id = Self.validIncidentID(context.parameters.get("id")) else { return Self.plain(.notFound, "No such incident.") }
        let command = switch verb {
        case "edit": "postmortem.edit"
        case "add-item": "actionitems.add"
        default: "postmortem.review"
        }
        let form: FormBody
        // A section may be 64 KiB of text, which form encoding can triple.
        switch await checkedForm(request, context: context, signed: s, for: command,
                                 limit: verb == "edit" ? Self.sectionFormLimit : FormBody.maximumBytes) {
        case .success(let f): form = f
        case .failure(let r): return r.response
        }
        var args: [String: JSONValue] = ["id": .string(id)]
        do {
            switch verb {
            case "edit":
                // Only the sections whose text differs from the version shown are sent: an
                // untouched drafted section stays Vigil's (redrafted later from the records).
                var current: [String: String] = [:]
                if case .success(let pm) = await fetch(PostMortemView.self, "postmortem.show", ["id": .string(id)], as: s) {
                    for section in pm.sections { current[section.key] = section.text ?? "" }
                    if let shown = form["version"], shown != "\(pm.version)" {
                        throw FormBody.Problem("someone saved version \(pm.version) since this page was loaded; reload and edit again")
                    }
                }
                var sections: [String: JSONValue] = [:]
                for field in form.fields where field.name.hasPrefix("section_") {
                    let key = String(field.name.dropFirst("section_".count))
                    guard key.utf8.count <= 64 else { throw FormBody.Problem("a section name is too long") }
                    let text = (try form.optional(field.name, label: key, limit: Self.sectionLimit) ?? "")
                        .replacingOccurrences(of: "\r\n", with: "\n")
                    if current.isEmpty || text != current[key, default: ""].trimmingCharacters(in: .whitespacesAndNewlines) {
                        sections[key] = .string(text)
                    }
                }
                if !current.isEmpty, sections.isEmpty { return Self.redirect("/console/incidents/\(id)/postmortem?done=unchanged") }
                if !sections.isEmpty { args["sections"] = .object(sections) }
                if let note = try form.optional("note", label: "What this version changes") { args["note"] = .string(note) }
            case "submit", "approve", "reopen":
                args["action"] = .string(verb)
                if let note = try form.optional("note", label: "Note") { args["note"] = .string(note) }
            case "add-item":
                args = ["incident": .string(id), "title": .string(try form.required("title", label: "What is to be done", limit: 500))]
                for (field, label, key) in [("owner", "Owner", "owner"), ("due", "Due", "due"), ("category", "Category", "category"),
                                            ("success_criteria", "Success criteria", "success_criteria")] {
                    if let v = try form.optional(field, label: label, limit: 2000) { args[key] = .string(v) }
                }
            default:
                return Self.plain(.notFound, "No such change.")
            }
        } catch let problem as FormBody.Problem {
            return await postMortemPage(id, signed: s, status: .badRequest, error: "Not saved: \(problem.description).")
        } catch {
            return await postMortemPage(id, signed: s, status: .badRequest, error: "Not saved: \(error).")
        }
        switch await run(command, args, as: s) {
        case .success: return Self.redirect("/console/incidents/\(id)/postmortem?done=\(verb)")
        case .failure(let r): return await postMortemPage(id, signed: s, status: r.status, error: "Not saved: \(r.message)")
        }
    }

    func actionItemChange(request: Request, context: VigilRequestContext, signed s: Signed) async -> Response {
        guard let text = context.parameters.get("n"), let n = Int64(text), n > 0, n <= Self.largestID else {
            return Self.plain(.notFound, "No such action item.")
        }
        let form: FormBody
        switch await checkedForm(request, context: context, signed: s, for: "actionitems.update") {
        case .success(let f): form = f
        case .failure(let r): return r.response
        }
        let back = Self.validIncidentID(form["incident"])
        var args: [String: JSONValue] = ["id": .number(Double(n))]
        do {
            let state = try form.required("state", label: "State", limit: 40)
            guard ActionItemStates.all.contains(state) else {
                throw FormBody.Problem("State: \"\(state.prefix(40))\" is not one of \(ActionItemStates.all.joined(separator: ", "))")
            }
            args["state"] = .string(state)
            if let note = try form.optional("note", label: "Note") { args["note"] = .string(note) }
        } catch let problem as FormBody.Problem {
            guard let back else { return Self.plain(.badRequest, "Not saved: \(problem.description).") }
            return await postMortemPage(back, signed: s, status: .badRequest, error: "Not saved: \(problem.description).")
        } catch {
            return Self.plain(.badRequest, "Not saved: \(error).")
        }
        switch await run("actionitems.update", args, as: s) {
        case .success: return Self.redirect(back.map { "/console/incidents/\($0)/postmortem?done=item#items" } ?? "/console/incidents")
        case .failure(let r):
            guard let back else { return Self.plain(r.status, "Not saved: \(r.message)") }
            return await postMortemPage(back, signed: s, status: r.status, error: "Not saved: \(r.message)")
        }
    }
}

/// The action-item states a form may ask for (`VigilCore.ActionItemLifecycle` decides which moves are allowed).
enum ActionItemStates {
    static let all = ["open", "in-progress", "done", "verified", "dropped"]
}
