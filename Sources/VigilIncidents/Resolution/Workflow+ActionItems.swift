import VigilCore

/// An action item as its reminders need it.
public struct ActionItemNotice: Sendable, Equatable {
    public var id: Int64
    public var title: String
    public var owner: String?
    public var due: Timestamp
    public var state: String
    public var trackerURL: String?

    public init(id: Int64, title: String, owner: String?, due: Timestamp, state: String, trackerURL: String?) {
        self.id = id
        self.title = title
        self.owner = owner
        self.due = due
        self.state = state
        self.trackerURL = trackerURL
    }
}

extension IncidentWorkflow {
    /// Seed 004 Phase 5's follow-through: a reminder to an action item's owner before it is due,
    /// and when it is overdue the owner and the incident's commander told (an escalation), each
    /// once, with a line on the incident's timeline. An item without an owner reminds the
    /// commander alone.
    public func actionItemNotice(_ incident: Incident, item: ActionItemNotice, overdue: Bool,
                                 at now: Timestamp) -> IncidentChange {
        var change = IncidentChange(incident: incident)
        let composer = NotificationComposer(policy: policy)
        let schedule = OnCallSchedule(roster: policy.roster)
        let when = overdue ? "overdue since \(item.due.rfc3339)" : "due \(item.due.rfc3339)"
        let subject = "Action item #\(item.id) \(overdue ? "overdue" : "due soon"): \(item.title)"
        let body = """
            Action item #\(item.id) from \(incident.id) (\(incident.title)) is \(when).
            \(item.title)
            State: \(item.state)\(item.owner.map { ", owner \($0)" } ?? ", no owner")\(item.trackerURL.map { "\nTracker: \($0)" } ?? "")
            Update it with: vigil action-items update \(item.id) --state in-progress|done|dropped
            """
        var people: [String] = []
        if let owner = item.owner { people.append(owner) }
        if overdue || item.owner == nil, let commander = incident.roles["incident_commander"], !people.contains(commander) {
            people.append(commander)
        }
        for id in people {
            guard let person = schedule.person(id) else { continue }
            composer.notify(person, purpose: .actionItem, subject: subject, body: body, into: &change, at: now)
        }
        change.record(.followUp, at: now, by: Self.systemActor,
                      "Action item #\(item.id) \(when): " + (people.isEmpty ? "nobody to tell" : "told " + people.joined(separator: ", ")),
                      ["action_item": "\(item.id)", "reminder": overdue ? "overdue" : "due-soon"])
        return change
    }
}
