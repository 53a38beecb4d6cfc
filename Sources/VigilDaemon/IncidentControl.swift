import VigilControl
import VigilCore
import VigilIncidents
import VigilStore

/// Answers the incident commands of the control socket: `incidents.declare|list|count|show|
/// timeline|ack|assign|escalate|transition|comment|resolve|reopen|classify`, `oncall`,
/// `oncall.schedule|override|overrides|override.remove`, `runbooks.list|show|step` and
/// `report.response`.
public struct IncidentControl: Sendable {
    public static let commands = [
        "incidents.declare", "incidents.list", "incidents.count", "incidents.show", "incidents.timeline", "incidents.ack",
        "incidents.assign", "incidents.escalate", "incidents.transition", "incidents.comment", "incidents.resolve",
        "incidents.reopen", "incidents.dismiss", "incidents.classify", "oncall", "oncall.schedule", "oncall.override", "oncall.overrides",
        "oncall.override.remove", "runbooks.list", "runbooks.show", "runbooks.step", "report.response", "report.metrics", "actionitems.list", "actionitems.add", "actionitems.update", "postmortem.show", "postmortem.edit", "postmortem.review",
        "dr.plans", "dr.assess", "dr.start", "dr.status", "dr.step", "dr.run-step", "dr.complete",
        "postmortem.hypothesis", "changes.record", "changes.list",
    ]

    let service: IncidentService
    let store: Store
    let clock: any VigilClock

    public init(service: IncidentService, store: Store, clock: any VigilClock) {
        self.service = service
        self.store = store
        self.clock = clock
    }

    public static func handles(_ command: String) -> Bool { commands.contains(command) }

    /// Runs one request for the authenticated local `user`; refusals are ``ControlFailure``s.
    public func handle(_ r: ControlRequest, user: ControlCaller) async throws(ControlFailure) -> JSONValue {
        do {
            return try await dispatch(r, user: user)
        } catch let f as ControlFailure {
            throw f
        } catch let e as IncidentServiceError {
            throw ControlFailure(e.description, kind: e.failureKind)
        } catch let e as OnCallOverrideChangeError {
            throw ControlFailure(e.description, kind: e.failureKind)
        } catch {
            throw ControlFailure("\(r.command) failed: \(error)")
        }
    }

