import VigilCore

extension IncidentWorkflow {
    /// Escalates by hand (seed 000 `escalate_incident`): the next level of the incident's
    /// escalation path is notified with the incident's context and timeline summary.
    /// `transferCommand` hands the incident commander role to the person reached.
    public func escalate(_ incident: Incident, timeline: [TimelineEntry], reason: String, actor: String,
                         transferCommand: Bool = false) throws(WorkflowError) -> IncidentChange {
        guard incident.state.isOpen else { throw .notOpen(id: incident.id, state: incident.state, action: "escalate") }
        let reason = reason.trimmingWhitespace()
        guard !reason.isEmpty else { throw .invalidArgument(field: "reason", reason: "say why you escalate") }
        let plan = EscalationPlan(policy: policy, incident: incident)
        guard plan.step(level: incident.escalationLevel + 1) != nil else {
            throw .topOfEscalationPath(id: incident.id, path: plan.describe(policy: policy))
        }
        var change = IncidentChange(incident: incident)
        applyNextEscalation(to: &change, history: timeline, reason: reason, actor: actor,
                            transferCommand: transferCommand, at: clock.now(), due: nil)
        return change
    }

    /// Takes the next step of the escalation path; returns false when the path is exhausted.
    ///
    /// `due` is the time an automatic step was due: the next level is timed from it rather than
    /// from when the daemon got round to it, so a late tick (or a restart) does not shift the
    /// schedule.
    @discardableResult
    func applyNextEscalation(to change: inout IncidentChange, history: [TimelineEntry], reason: String,
                             actor: String, transferCommand: Bool, at now: Timestamp, due: Timestamp?) -> Bool {
        let plan = EscalationPlan(policy: policy, incident: change.incident)
        let level = change.incident.escalationLevel + 1
        guard let step = plan.step(level: level) else { return false }
        change.incident.escalationLevel = level
        change.incident.escalatedAt = due ?? now
        change.incident.updatedAt = now
        let path = plan.describe(policy: policy)
        var data = ["level": "\(level)", "path": path, "reason": reason, "step": step.description]
        if let due { data["due"] = due.rfc3339 }
        let composer = NotificationComposer(policy: policy)
        switch step {
        case .role(let role):
            let roleName = RoleNames.display(role, policy: policy)
            let component = change.incident.classification?.affectedComponents.first
            guard let shift = schedule.shift(role: role, component: component, at: now) else {
                change.record(.escalated, at: now, by: actor,
                              "Escalated to level \(level) (\(roleName)) but nobody is on call for \(role); "
                                  + "the next level follows — \(reason)", data)
                return true
            }
            let person = shift.person
            change.incident.roles[role] = person.id
            data["person"] = person.id
            change.record(.escalated, at: now, by: actor,
                          "Escalated to level \(level) of \(plan.steps.count): \(roleName) \(person.id) (\(person.name)) — \(reason)",
                          data)
            var headline = "Escalated to you as \(roleName) (level \(level) of \(plan.steps.count), path \(path)) because: \(reason)."
            if transferCommand {
                let previous = change.incident.roles["incident_commander"]
                if previous != person.id {
                    change.incident.roles["incident_commander"] = person.id
                    change.record(.assigned, at: now, by: actor,
                                  "Incident commander transferred from \(previous ?? "nobody") to \(person.id) (\(person.name)) with the escalation",
                                  ["role": "incident_commander", "person": person.id, "previous": previous ?? ""])
                    headline += " You are now the incident commander."
                }
            }
            let brief = KnowledgeTransfer(policy: policy)
                .brief(for: change.incident, timeline: history + change.timeline, headline: headline, now: now)
            composer.notify(person, purpose: .escalation,
                            subject: composer.subject(change.incident, "escalated to you (\(roleName))"),
                            body: brief, into: &change, at: now)
        case .assignToTeam:
            change.record(.escalated, at: now, by: actor,
                          "Escalation path says Assign to Team: the owning team works it; no further escalation — \(reason)",
                          data)
            if let id = change.incident.roles["technical_lead"] ?? change.incident.roles["incident_commander"],
               let person = schedule.person(id) {
                let brief = KnowledgeTransfer(policy: policy).brief(
                    for: change.incident, timeline: history + change.timeline,
                    headline: "Assigned to your team (escalation path \(path)) because: \(reason).", now: now)
                composer.notify(person, purpose: .assignment,
                                subject: composer.subject(change.incident, "assigned to your team"), body: brief,
                                into: &change, at: now)
            }
        case .backlog:
            moveToBacklog(&change, path: path, reason: reason, actor: actor, at: now)
        }
        return true
    }

    /// "Add to Backlog": tracked as backlog work, nobody paged, no status-update cadence.
    func moveToBacklog(_ change: inout IncidentChange, path: String, reason: String, actor: String, at now: Timestamp) {
        guard !change.incident.backlog else { return }
        change.incident.backlog = true
        change.incident.nextStatusUpdateAt = nil
        change.record(.escalated, at: now, by: actor,
                      "Added to backlog (escalation path \(RoleNames.display(change.incident.responderRole, policy: policy)) × "
                          + "\(label(change.incident.severity)): \(path)); nobody is paged — \(reason)",
                      ["step": "add to backlog", "path": path, "reason": reason])
        let owner = change.incident.roles["incident_commander"]
        change.followUps.append(FollowUpItem(kind: "backlog", title: "\(change.incident.id): \(change.incident.title)",
                                             owner: owner))
        change.record(.followUp, at: now, by: actor, "Backlog item created" + (owner.map { " for \($0)" } ?? ""),
                      ["kind": "backlog"])
    }
}
