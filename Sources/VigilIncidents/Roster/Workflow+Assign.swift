import VigilCore

extension IncidentWorkflow {
    /// Every role a person can hold on an incident: the configured incident roles, roles that
    /// rotations staff, the escalation-path roles, and `specialist:<component>`.
    public var assignableRoles: [String] {
        var out = policy.roles.map(\.id)
        for r in schedule.roles where !out.contains(r) { out.append(r) }
        for row in policy.escalation.chains.values {
            for chain in row.values {
                for case .role(let r) in chain where !out.contains(r) { out.append(r) }
            }
        }
        return out
    }

    /// Gives `role` to `personID` (assigning the incident commander role is the commander transfer
    /// of seed 000 `escalate_incident` step 6). The new holder is briefed with the incident's
    /// context and timeline.
    public func assign(_ incident: Incident, timeline: [TimelineEntry], role: String, personID: String,
                       reason: String?, actor: String) throws(WorkflowError) -> IncidentChange {
        guard incident.state.isOpen else { throw .notOpen(id: incident.id, state: incident.state, action: "assign") }
        let role = role.trimmingWhitespace()
        guard assignableRoles.contains(role) || (role.hasPrefix("specialist:") && role.count > "specialist:".count) else {
            throw .unknownRole(found: role, known: assignableRoles + ["specialist:<component>"])
        }
        guard let person = schedule.person(personID) else {
            throw .unknownPerson(found: personID, known: policy.roster.people.map(\.id))
        }
        let previous = incident.roles[role]
        guard previous != person.id else {
            throw .invalidArgument(field: "person", reason: "\(person.id) already holds \(role) on \(incident.id)")
        }
        let now = clock.now()
        var change = IncidentChange(incident: incident)
        change.incident.roles[role] = person.id
        change.incident.updatedAt = now
        let roleName = RoleNames.display(role, policy: policy)
        let why = reason.map { $0.trimmingWhitespace() }.flatMap { $0.isEmpty ? nil : $0 }
        let verb = role == "incident_commander" && previous != nil ? "Incident commander transferred from \(previous ?? "")" : "\(roleName)"
        var message = role == "incident_commander" && previous != nil
            ? "\(verb) to \(person.id) (\(person.name))"
            : "\(person.id) (\(person.name)) is now \(roleName)" + (previous.map { " (was \($0))" } ?? "")
        if let why { message += ": \(why)" }
        change.record(.assigned, at: now, by: actor, message,
                      ["role": role, "person": person.id, "previous": previous ?? "", "reason": why ?? ""])
        let brief = KnowledgeTransfer(policy: policy).brief(
            for: change.incident, timeline: timeline + change.timeline,
            headline: "\(actor) made you \(roleName)" + (why.map { " because: \($0)" } ?? "") + ".", now: now)
        let composer = NotificationComposer(policy: policy)
        composer.notify(person, purpose: .assignment, subject: composer.subject(change.incident, "you are \(roleName)"),
                        body: brief, into: &change, at: now)
        return change
    }
}
