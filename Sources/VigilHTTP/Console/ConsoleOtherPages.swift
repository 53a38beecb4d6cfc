import Foundation
import HTTPTypes
import Hummingbird
import Synchronization
import VigilAccess
import VigilControl
import VigilCore

/// The last two bus readings, so the bus page can show a rate per lane.
final class ConsoleSamples: Sendable {
    private let last = Mutex<(at: Double, published: [String: UInt64])?>(nil)

    /// Events per second per lane since the previous reading (nil the first time).
    func rates(_ lanes: [StatusView.LaneView], now: Double) -> [String: Double] {
        let current = Dictionary(lanes.map { ($0.lane, $0.published) }, uniquingKeysWith: { a, _ in a })
        let previous = last.withLock { old -> (at: Double, published: [String: UInt64])? in
            defer { old = (now, current) }
            return old
        }
        guard let previous, now - previous.at >= 0.5 else { return [:] }
        var out: [String: Double] = [:]
        for (lane, count) in current {
            let before = previous.published[lane] ?? count
            out[lane] = count >= before ? Double(count - before) / (now - previous.at) : 0
        }
        return out
    }
}

extension ConsoleController {
    func addOtherRoutes(to router: Router<VigilRequestContext>) {
        router.get("/console/oncall") { request, _ in
            switch await requireSignIn(request) {
            case .failure(let r): return r.response
            case .success(let s):
                let component = Self.query(request)["component"]?.trimmingCharacters(in: .whitespaces) ?? ""
                guard component.count <= 100 else {
                    return await onCallPage(signed: s, status: .badRequest, error: "The component is longer than 100 characters.")
                }
                return await onCallPage(signed: s, component: component.isEmpty ? nil : component)
            }
        }
        router.post("/console/oncall/overrides") { request, context in
            switch await requireSignIn(request) {
            case .failure(let r): return r.response
            case .success(let s): return await addOverride(request, context: context, signed: s)
            }
        }
        router.post("/console/oncall/overrides/:oid/remove") { request, context in
            switch await requireSignIn(request) {
            case .failure(let r): return r.response
            case .success(let s):
                guard let text = context.parameters.get("oid"), let n = Int64(text), n > 0, n <= Self.largestID else { return Self.plain(.notFound, "No such override.") }
                if case .failure(let r) = await checkedForm(request, context: context, signed: s, for: "oncall.override.remove") { return r.response }
                switch await run("oncall.override.remove", ["id": .number(Double(n))], as: s) {
                case .success: return Self.redirect("/console/oncall")
                case .failure(let r): return await onCallPage(signed: s, status: r.status, error: "Not removed: \(r.message)")
                }
            }
        }
        router.get("/console/plugins") { request, _ in
            switch await requireSignIn(request) {
            case .failure(let r): return r.response
            case .success(let s):
                let rows = await pluginRows(signed: s)
                return page("Plugins", signed: s, template: "plugins", ["rows": rows], path: "/console/plugins")
            }
        }
        router.get("/console/plugins/rows") { request, _ in
            guard let s = await signed(request) else { return Self.plain(.unauthorized, "Sign in first.") }
            return Self.html(await pluginRows(signed: s), status: .ok, cache: false)
        }
        router.get("/console/plugins/:name") { request, context in
            switch await requireSignIn(request) {
            case .failure(let r): return r.response
            case .success(let s): return await pluginPage(context.parameters.get("name") ?? "", signed: s,
                                                          notice: Self.query(request)["done"].flatMap { Self.notices[$0] })
            }
        }
        for verb in ["enable", "disable"] {
            router.post("/console/plugins/:name/\(verb)") { request, context in
                switch await requireSignIn(request) {
                case .failure(let r): return r.response
                case .success(let s):
                    let name = context.parameters.get("name") ?? ""
                    guard Self.validPluginName(name) else { return Self.plain(.notFound, "No such plugin.") }
                    if case .failure(let r) = await checkedForm(request, context: context, signed: s, for: "plugins.\(verb)") { return r.response }
                    switch await run("plugins.\(verb)", ["name": .string(name)], as: s) {
                    case .success: return Self.redirect("/console/plugins/\(name)?done=\(verb)")
                    case .failure(let r): return await pluginPage(name, signed: s, status: r.status, error: "Not done: \(r.message)")
                    }
                }
            }
        }
        router.get("/console/bus") { request, _ in
            switch await requireSignIn(request) {
            case .failure(let r): return r.response
            case .success(let s):
                switch await laneTable(signed: s) {
                case .success(let html): return page("Event bus", signed: s, template: "bus", ["lanes": html], path: "/console/bus")
                case .failure(let r):
                    return page("Event bus", signed: s, template: "bus", ["lanes": ""], status: r.status, error: r.message, path: "/console/bus")
                }
            }
        }
        router.get("/console/bus/lanes") { request, _ in
            guard let s = await signed(request) else { return Self.plain(.unauthorized, "Sign in first.") }
            switch await laneTable(signed: s) {
            case .success(let html): return Self.html(html, status: .ok, cache: false)
            case .failure(let r): return Self.plain(r.status, r.message)
            }
        }
        router.get("/console/agents") { request, _ in
            switch await requireSignIn(request) {
            case .failure(let r): return r.response
            case .success(let s):
                switch await agentTable(signed: s) {
                case .success(let html): return page("Host agents", signed: s, template: "agents", ["rows": html], path: "/console/agents")
                case .failure(let r):
                    return page("Host agents", signed: s, template: "agents", ["rows": ""], status: r.status, error: r.message, path: "/console/agents")
                }
            }
        }
        router.get("/console/agents/rows") { request, _ in
            guard let s = await signed(request) else { return Self.plain(.unauthorized, "Sign in first.") }
            switch await agentTable(signed: s) {
            case .success(let html): return Self.html(html, status: .ok, cache: false)
            case .failure(let r): return Self.plain(r.status, r.message)
            }
        }
        router.get("/console/silences") { request, _ in
            switch await requireSignIn(request) {
            case .failure(let r): return r.response
            case .success(let s): return await silencesPage(signed: s, notice: Self.query(request)["done"] == "silence" ? "Silence created." : nil)
            }
        }
        router.get("/console/silences/rows") { request, _ in
            guard let s = await signed(request) else { return Self.plain(.unauthorized, "Sign in first.") }
            return Self.html(await silenceRows(signed: s), status: .ok, cache: false)
        }
        router.get("/console/silences/preview") { request, _ in
            guard let s = await signed(request) else { return Self.plain(.unauthorized, "Sign in first.") }
            let text = Self.query(request)["matchers"] ?? ""
            guard text.count <= 2000 else { return fragment("preview", ["problem": "Matchers are longer than 2000 characters."]) }
            switch await run("silences.preview", ["matchers": .array([.string(text)])], as: s) {
            case .failure(let r): return fragment("preview", ["problem": r.message])
            case .success(let v):
                let alerts = v["alerts"]?.arrayValue ?? []
                let incidents = v["incidents"]?.arrayValue ?? []
                let alertCount = v["alertCount"]?.doubleValue.map { Int($0) } ?? alerts.count
                let incidentCount = v["incidentCount"]?.doubleValue.map { Int($0) } ?? incidents.count
                return fragment("preview", [
                    "alertCount": alertCount, "oneAlert": alertCount == 1,
                    "incidentCount": incidentCount, "oneIncident": incidentCount == 1,
                    "incidents": incidents.prefix(20).map { ["id": $0["id"]?.stringValue ?? "", "title": $0["title"]?.stringValue ?? ""] },
                    "alerts": alerts.prefix(20).map { a -> [String: Any] in
                        let labels = a["labels"]?.objectValue ?? [:]
                        return ["text": labels.keys.sorted().map { "\($0)=\"\(labels[$0]?.stringValue ?? "")\"" }.joined(separator: ", ")]
                    },
                ])
            }
        }
        router.post("/console/silences") { request, context in
            switch await requireSignIn(request) {
            case .failure(let r): return r.response
            case .success(let s): return await addSilence(request, context: context, signed: s)
            }
        }
        router.post("/console/silences/:sid/expire") { request, context in
            switch await requireSignIn(request) {
            case .failure(let r): return r.response
            case .success(let s):
                let id = context.parameters.get("sid") ?? ""
                guard UUID(uuidString: id) != nil else { return Self.plain(.notFound, "No such silence.") }
                if case .failure(let r) = await checkedForm(request, context: context, signed: s, for: "silences.expire") { return r.response }
                switch await run("silences.expire", ["ids": .array([.string(id)])], as: s) {
                case .success:
                    hub.publish(.silences)
                    return Self.redirect("/console/silences")
                case .failure(let r): return await silencesPage(signed: s, status: r.status, error: "Not expired: \(r.message)")
                }
            }
        }
        router.get("/console/metrics") { request, _ in
            switch await requireSignIn(request) {
            case .failure(let r): return r.response
            case .success(let s): return await metricsPage(request, signed: s)
            }
        }
    }

