import VigilCore

/// Addresses people on the channel that fits the message (seed 000 "Communication Protocols":
/// responders are paged, stakeholders get email) and records each notification in the timeline
/// as a pending delivery. A person's other contact methods ride along with the notification, in
/// the order they are tried should it fail (the outbox queues the next one).
struct NotificationComposer {
    /// Pages go to the most immediate contact a person has.
    static let pagingOrder = ["pager", "sms", "phone", "slack", "webhook", "email"]
    /// Updates for stakeholders go to email first.
    static let stakeholderOrder = ["email", "slack", "webhook", "pager", "sms", "phone"]

    let policy: IncidentPolicy

    /// The group a purpose is configured by in a `contact_order` (besides its own name).
    static func group(_ purpose: OutgoingNotification.Purpose) -> String {
        switch purpose {
        case .page, .escalation, .assignment, .channel, .disasterRecovery: "paging"
        case .statusReminder, .stakeholderUpdate, .resolution, .backlog, .update, .actionItem: "updates"
        }
    }

    static func builtInOrder(for purpose: OutgoingNotification.Purpose) -> [String] {
        group(purpose) == "paging" ? pagingOrder : stakeholderOrder
    }

    /// Every way to reach `person` for `purpose`, in the order they are tried: their own
    /// `contact_order`, else `notifications.contact_order`, else the built-in order for the
    /// purpose; contacts the order does not name come last, by channel name.
    func methods(for person: Person, purpose: OutgoingNotification.Purpose) -> [ContactMethod] {
        let group = Self.group(purpose)
        let order = person.contactOrder?.order(purpose: purpose.rawValue, group: group)
            ?? policy.notifications.contactOrder.order(purpose: purpose.rawValue, group: group)
            ?? Self.builtInOrder(for: purpose)
        var seen = Set<String>()
        var out: [ContactMethod] = []
        for channel in order + person.contacts.keys.sorted() where seen.insert(channel).inserted {
            if let address = person.contacts[channel] { out.append(ContactMethod(channel: channel, address: address)) }
        }
        return out
    }

    /// Notifies `person` on their first method (the others ride along as fallbacks) and records
    /// it, or records why they cannot be reached.
    func notify(_ person: Person, purpose: OutgoingNotification.Purpose, subject: String, body: String,
                into change: inout IncidentChange, at time: Timestamp) {
        let methods = methods(for: person, purpose: purpose)
        guard let first = methods.first else {
            change.record(.notification, at: time, by: IncidentWorkflow.systemActor,
                          "Cannot notify \(person.id) (\(person.name)): no contact configured",
                          ["purpose": purpose.rawValue, "person": person.id, "delivery": "impossible"])
            return
        }
        let fallbacks = Array(methods.dropFirst())
        change.notifications.append(OutgoingNotification(purpose: purpose, channel: first.channel, recipients: [first.address],
                                                         people: [person.id], subject: subject, body: body,
                                                         person: person.id, fallbacks: fallbacks))
        var data = ["purpose": purpose.rawValue, "person": person.id, "channel": first.channel, "recipient": first.address,
                    "delivery": "pending"]
        var message = "\(Self.verb(purpose)) \(person.id) (\(person.name)) by \(first.channel) \(first.address): \(subject) — delivery pending"
        if !fallbacks.isEmpty {
            data["fallbacks"] = fallbacks.map(\.channel).joined(separator: ",")
            message += "; if it fails, " + fallbacks.map(\.channel).joined(separator: " then ")
        }
        change.record(.notification, at: time, by: IncidentWorkflow.systemActor, message, data)
    }

    /// Notifies every person holding a role on the incident, once each.
    func notifyRoleHolders(of incident: Incident, purpose: OutgoingNotification.Purpose, subject: String,
                           body: String, into change: inout IncidentChange, at time: Timestamp) {
        let schedule = OnCallSchedule(roster: policy.roster)
        var seen = Set<String>()
        for id in incident.roles.sorted(by: { $0.key < $1.key }).map(\.value) where seen.insert(id).inserted {
            if let p = schedule.person(id) {
                notify(p, purpose: purpose, subject: subject, body: body, into: &change, at: time)
            }
        }
    }

    /// `[P1 Critical] INC-2026-0001: title — what`.
    func subject(_ incident: Incident, _ what: String) -> String {
        let name = policy.ladder.level(of: incident.severity)?.name
        return "[\(incident.severity.code)\(name.map { " \($0)" } ?? "")] \(incident.id): \(incident.title) — \(what)"
    }

    static func verb(_ purpose: OutgoingNotification.Purpose) -> String {
        switch purpose {
        case .page: "Page"
        case .escalation: "Escalation page to"
        case .assignment: "Assignment notice to"
        case .channel: "Channel"
        case .statusReminder: "Status-update reminder to"
        case .stakeholderUpdate: "Status update to"
        case .resolution: "Resolution notice to"
        case .backlog: "Backlog notice to"
        case .update: "Update to"
        case .actionItem: "Action-item reminder to"
        case .disasterRecovery: "Disaster-recovery notice to"
        }
    }
}
