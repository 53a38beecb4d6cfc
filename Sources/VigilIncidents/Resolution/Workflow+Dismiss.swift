import VigilCore

extension IncidentWorkflow {
    /// Closes an open incident as a false positive — it was not an incident — recording why
    /// (``IncidentResolution/falsePositive``). Its clocks stop (no escalation, SLA or status
    /// update is due for a closed incident), the people holding its roles are told to stand down,
    /// and no post-mortem is asked for. It never counts as resolved: response metrics leave it
    /// out of time to resolve and count it as a false positive, with the rule and sender that
    /// raised it. `reopen` brings it back if it was real after all.
    public func dismiss(_ incident: Incident, timeline: [TimelineEntry], reason: String,
                        actor: String) throws(WorkflowError) -> IncidentChange {
        let reason = reason.trimmingWhitespace()
        guard !reason.isEmpty else {
            throw .invalidArgument(field: "reason", reason: "say why it is not an incident")
        }
        guard LifecycleFlow.beforeValidation.contains(incident.state) || incident.state == .validating else {
            throw .illegalTransition(LifecycleError(
                incidentID: incident.id, from: incident.state, to: .closed,
                allowed: LifecycleFlow.next(from: incident.state, postMortemRequired: postMortemRequired(incident.severity)),
                hint: "only an open incident can be dismissed as a false positive; reopen it first"))
        }
        let now = clock.now()
        var change = IncidentChange(incident: incident)
        let from = incident.state
        change.incident.state = .closed
        change.incident.closedAt = now
        change.incident.updatedAt = now
        change.incident.nextStatusUpdateAt = nil
        change.incident.resolution = IncidentResolution(
            verification: "not an incident", summary: "Closed as a false positive: \(reason)", resolvedBy: actor,
            falsePositive: reason)
        change.record(.transition, at: now, by: actor, "\(from) → closed: false positive: \(reason)",
                      ["from": from.rawValue, "to": IncidentState.closed.rawValue, "reason": reason,
                       "false_positive": "true"])
        let composer = NotificationComposer(policy: policy)
        composer.notifyRoleHolders(of: change.incident, purpose: .resolution,
                                   subject: composer.subject(change.incident, "closed as a false positive"),
                                   body: "\(incident.id) was closed by \(actor) as a false positive: \(reason)\n"
                                       + "No further action is needed; it can be reopened if it was real after all.",
                                   into: &change, at: now)
        notePublicStatusChange(from: incident, to: &change, at: now, actor: actor)
        // A mirror (PagerDuty, an audit webhook) that heard the incident open must hear it end.
        mirror(.resolved, into: &change, history: timeline, at: now)
        return change
    }
}