    static func validPluginName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 100
            && name.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || "-_.".unicodeScalars.contains($0) }
    }

    // MARK: On call

    /// Who is on call, for every role or for one component's rotations (`?component=`).
    func onCallPage(signed s: Signed, component: String? = nil, status: HTTPResponse.Status = .ok,
                    error: String? = nil) async -> Response {
        let components = await services.components()
        var context: [String: Any] = [
            "canRespond": s.may("oncall.override"),
            "components": components.map { ["name": $0, "selected": $0 == component] as [String: Any] },
            "component": component ?? "",
        ]
        var error = error
        let scope: [String: JSONValue] = component.map { ["component": .string($0)] } ?? [:]
        switch await fetch(OnCallView.self, "oncall", scope, as: s) {
        case .success(let v):
            context["now"] = v.shifts.map {
                ["roleName": $0.roleName, "personName": $0.personName, "rotation": $0.rotation, "until": Self.short($0.until),
                 "override": $0.override] as [String: Any]
            }
        case .failure(let r): error = error ?? r.message
        }
        switch await run("oncall.schedule", scope.merging(["days": .number(14)]) { a, _ in a }, as: s) {
        case .success(let v):
            let segments = (v["roles"]?.arrayValue ?? []).flatMap { $0["segments"]?.arrayValue ?? [] }
            context["schedule"] = segments.map { seg -> [String: Any] in
                ["roleName": seg["roleName"]?.stringValue ?? seg["role"]?.stringValue ?? "",
                 "person": seg["personName"]?.stringValue ?? seg["person"]?.stringValue ?? "",
                 "from": Self.short(seg["from"]?.stringValue ?? ""), "until": Self.short(seg["until"]?.stringValue ?? ""),
                 "override": seg["override"]?.boolValue ?? false]
            }
            context["scheduleNote"] = "No role is staffed in the next 14 days."
        case .failure(let r): context["scheduleNote"] = r.message
        }
        if case .success(let v) = await run("oncall.overrides", [:], as: s) {
            context["overrides"] = (v.arrayValue ?? []).map { o -> [String: Any] in
                var row: [String: Any] = [
                    "rotation": o["rotation"]?.stringValue ?? "", "person": o["personName"]?.stringValue ?? o["person"]?.stringValue ?? "",
                    "from": Self.short(o["from"]?.stringValue ?? ""), "until": Self.short(o["until"]?.stringValue ?? ""),
                    "createdBy": o["createdBy"]?.stringValue ?? (o["source"]?.stringValue == "configuration" ? "configuration" : ""),
                    "reason": o["reason"]?.stringValue ?? "",
                ]
                // Configured overrides have no id: they are changed in the configuration, not here.
                if let n = o["id"]?.doubleValue, let id = Int64(exactly: n) {
                    row["id"] = String(id)
                    row["canRespond"] = s.may("oncall.override.remove")
                }
                return row
            }
        }
        let directory = await services.directory()
        context["rotations"] = directory.rotations
        context["people"] = directory.people.map { ["id": $0.id, "name": $0.name] }
        return page("On call", signed: s, template: "oncall", context, status: status, error: error, path: "/console/oncall")
    }

    /// `2026-12-07T10:00` (a `datetime-local` field, read as UTC) → RFC 3339.
    static func localTime(_ text: String) -> String? {
        let t = text.trimmingCharacters(in: .whitespaces)
        guard t.count >= 16, t.count <= 19 else { return nil }
        let withSeconds = t.count == 16 ? t + ":00" : t
        let candidate = withSeconds + "Z"
        guard RFC3339.parse(candidate) != nil else { return nil }
        return candidate
    }

    func addOverride(_ request: Request, context: VigilRequestContext, signed s: Signed) async -> Response {
        let form: FormBody
        switch await checkedForm(request, context: context, signed: s, for: "oncall.override") {
        case .success(let f): form = f
        case .failure(let r): return r.response
        }
        var args: [String: JSONValue] = [:]
        do {
            args["rotation"] = .string(try form.required("rotation", label: "Rotation", limit: 100))
            args["person"] = .string(try form.required("person", label: "Person", limit: 200))
            let from = try form.required("from", label: "From", limit: 40)
            let until = try form.required("until", label: "Until", limit: 40)
            guard let f = Self.localTime(from) else { throw FormBody.Problem("From: expected a date and time like 2026-12-24T18:00") }
            guard let u = Self.localTime(until) else { throw FormBody.Problem("Until: expected a date and time like 2026-12-26T09:00") }
            args["from"] = .string(f)
            args["until"] = .string(u)
            if let reason = try form.optional("reason", label: "Reason", limit: 500) { args["reason"] = .string(reason) }
        } catch let problem as FormBody.Problem {
            return await onCallPage(signed: s, status: .badRequest, error: "Not saved: \(problem.description).")
        } catch {
            return await onCallPage(signed: s, status: .badRequest, error: "Not saved.")
        }
        switch await run("oncall.override", args, as: s) {
        case .success: return Self.redirect("/console/oncall")
        case .failure(let r): return await onCallPage(signed: s, status: r.status, error: "Not saved: \(r.message)")
        }
    }

    // MARK: Plugins

    func pluginRows(signed s: Signed) async -> String {
        let plugins: [PluginView]
        switch await fetch([PluginView].self, "plugins.list", as: s) {
        case .success(let v): plugins = v
        case .failure(let r): return "<p class=\"error\" role=\"alert\">\(Self.escaped(r.message))</p>"
        }
        return render("plugin-rows", ["plugins": plugins.map {
            ["name": $0.name, "kind": $0.kind, "state": $0.state, "restarts": $0.restarts, "failures": $0.failures,
             "failureRate": String(format: "%.2f/min", $0.failureRate), "breaches": $0.breaches, "profile": $0.profile] as [String: Any]
        }])
    }

    func pluginPage(_ name: String, signed s: Signed, status: HTTPResponse.Status = .ok, error: String? = nil,
                    notice: String? = nil) async -> Response {
        guard Self.validPluginName(name) else {
            return page("Not found", signed: s, template: "message", ["heading": "Not found", "text": "No such plugin."], status: .notFound)
        }
        let p: PluginView
        switch await fetch(PluginView.self, "plugins.show", ["name": .string(name)], as: s) {
        case .success(let v): p = v
        case .failure(let r):
            // A refused change keeps its own status and sentence even when the page cannot be read.
            return page("Plugin", signed: s, template: "message", ["heading": "Plugin \(name)", "text": error ?? r.message],
                        status: error == nil ? r.status : status, path: "/console/plugins")
        }
        // The plugin's incidents (failures, breaches): the daemon labels each with `plugin`.
        var about: [IncidentView] = []
        if case .success(let v) = await fetch([IncidentView].self, "incidents.list",
                                              ["text": .string(name), "limit": .number(500)], as: s) {
            about = v.filter { $0.labels["plugin"] == name }
        }
        let breaches = about.filter { $0.type == "plugin_isolation_breach_detected" || $0.labels["alertname"] == "plugin_isolation_breach_detected"
            || $0.title.localizedCaseInsensitiveContains("breach") }
        let now = services.clock.now()
        let days = 14
        var perDay = [Int](repeating: 0, count: days)
        for i in about {
            guard let t = RFC3339.parse(i.detectedAt) else { continue }
            let age = Int((now - t).inSeconds / 86_400)
            if age >= 0, age < days { perDay[days - 1 - age] += 1 }
        }
        let chart = ConsoleCharts.bars(title: "Failure and breach incidents of \(name) per day, last \(days) days",
                                       labels: (0..<days).map { d in
                                           Self.short((now - .seconds(Int64(days - 1 - d) * 86_400)).rfc3339).prefix(10).suffix(5).description
                                       },
                                       series: [("incidents", perDay.map(Double.init))], unit: "")
        let context: [String: Any] = [
            "p": ["name": p.name, "kind": p.kind, "version": p.version, "description": p.description, "state": p.state,
                  "cause": p.cause ?? "", "starts": p.starts, "restarts": p.restarts, "failures": p.failures,
                  "timeouts": p.timeouts, "breaches": p.breaches, "profile": p.profile, "network": p.network,
                  "uid": p.uid.map(String.init) ?? ""] as [String: Any],
            "failureRate": String(format: "%.2f per minute", p.failureRate),
            "syscalls": p.syscalls.keys.sorted().map { ["name": $0, "count": p.syscalls[$0] ?? 0] as [String: Any] },
            "causes": p.failuresByCause.keys.sorted().map { ["name": $0, "count": p.failuresByCause[$0] ?? 0] as [String: Any] },
            "breaches": breaches.map { ["id": $0.id, "detectedAt": $0.detectedAt, "state": $0.state, "title": $0.title] },
            "failureChart": chart, "canAdmin": s.may("plugins.enable"),
        ]
        return page("Plugin \(name)", signed: s, template: "plugin", context, status: status, error: error, notice: notice,
                    path: "/console/plugins")
    }

    // MARK: Bus

    func laneTable(signed s: Signed) async -> Result<String, Refusal> {
        switch await fetch(StatusView.self, "status", as: s) {
        case .failure(let r): return .failure(r)
        case .success(let status):
            let now = services.clock.now()
            let rates = samples.rates(status.lanes, now: now.seconds)
            return .success(render("lanes", [
                "lanes": status.lanes.map {
                    ["lane": $0.lane, "depth": $0.depth, "capacity": $0.capacity, "published": $0.published,
                     "rate": rates[$0.lane].map { String(format: "%.0f", $0) } ?? "…", "shed": $0.shed, "stalls": $0.stalls,
                     "paused": $0.paused ? "yes" : "no"] as [String: Any]
                },
                "at": now.rfc3339,
            ]))
        }
    }

    /// The host agents that call in to this daemon, or — on a host agent — where it forwards.
    func agentTable(signed s: Signed) async -> Result<String, Refusal> {
        switch await fetch(StatusView.self, "status", as: s) {
        case .failure(let r): return .failure(r)
        case .success(let status):
            let agents = status.agents ?? []
            var context: [String: Any] = [
                "agents": agents.map {
                    ["name": $0.name, "state": $0.state, "missing": $0.state == "missing", "lastContact": $0.lastContactAt,
                     "silent": "\($0.silentSeconds) s", "received": $0.received, "spooled": $0.spooled,
                     "version": $0.version ?? "-"] as [String: Any]
                },
                "any": !agents.isEmpty,
                "none": agents.isEmpty && status.agentMode == nil,
                "at": services.clock.now().rfc3339,
            ]
            if let a = status.agentMode {
                context["mode"] = ["state": a.state, "connectedTo": a.connectedTo ?? "", "central": a.central.joined(separator: ", "),
                                   "spooled": a.spooled, "forwarded": a.forwarded, "dropped": a.dropped,
                                   "lastContact": a.lastContactAt ?? "never", "lastError": a.lastError ?? ""] as [String: Any]
            }
            return .success(render("agent-rows", context))
        }
    }

    // MARK: Silences

    struct SilenceList: Decodable {
        var silences: [SilenceView]
        var maintenanceWindows: [MaintenanceWindowView]?
    }

    func silenceRows(signed s: Signed) async -> String {
        var context: [String: Any] = [:]
        let current: SilenceList
        switch await fetch(SilenceList.self, "silences.list", as: s) {
        case .success(let v): current = v
        case .failure(let r): return "<p class=\"error\" role=\"alert\">\(Self.escaped(r.message))</p>"
        }
        // The recently expired after the live ones: an operator checks what just lifted.
        var expired: [SilenceView] = []
        if case .success(let v) = await fetch(SilenceList.self, "silences.list", ["expired": .bool(true)], as: s) {
            expired = v.silences.sorted { $0.endsAt > $1.endsAt }
        }
        let live = current.silences.sorted { ($0.status.state == "active" ? 0 : 1, $0.endsAt) < ($1.status.state == "active" ? 0 : 1, $1.endsAt) }
        context["silences"] = (live.prefix(500) + expired.prefix(20)).map { v -> [String: Any] in
            ["id": v.id, "state": v.status.state, "startsAt": Self.short(v.startsAt), "endsAt": Self.short(v.endsAt),
             "createdBy": v.createdBy, "comment": v.comment,
             "matchers": v.matchers.map { "\($0.name)\($0.isRegex ? ($0.isEqual ? "=~" : "!~") : ($0.isEqual ? "=" : "!="))\"\($0.value)\"" },
             "expirable": v.status.state != "expired" && s.may("silences.expire")]
        }
        context["csrf"] = s.csrf
        context["windows"] = (current.maintenanceWindows ?? []).map {
            ["name": $0.name, "schedule": $0.schedule, "timeZone": $0.timeZone, "matchers": $0.matchers, "open": $0.open] as [String: Any]
        }
        return render("silence-rows", context)
    }

    func silencesPage(signed s: Signed, status: HTTPResponse.Status = .ok, error: String? = nil, notice: String? = nil) async -> Response {
        page("Silences", signed: s, template: "silences",
             ["rows": await silenceRows(signed: s), "canSilence": s.may("silences.add")],
             status: status, error: error, notice: notice, path: "/console/silences")
    }

    func addSilence(_ request: Request, context: VigilRequestContext, signed s: Signed) async -> Response {
        let form: FormBody
        switch await checkedForm(request, context: context, signed: s, for: "silences.add") {
        case .success(let f): form = f
        case .failure(let r): return r.response
        }
        var args: [String: JSONValue] = [:]
        do {
            args["matchers"] = .array([.string(try form.required("matchers", label: "Matchers", limit: 2000))])
            args["duration"] = .string(try form.required("duration", label: "Duration", limit: 40))
            args["comment"] = .string(try form.required("comment", label: "Comment", limit: 1000))
        } catch let problem {
            return await silencesPage(signed: s, status: .badRequest, error: "Not created: \(problem.description).")
        }
        switch await run("silences.add", args, as: s) {
        case .success:
            hub.publish(.silences)
            return Self.redirect("/console/silences?done=silence")
        case .failure(let r): return await silencesPage(signed: s, status: r.status, error: "Not created: \(r.message)")
        }
    }

    /// HTML and XML text, escaped by Unicode scalar (``HTMLText``).
    static func escaped(_ text: String) -> String { HTMLText.escaped(text) }
}
