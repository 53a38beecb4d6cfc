import VigilCore

extension IncidentWorkflow {
    /// True when ``tick(_:timeline:)`` may change `incident` now: a response deadline passed
    /// unrecorded, an escalation level fell due, a status update is due, or the
    /// condition-cleared policy has something to do. Cheap (no timeline),
    /// so the daemon checks every open incident each tick and loads timelines only for these.
    public func isDue(_ incident: Incident) -> Bool {
        let now = clock.now()
        guard incident.state.isOpen else { return false }
        if incident.acknowledgedAt == nil, incident.slaBreachedAt == nil, let d = incident.responseDeadline, d <= now {
            return true
        }
        if let due = EscalationPlan(policy: policy, incident: incident)
            .dueTime(ofLevel: incident.escalationLevel + 1, for: incident), due <= now { return true }
        if let next = incident.nextStatusUpdateAt, next <= now, !incident.backlog { return true }
        return conditionClearedDue(incident, now: now)
    }

    /// Advances an incident's clocks to now: records a response-SLA breach, escalates every
    /// level that fell due (each timed from when the previous one was due, transferring command
    /// since the commander did not acknowledge), and sends a status-update reminder when one is
    /// due. Nil when nothing was due.
    public func tick(_ incident: Incident, timeline: [TimelineEntry]) -> IncidentChange? {
        guard isDue(incident) else { return nil }
        let now = clock.now()
        var change = IncidentChange(incident: incident)
        change.incident.updatedAt = now
        if incident.acknowledgedAt == nil, incident.slaBreachedAt == nil, let deadline = incident.responseDeadline,
           deadline <= now {
            change.incident.slaBreachedAt = deadline
            let response = level(of: incident.severity)?.responseTime.map(DurationText.format) ?? "its response time"
            change.record(.slaBreached, at: now, by: Self.systemActor,
                          "Response SLA breached: not acknowledged within \(response) (deadline \(deadline.rfc3339))",
                          ["deadline": deadline.rfc3339, "severity": incident.severity.code])
        }
        let plan = EscalationPlan(policy: policy, incident: incident)
        var steps = 0
        while steps <= plan.steps.count,
              let due = plan.dueTime(ofLevel: change.incident.escalationLevel + 1, for: change.incident), due <= now {
            let waited = KnowledgeTransfer.span(due - change.incident.createdAt)
            let reason = change.incident.escalationLevel == 0
                ? "response SLA breached: not acknowledged within \(waited)"
                : "still not acknowledged \(waited) after opening"
            applyNextEscalation(to: &change, history: timeline, reason: reason, actor: Self.systemActor,
                                transferCommand: true, at: now, due: due)
            steps += 1
        }
        if let next = change.incident.nextStatusUpdateAt, next <= now, !change.incident.backlog,
           let cadence = level(of: incident.severity)?.statusUpdateInterval, cadence.nanoseconds > 0 {
            remindStatusUpdate(&change, history: timeline, cadence: cadence, due: next, at: now)
        }
        applyConditionCleared(&change, history: timeline, at: now)
        return change.timeline.isEmpty && change.notifications.isEmpty ? nil : change
    }

    /// Reminds the communications lead (or the commander) that a status update is due, with a
    /// draft rendered from the Incident Communication Template, and schedules the next reminder.
    func remindStatusUpdate(_ change: inout IncidentChange, history: [TimelineEntry], cadence: Duration, due: Timestamp,
                            at now: Timestamp) {
        // Missed slots (the daemon was down) collapse into one reminder; the next is the first future slot.
        let missed = (now.nanoseconds - due.nanoseconds) / cadence.nanoseconds
        change.incident.nextStatusUpdateAt = due + .nanoseconds(cadence.nanoseconds * (missed + 1))
        let who = change.incident.roles["communications_lead"] ?? change.incident.roles["incident_commander"]
        let person = who.flatMap(schedule.person)
        change.record(.statusUpdate, at: now, by: Self.systemActor,
                      "Status update due (every \(DurationText.format(cadence))): reminder to "
                          + (person.map { "\($0.id) (\($0.name))" } ?? "nobody (no communications lead or commander)")
                          + "; next due \(change.incident.nextStatusUpdateAt?.rfc3339 ?? "-")",
                      ["due": due.rfc3339, "reminder": "true"])
        guard let person else { return }
        let draft = renderIncidentCommunication(change.incident, timeline: history + change.timeline)
        let composer = NotificationComposer(policy: policy)
        composer.notify(person, purpose: .statusReminder,
                        subject: composer.subject(change.incident, "status update due"),
                        body: "A status update is due. Publish it with `vigil incidents comment \(change.incident.id) "
                            + "--status-update \"...\"`. Draft:\n\n" + draft,
                        into: &change, at: now)
    }
}
