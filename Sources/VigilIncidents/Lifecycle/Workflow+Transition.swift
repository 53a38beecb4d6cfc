import VigilCore

extension IncidentWorkflow {
    /// Moves an incident one step along the lifecycle, recording who, when and why.
    ///
    /// `validating → investigating` is the seed's "System Fully Restored? No" branch: it also
    /// escalates one level ("Escalate and Additional Remediation"). Resolution goes through
    /// ``resolve(_:timeline:request:actor:)`` because it needs verification details.
    public func transition(_ incident: Incident, timeline: [TimelineEntry], to target: IncidentState,
                           reason: String, actor: String) throws(WorkflowError) -> IncidentChange {
        let reason = reason.trimmingWhitespace()
        guard !reason.isEmpty else { throw .invalidArgument(field: "reason", reason: "say why the state changes") }
        do {
            try LifecycleFlow.check(incident.id, from: incident.state, to: target,
                                    postMortemRequired: postMortemRequired(incident.severity))
        } catch { throw .illegalTransition(error) }
        if target == .resolved {
            throw .invalidArgument(field: "state", reason: "resolve with `vigil incidents resolve \(incident.id) "
                + "--verification ... --summary ...` so the verification is recorded")
        }
        let now = clock.now()
        var change = IncidentChange(incident: incident)
        let from = incident.state
        change.incident.state = target
        change.incident.updatedAt = now
        change.record(.transition, at: now, by: actor, "\(from) → \(target): \(reason)",
                      ["from": from.rawValue, "to": target.rawValue, "reason": reason])
        switch target {
        case .closed:
            change.incident.closedAt = now
            change.incident.nextStatusUpdateAt = nil
        case .investigating where from == .validating:
            let escalated = applyNextEscalation(to: &change, history: timeline,
                                                reason: "validation failed, not fully restored: \(reason)",
                                                actor: actor, transferCommand: false, at: now, due: nil)
            if !escalated {
                change.record(.escalated, at: now, by: actor,
                              "Validation failed but the escalation path is already exhausted; the current team continues",
                              ["reason": reason])
            }
        case .detected, .classified, .mobilised, .containing, .contained, .investigating, .remediating,
             .recovering, .validating, .resolved, .postMortem:
            break
        }
        notePublicStatusChange(from: incident, to: &change, at: now, actor: actor)
        return change
    }

    /// Brings a resolved or closed incident back to `investigating` (seed 000: not truly resolved).
    public func reopen(_ incident: Incident, timeline: [TimelineEntry], reason: String,
                       actor: String) throws(WorkflowError) -> IncidentChange {
        let reason = reason.trimmingWhitespace()
        guard !reason.isEmpty else { throw .invalidArgument(field: "reason", reason: "say why it is reopened") }
        guard LifecycleFlow.reopenable.contains(incident.state) else {
            throw .illegalTransition(LifecycleError(
                incidentID: incident.id, from: incident.state, to: .investigating,
                allowed: LifecycleFlow.next(from: incident.state, postMortemRequired: postMortemRequired(incident.severity)),
                hint: "only resolved, post-mortem or closed incidents can be reopened"))
        }
        let now = clock.now()
        var change = IncidentChange(incident: incident)
        reopenInPlace(&change, reason: reason, actor: actor, history: timeline, at: now)
        let composer = NotificationComposer(policy: policy)
        let brief = KnowledgeTransfer(policy: policy).brief(for: change.incident, timeline: timeline + change.timeline,
                                                            headline: "Reopened by \(actor): \(reason).", now: now)
        composer.notifyRoleHolders(of: change.incident, purpose: .page, subject: composer.subject(change.incident, "reopened"),
                                   body: brief, into: &change, at: now)
        return change
    }

    func reopenInPlace(_ change: inout IncidentChange, reason: String, actor: String, history: [TimelineEntry],
                       at now: Timestamp) {
        let before = change.incident
        change.incident.state = .investigating
        change.incident.resolvedAt = nil
        change.incident.closedAt = nil
        change.incident.resolution = nil
        change.incident.updatedAt = now
        if let cadence = level(of: before.severity)?.statusUpdateInterval, !before.backlog {
            change.incident.nextStatusUpdateAt = now + cadence
        }
        change.record(.reopened, at: now, by: actor, "Reopened (\(before.state) → investigating): \(reason)",
                      ["from": before.state.rawValue, "to": IncidentState.investigating.rawValue, "reason": reason])
        notePublicStatusChange(from: before, to: &change, at: now, actor: actor)
        mirror(.reopened, into: &change, history: history, at: now)
    }

    /// Top two severities (or the configured ones) need a post-mortem before closing.
    public func postMortemRequired(_ severity: Severity) -> Bool {
        if let codes = policy.handling.postMortemSeverities { return codes.contains(severity.code) }
        return severity.rank < 2
    }
}
