import VigilCore

/// Addresses people on the channel that fits the message (seed 000 "Communication Protocols":
/// responders are paged, stakeholders get email) and records each notification in the timeline
/// as a pending delivery.
struct NotificationComposer {
    /// Pages go to the most immediate contact a person has.
    static let pagingOrder = ["pager", "sms", "phone", "slack", "webhook", "email"]
    /// Updates for stakeholders go to email first.
    static let stakeholderOrder = ["email", "slack", "webhook", "pager", "sms", "phone"]

    let policy: IncidentPolicy

    /// The channel and address to reach `person` on, following `order`, then any contact they have.
    static func contact(for person: Person, order: [String]) -> (channel: String, address: String)? {
        for channel in order { if let a = person.contacts[channel] { return (channel, a) } }
        return person.contacts.sorted { $0.key < $1.key }.first.map { ($0.key, $0.value) }
    }

    static func order(for purpose: OutgoingNotification.Purpose) -> [String] {
        switch purpose {
        case .page, .escalation, .assignment, .channel: pagingOrder
        case .statusReminder, .stakeholderUpdate, .resolution, .backlog: stakeholderOrder
        }
    }

    /// Notifies `person` and records it (or records why they cannot be reached).
    func notify(_ person: Person, purpose: OutgoingNotification.Purpose, subject: String, body: String,
                into change: inout IncidentChange, at time: Timestamp) {
        guard let (channel, address) = Self.contact(for: person, order: Self.order(for: purpose)) else {
            change.record(.notification, at: time, by: IncidentWorkflow.systemActor,
                          "Cannot notify \(person.id) (\(person.name)): no contact configured",
                          ["purpose": purpose.rawValue, "person": person.id, "delivery": "impossible"])
            return
        }
        change.notifications.append(OutgoingNotification(purpose: purpose, channel: channel, recipients: [address],
                                                         people: [person.id], subject: subject, body: body))
        change.record(.notification, at: time, by: IncidentWorkflow.systemActor,
                      "\(Self.verb(purpose)) \(person.id) (\(person.name)) by \(channel) \(address): \(subject) — delivery pending",
                      ["purpose": purpose.rawValue, "person": person.id, "channel": channel, "recipient": address,
                       "delivery": "pending"])
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
        }
    }
}