    private func dispatch(_ r: ControlRequest, user: ControlCaller) async throws -> JSONValue {
        let policy = await service.policy
        switch r.command {
        case "incidents.declare":
            let input = try declaration(r)
            let incident = try await service.declare(input, actor: try actor(r, user: user, policy: policy),
                                                     responder: r.optionalString("responder"),
                                                     key: r.optionalString("key"))
            return try view(incident, policy: policy)
        case "incidents.list": return try await list(r, policy: policy)
        case "incidents.count": return try await count(r, policy: policy)
        case "incidents.show":
            let id = try r.string("id")
            guard let incident = try await store.incident(id: id) else { throw ControlFailure.notFound("no incident \(id)") }
            var view = IncidentView(
                incident, policy: policy, now: clock.now(), timeline: try await store.timeline(incidentID: id),
                notifications: try await store.notifications(incidentID: id),
                actionItems: try await store.actionItems(incidentID: id))
            view.evidence = try await store.evidence(incidentID: id).map {
                EvidenceView(time: Timestamp(nanoseconds: $0.time).rfc3339, source: $0.source, kind: $0.kind,
                             content: $0.content, sha256: $0.sha256)
            }
            view.recoveryWatch = try await store.recoveryWatch(incidentID: id).map { RecoveryWatchView($0, now: clock.now()) }
            return try JSONValue.encoding(view)
        case "incidents.timeline":
            let id = try r.string("id")
            guard try await store.incident(id: id) != nil else { throw ControlFailure.notFound("no incident \(id)") }
            return try JSONValue.encoding(try await store.timeline(incidentID: id).map(TimelineView.init))
        case "incidents.ack":
            return try view(try await service.acknowledge(try r.string("id"), actor: try actor(r, user: user, policy: policy),
                                                          note: r.optionalString("note")), policy: policy)
        case "incidents.assign":
            return try view(try await service.assign(try r.string("id"), role: try r.string("role"),
                                                     person: try r.string("person"), reason: r.optionalString("reason"),
                                                     actor: try actor(r, user: user, policy: policy)), policy: policy)
        case "incidents.escalate":
            return try view(try await service.escalate(try r.string("id"), reason: try r.string("reason"),
                                                       transferCommand: r.args["transfer_command"]?.boolValue ?? false,
                                                       actor: try actor(r, user: user, policy: policy)), policy: policy)
        case "incidents.transition":
            let name = try r.string("state")
            guard let state = IncidentState(rawValue: name) else {
                throw ControlFailure("unknown state \"\(name)\"; known: "
                    + IncidentState.allCases.map(\.rawValue).joined(separator: ", "))
            }
            return try view(try await service.transition(try r.string("id"), to: state, reason: try r.string("reason"),
                                                         actor: try actor(r, user: user, policy: policy)), policy: policy)
        case "incidents.comment":
            return try view(try await service.comment(try r.string("id"), text: try r.string("text"),
                                                      statusUpdate: r.args["status_update"]?.boolValue ?? false,
                                                      eta: r.optionalString("eta"),
                                                      actor: try actor(r, user: user, policy: policy)), policy: policy)
        case "incidents.resolve":
            let request = ResolutionRequest(
                verification: try r.string("verification"), summary: try r.string("summary"),
                rootCause: r.optionalString("root_cause"), actions: strings(r, "actions"),
                followUps: strings(r, "follow_ups"))
            return try view(try await service.resolve(try r.string("id"), request: request,
                                                      actor: try actor(r, user: user, policy: policy)), policy: policy)
        case "incidents.reopen":
            return try view(try await service.reopen(try r.string("id"), reason: try r.string("reason"),
                                                     actor: try actor(r, user: user, policy: policy)), policy: policy)
        case "incidents.dismiss":
            guard let reason = try r.text("reason", maxBytes: 1000) else {
                throw ControlFailure("reason: say why it is not an incident")
            }
            return try view(try await service.dismiss(try r.string("id"), reason: reason,
                                                      actor: try actor(r, user: user, policy: policy)), policy: policy)
        case "incidents.classify":
            return try view(try await service.reclassify(try r.string("id"), severity: try r.string("severity"),
                                                         reason: try r.string("reason"),
                                                         actor: try actor(r, user: user, policy: policy)), policy: policy)
        case "oncall":
            let at = try OnCallTime.parse(r.optionalString("at"), now: clock.now())
            let component = r.optionalString("component")
            let shifts = OnCallSchedule(roster: policy.roster).shifts(at: at, component: component)
            return try JSONValue.encoding(OnCallView(at: at, component: component, shifts: shifts, policy: policy))
        case "oncall.schedule": return try schedule(r, policy: policy)
        case "oncall.overrides": return try await overrides(r, policy: policy)
        case "oncall.override": return try await addOverride(r, user: user, policy: policy)
        case "oncall.override.remove": return try await removeOverride(r, user: user, policy: policy)
        case "report.response": return try await responseReport(r, policy: policy)
        case "report.metrics": return try await metricsReport(r, policy: policy)
        case "actionitems.list", "actionitems.add", "actionitems.update": return try await actionItems(r, user: user, policy: policy)
        case "postmortem.show", "postmortem.edit", "postmortem.review": return try await postMortem(r, user: user, policy: policy)
        case let c where Self.recoveryCommands.contains(c): return try await disasterRecovery(r, user: user, policy: policy)
        case "postmortem.hypothesis": return try await postMortem(r, user: user, policy: policy)
        case "changes.record", "changes.list": return try await changes(r, user: user, policy: policy)
        case "runbooks.list":
            return try JSONValue.encoding(policy.runbooks.values.sorted { $0.name < $1.name }.map { RunbookView($0) })
        case "runbooks.show":
            if let id = r.optionalString("incident") {
                guard let incident = try await store.incident(id: id) else { throw ControlFailure.notFound("no incident \(id)") }
                let workflow = await service.workflow
                guard let runbook = workflow.runbook(for: incident) else {
                    throw ControlFailure("\(id) has no runbook" + (incident.runbook.map { " loaded (it names \"\($0)\")" } ?? ""))
                }
                let progress = RunbookProgress(runbook: runbook, timeline: try await store.timeline(incidentID: id))
                return try JSONValue.encoding(RunbookView(runbook, incident: id, progress: progress))
            }
            let name = try r.string("name")
            guard let runbook = policy.runbooks[name] else {
                throw ControlFailure.notFound("no runbook \"\(name)\" (known: \(policy.runbooks.keys.sorted().joined(separator: ", ")))")
            }
            return try JSONValue.encoding(RunbookView(runbook))
        case "runbooks.step":
            guard let step = r.args["step"]?.doubleValue, let n = Int(exactly: step) else {
                throw ControlFailure("step: expected a step number")
            }
            let id = try r.string("id")
            let incident = try await service.runbookStep(id, step: n, done: r.args["done"]?.boolValue ?? true,
                                                        note: r.optionalString("note"),
                                                        actor: try actor(r, user: user, policy: policy))
            let workflow = await service.workflow
            guard let runbook = workflow.runbook(for: incident) else { return try view(incident, policy: policy) }
            let progress = RunbookProgress(runbook: runbook, timeline: try await store.timeline(incidentID: id))
            return try JSONValue.encoding(RunbookView(runbook, incident: id, progress: progress))
        default:
            throw ControlFailure("unknown incident command \"\(r.command)\"")
        }
    }

