import VigilControl
import VigilCore
import VigilHTTP
import VigilStore

/// Acts on the signed callbacks of Slack and PagerDuty (`CallbacksController`): finds who acted
/// in the roster, then runs `incidents.ack` or `incidents.resolve` through the one command
/// executor — the path of the CLI and the API — so the timeline reads
/// `Acknowledged by alice (via Slack) …`.
///
/// Who may act:
/// - **Slack**: only the roster person whose `contacts.slack` is the presser's Slack member id
///   (`U…`). Anyone else is refused and nothing is done: a Slack workspace holds more people than
///   the roster, and a button in a shared channel must not let them acknowledge.
/// - **PagerDuty**: the person whose `contacts.pagerduty` is the acting PagerDuty user's id
///   (`P…`), and otherwise `pagerduty` (another user, an integration, an automation): the webhook
///   secret vouches for PagerDuty, and PagerDuty's own permissions decided who could act there —
///   and only on an incident Vigil sent to PagerDuty (a `pagerduty` notification delivered), since
///   anyone with an Events API key can open an alert there under any incident id.
///
/// Idempotent: acknowledging an acknowledged incident, or resolving a resolved one, does nothing
/// and says so (PagerDuty echoes back what Vigil's PagerDuty notifier mirrored to it). A resolve
/// the lifecycle refuses (resolved is reached from `validating`) changes nothing but a comment
/// on the timeline saying who asked and why it was not done, since neither service shows the
/// refusal to the person.
struct CallbackActions: Sendable {
    let commands: ControlCommands
    let store: Store

    func handle(_ r: CallbackRequest) async -> CallbackOutcome {
        let roster = await commands.configuration.policy.roster
        let actor: String
        switch r.service {
        case .slack:
            let people = Self.people(roster, contact: "slack", id: r.userID)
            guard people.count == 1, let person = people.first else {
                let who = "Slack user \(r.userID ?? "(unnamed)")" + (r.userName.map { " (\($0))" } ?? "")
                return CallbackOutcome(.unknownUser, people.isEmpty
                    ? "\(who) is not anyone in Vigil's roster (contacts.slack); nothing was done"
                    : "\(who) is contacts.slack of several people (\(people.map(\.id).joined(separator: ", "))); nothing was done")
            }
            actor = "\(person.id) (via Slack)"
        case .pagerDuty:
            let people = Self.people(roster, contact: "pagerduty", id: r.userID)
            actor = people.count == 1 ? "\(people[0].id) (via PagerDuty)" : "pagerduty"
        }
        let incident: Incident?
        do { incident = try await store.incident(id: r.incidentID) } catch {
            return CallbackOutcome(.unavailable, "the incident cannot be read right now; try again", actor: actor)
        }
        guard let incident else {
            return CallbackOutcome(.unknownIncident, "no incident \(r.incidentID) in Vigil; nothing was done", actor: actor)
        }
        if r.service == .pagerDuty {
            // Anyone with an Events API key can open a PagerDuty alert under any dedup key: only an
            // incident Vigil itself sent to PagerDuty may be acted on from there.
            let sent: Bool
            do { sent = try await store.notifications(incidentID: incident.id).contains { $0.channel == "pagerduty" && $0.state == "sent" } } catch {
                return CallbackOutcome(.unavailable, "the incident's notifications cannot be read right now; try again", actor: actor)
            }
            guard sent else {
                return CallbackOutcome(.refused, "Vigil never sent \(incident.id) to PagerDuty; nothing was done", actor: actor)
            }
        }
        switch r.action {
        case .acknowledge:
            if let at = incident.acknowledgedAt {
                return CallbackOutcome(.already, "\(incident.id) is already acknowledged (at \(at.rfc3339))", actor: actor)
            }
            guard incident.state.isOpen else {
                return CallbackOutcome(.refused, "\(incident.id) is \(incident.state.rawValue); there is nothing to acknowledge", actor: actor)
            }
            var args: [String: JSONValue] = ["id": .string(incident.id)]
            if let note = Self.note(r) { args["note"] = .string(note) }
            return await run(ControlRequest(command: "incidents.ack", args: args), r, actor: actor, done: "acknowledged")
        case .resolve:
            guard incident.state.isOpen else {
                return CallbackOutcome(.already, "\(incident.id) is already \(incident.state.rawValue)", actor: actor)
            }
            let (summary, verification) = Self.resolution(r, actor: actor)
            let request = ControlRequest(command: "incidents.resolve", args: [
                "id": .string(incident.id), "summary": .string(summary), "verification": .string(verification),
            ])
            return await run(request, r, actor: actor, done: "resolved")
        }
    }

    /// Runs one command as `actor` and says what became of it.
    func run(_ request: ControlRequest, _ r: CallbackRequest, actor: String, done: String) async -> CallbackOutcome {
        let response = await commands.execute(request, caller: .callback(actor: actor), mayManageTokens: false)
        if response.ok { return CallbackOutcome(.done, "\(r.incidentID) \(done) by \(actor)", actor: actor) }
        let reason = response.error ?? "refused"
        switch response.errorKind.flatMap(ControlFailure.Kind.init(rawValue:)) {
        case .notFound?:
            return CallbackOutcome(.unknownIncident, "\(reason); nothing was done", actor: actor)
        case .unavailable?:
            return CallbackOutcome(.unavailable, reason, actor: actor)
        case .conflict? where r.action == .resolve:
            // The person gets no other word of it: the timeline says who asked and why it was not done.
            let comment = ControlRequest(command: "incidents.comment", args: [
                "id": .string(r.incidentID),
                "text": .string("\(r.service.rawValue): resolve requested by \(actor), not done: \(reason)"),
            ])
            _ = await commands.execute(comment, caller: .callback(actor: actor), mayManageTokens: false)
            return CallbackOutcome(.refused, "\(r.incidentID) was not resolved: \(reason)", actor: actor)
        case .conflict?, .invalid?, .forbidden?, nil:
            return CallbackOutcome(.refused, "\(r.incidentID) was not \(done): \(reason)", actor: actor)
        }
    }

    /// The roster people whose `contacts[contact]` is `id`.
    static func people(_ roster: Roster, contact: String, id: String?) -> [Person] {
        guard let id, !id.isEmpty else { return [] }
        return roster.people.filter { $0.contacts[contact]?.trimmingWhitespace() == id }
    }

    /// What PagerDuty said about who acted and where, for the timeline (Slack's actor says it all).
    static func note(_ r: CallbackRequest) -> String? {
        guard r.service == .pagerDuty else { return nil }
        var note = "in PagerDuty"
        if let name = r.userName { note += " by \(name)" + (r.userID.map { " (\($0))" } ?? "") }
        if let reference = r.reference { note += ", PagerDuty incident \(reference)" }
        return note
    }

    /// The resolution's summary and verification: a button press carries neither, so they say
    /// where the resolution came from and who vouched for it.
    static func resolution(_ r: CallbackRequest, actor: String) -> (summary: String, verification: String) {
        switch r.service {
        case .slack:
            ("resolved with the Resolve button in Slack", "confirmed resolved by \(actor)")
        case .pagerDuty:
            ("resolved in PagerDuty" + (r.reference.map { " (PagerDuty incident \($0))" } ?? ""),
             "PagerDuty reports it resolved" + (r.userName.map { " by \($0)" } ?? ""))
        }
    }
}
