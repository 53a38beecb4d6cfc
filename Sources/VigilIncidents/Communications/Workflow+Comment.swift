import VigilCore

extension IncidentWorkflow {
    /// Adds a comment to the timeline. A status update (`statusUpdate`) is also sent to everyone
    /// holding a role, rendered with the Incident Communication Template, put on the status page
    /// for user-impacting incidents, and restarts the status-update cadence.
    public func comment(_ incident: Incident, timeline: [TimelineEntry], text: String, actor: String,
                        statusUpdate: Bool = false, eta: String? = nil) throws(WorkflowError) -> IncidentChange {
        let text = text.trimmingWhitespace()
        guard !text.isEmpty else { throw .invalidArgument(field: "text", reason: "the comment is empty") }
        let now = clock.now()
        var change = IncidentChange(incident: incident)
        change.incident.updatedAt = now
        guard statusUpdate else {
            change.record(.comment, at: now, by: actor, text)
            return change
        }
        guard incident.state.isOpen else {
            throw .notOpen(id: incident.id, state: incident.state, action: "post a status update for")
        }
        if let cadence = level(of: incident.severity)?.statusUpdateInterval, !incident.backlog {
            change.incident.nextStatusUpdateAt = now + cadence
        }
        var data = ["public": "true"]
        if let eta { data["eta"] = eta }
        change.record(.statusUpdate, at: now, by: actor, text, data)
        let body = renderIncidentCommunication(change.incident, timeline: timeline + change.timeline, message: text,
                                               eta: eta)
        let composer = NotificationComposer(policy: policy)
        composer.notifyRoleHolders(of: change.incident, purpose: .stakeholderUpdate,
                                   subject: composer.subject(change.incident, "status update"), body: body,
                                   into: &change, at: now)
        publishStatus(PublicStatus(incident.state), message: text, to: &change, at: now, actor: actor)
        return change
    }
}
