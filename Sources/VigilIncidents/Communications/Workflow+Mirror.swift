import VigilCore

/// What happened to an incident that its mirror channels are told about.
public enum MirrorEvent: String, Sendable, Equatable, CaseIterable {
    case opened
    case acknowledged
    case resolved
    case reopened
}

extension IncidentWorkflow {
    /// Queues an `update` on every mirror channel (`notifications.mirrors`) that follows the
    /// incident: one whose `min_severity` the incident reaches, or that was told about it before
    /// (a downgraded incident's mirror still hears it resolved, so nothing is left open there).
    /// `history` is the stored timeline; this change's own entries are looked at too.
    func mirror(_ event: MirrorEvent, into change: inout IncidentChange, history: [TimelineEntry], at now: Timestamp) {
        guard !policy.notifications.mirrors.isEmpty else { return }
        let composer = NotificationComposer(policy: policy)
        let incident = change.incident
        for m in policy.notifications.mirrors {
            let told = (history + change.timeline).contains { $0.data["mirror"] == m.channel && $0.data["recipient"] == m.recipient }
            guard told || follows(m, incident) else { continue }
            let subject = composer.subject(incident, event.rawValue)
            let body = "\(incident.id) \(event.rawValue): \(incident.title) (\(label(incident.severity)), state \(incident.state.rawValue))."
            change.notifications.append(OutgoingNotification(purpose: .update, channel: m.channel, recipients: [m.recipient],
                                                             people: [], subject: subject, body: body))
            change.record(.notification, at: now, by: Self.systemActor,
                          "Update to \(m.channel) \(m.recipient): \(event.rawValue) — delivery pending",
                          ["purpose": OutgoingNotification.Purpose.update.rawValue, "channel": m.channel,
                           "recipient": m.recipient, "mirror": m.channel, "event": event.rawValue, "delivery": "pending"])
        }
    }

    /// Whether the incident is at least as severe as the mirror's `min_severity` (a code of the
    /// active ladder; one no longer on it lets every incident through rather than none).
    func follows(_ mirror: NotificationMirror, _ incident: Incident) -> Bool {
        guard let code = mirror.minSeverity, let least = ladder.severity(named: code) else { return true }
        let rank = ladder.level(of: incident.severity).flatMap { ladder.levels.firstIndex(of: $0) } ?? incident.severity.rank
        return rank <= least.rank
    }
}
