import VigilCore

extension IncidentWorkflow {
    /// Acknowledges an incident: the response clock stops (met or breached) and automatic
    /// escalation ends. `timeline` (the stored one) tells whether a mirror channel heard of it.
    public func acknowledge(_ incident: Incident, actor: String, note: String? = nil,
                            timeline: [TimelineEntry] = []) throws(WorkflowError) -> IncidentChange {
        guard incident.state.isOpen else { throw .notOpen(id: incident.id, state: incident.state, action: "acknowledge") }
        if let at = incident.acknowledgedAt { throw .alreadyAcknowledged(id: incident.id, at: at) }
        let now = clock.now()
        var change = IncidentChange(incident: incident)
        change.incident.acknowledgedAt = now
        change.incident.updatedAt = now
        let after = KnowledgeTransfer.span(now - incident.createdAt)
        var message = "Acknowledged by \(actor) \(after) after opening"
        var data = ["seconds_to_acknowledge": "\(Int((now - incident.createdAt).inSeconds))"]
        if let deadline = incident.responseDeadline {
            let met = now <= deadline
            data["sla"] = met ? "met" : "breached"
            message += met ? ", within the response SLA" : ", \(KnowledgeTransfer.span(now - deadline)) after the response deadline"
        }
        if incident.escalationLevel > 0 { message += "; automatic escalation stops at level \(incident.escalationLevel)" }
        if let note = note?.trimmingWhitespace(), !note.isEmpty {
            message += ": \(note)"
            data["note"] = note
        }
        change.record(.acknowledged, at: now, by: actor, message, data)
        mirror(.acknowledged, into: &change, history: timeline, at: now)
        return change
    }
}