    private func view(_ incident: Incident, policy: IncidentPolicy) throws -> JSONValue {
        try JSONValue.encoding(IncidentView(incident, policy: policy, now: clock.now()))
    }

    /// The name timeline entries carry: the local user, or `alice via root` when acting for a roster person.
    func actor(_ r: ControlRequest, user: ControlCaller, policy: IncidentPolicy) throws(ControlFailure) -> String {
        guard let person = r.optionalString("as") else { return user.actor }
        guard case .local(let account) = user else {
            throw ControlFailure("as: not accepted over HTTP; changes are recorded under the API token's person (\(user.actor))")
        }
        guard policy.roster.people.contains(where: { $0.id == person }) else {
            throw ControlFailure("--as \(person): not a person in the roster (known: "
                + policy.roster.people.map(\.id).joined(separator: ", ") + ")")
        }
        return person == account ? account : "\(person) via \(account)"
    }

    private func strings(_ r: ControlRequest, _ key: String) -> [String] {
        r.args[key]?.arrayValue?.compactMap(\.stringValue) ?? []
    }

    private func declaration(_ r: ControlRequest) throws(ControlFailure) -> ClassificationInput {
        func scale<T>(_ key: String, _ parse: (String) -> T?, _ known: String) throws(ControlFailure) -> T? {
            guard let text = r.optionalString(key) else { return nil }
            guard let v = parse(text) else { throw ControlFailure("\(key) \"\(text)\" is not one of \(known)") }
            return v
        }
        return ClassificationInput(
            title: try r.string("title"), summary: r.optionalString("summary") ?? "",
            severity: r.optionalString("severity"), incidentType: r.optionalString("type"),
            impact: try scale("impact", UserImpact.init(text:), "none, minor, major, critical"),
            userScope: try scale("user_scope", UserScope.init(text:), "none, individual, group, all"),
            serviceImpact: try scale("service_impact", ServiceImpact.init(text:),
                                     "none, degraded, partial outage, complete outage"),
            components: strings(r, "components"), security: r.args["security"]?.boolValue ?? false,
            dataIntegrity: r.args["data_integrity"]?.boolValue ?? false, strict: true)
    }

    func stateFilter(_ r: ControlRequest) throws(ControlFailure) -> Set<IncidentState>? {
        guard let names = r.args["states"]?.arrayValue?.compactMap(\.stringValue), !names.isEmpty else { return nil }
        var s = Set<IncidentState>()
        for n in names {
            if n == "open" { s.formUnion(IncidentState.allCases.filter(\.isOpen)); continue }
            guard let st = IncidentState(rawValue: n) else {
                throw ControlFailure("unknown state \"\(n)\"; known: open, "
                    + IncidentState.allCases.map(\.rawValue).joined(separator: ", "))
            }
            s.insert(st)
        }
        return s
    }
}

extension IncidentServiceError {
    /// How the control protocol (and so HTTP) reports it.
    var failureKind: ControlFailure.Kind {
        switch self {
        case .notFound: .notFound
        case .storage: .unavailable
        case .refused(let e):
            switch e {
            case .illegalTransition, .notOpen, .alreadyAcknowledged, .topOfEscalationPath: .conflict
            default: .invalid
            }
        }
    }
}

extension OnCallOverrideChangeError {
    /// How the control protocol (and so HTTP) reports it.
    var failureKind: ControlFailure.Kind {
        switch self {
        case .invalid: .invalid
        case .notFound: .notFound
        case .alreadyRemoved, .alreadyEnded, .tooMany: .conflict
        }
    }
}

/// `vigil oncall --at`: `now`, an RFC 3339 time, or an offset from now (`+2 hours`, `-30 minutes`, `in 3 days`).
enum OnCallTime {
    /// `argument` is how refusals name the input (`--at`, `from`).
    static func parse(_ text: String?, now: Timestamp, argument: String = "--at") throws(ControlFailure) -> Timestamp {
        guard let raw = text?.trimmingWhitespace(), !raw.isEmpty, raw != "now" else { return now }
        if let t = RFC3339.parse(raw) { return t }
        var body = Substring(raw)
        var sign: Int64 = 1
        if body.hasPrefix("in ") { body = body.dropFirst(3) }
        else if body.hasPrefix("+") { body = body.dropFirst() }
        else if body.hasPrefix("-") { body = body.dropFirst(); sign = -1 }
        guard body.count < raw.count, let d = DurationText.parse(String(body)) else {
            throw ControlFailure("\(argument) \"\(raw)\": expected now, an RFC 3339 time (2026-03-02T09:00:00Z) "
                + "or an offset like +2 hours, -30 minutes, in 3 days")
        }
        // An offset of centuries would wrap around; it is refused instead.
        let (t, overflow) = now.nanoseconds.addingReportingOverflow(sign * d.nanoseconds)
        guard !overflow else { throw ControlFailure("\(argument) \"\(raw)\": too far from now") }
        return Timestamp(nanoseconds: t)
    }
}
