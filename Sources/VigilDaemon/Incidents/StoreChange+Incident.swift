import VigilCore
import VigilIncidents
import VigilStore

extension StoreChange {
    /// The rows an incident decision writes: the incident, its timeline, pending notifications
    /// (the durable outbox), evidence and action items, all stored in one transaction.
    init(_ change: IncidentChange) {
        let id = change.incident.id
        let time = change.incident.updatedAt
        self.init(
            incident: change.incident, timeline: change.timeline,
            notifications: change.notifications.map {
                NotificationRecord(incidentID: id, createdAt: time, channel: $0.channel, recipients: $0.recipients,
                                   people: $0.people, subject: $0.subject, body: $0.body, purpose: $0.purpose.rawValue,
                                   person: $0.person, fallbacks: $0.fallbacks)
            },
            evidence: change.evidence.map {
                EvidenceRecord(incidentID: id, time: time, source: $0.source, kind: $0.kind, content: $0.content)
            },
            actionItems: change.followUps.map {
                ActionItemRecord(incidentID: id, kind: $0.kind, title: $0.title, owner: $0.owner, dueAt: $0.dueAt,
                                 createdAt: time)
            })
    }
}
