import VigilCore

extension IncidentWorkflow {
    /// Seed 000 `initiate_incident_response`: the record, the first timeline entries, the initial
    /// team with its commander, pages to them, the incident channel, the status page for
    /// user-impacting incidents, and the status-update cadence of the severity.
    func initiate(_ opening: IncidentOpening, id: String) -> IncidentChange {
        let o = opening.outcome
        let r = opening.request
        let now = opening.openedAt
        var incident = Incident(
            id: id, title: r.input.title, summary: r.input.summary, type: o.incidentType?.name, severity: o.severity,
            state: .classified, source: r.source, fingerprint: r.fingerprint, detectedAt: r.detectedAt,
            createdAt: now, responseDeadline: o.level.responseTime.map { now + $0 },
            containmentCategory: o.containmentCategory, runbook: o.runbook, classification: o.classification,
            labels: r.labels)
        incident.lastSeenAt = max(r.detectedAt, now)
        incident.responderRole = r.responder
        incident.channel = "#" + id.lowercased()
        var change = IncidentChange(incident: incident)
        change.record(r.firstKind, at: now, by: r.actor, r.firstMessage, ["source": r.source])
        change.record(.classified, at: now, by: Self.systemActor,
                      "Classified \(o.severity.code) (\(o.level.name))" + (o.incidentType.map { ", type \($0.name)" } ?? "")
                          + ": " + (o.classification.rationale.first { $0.hasPrefix("Severity") } ?? o.level.description),
                      ["severity": o.severity.code, "from": IncidentState.detected.rawValue,
                       "to": IncidentState.classified.rawValue])
        if let evidence = r.evidence { change.evidence.append(evidence) }

        let plan = EscalationPlan(policy: policy, incident: incident)
        let team = ResponseTeamSelector(policy: policy)
            .select(mobilisation: o.mobilisation, components: o.components, security: o.security, at: now)
        for member in team {
            change.incident.roles[member.role] = member.person.id
            change.record(.assigned, at: now, by: Self.systemActor,
                          "\(member.person.id) (\(member.person.name)) is \(RoleNames.display(member.role, policy: policy)): \(member.reason)",
                          ["role": member.role, "person": member.person.id])
        }
        if team.isEmpty {
            change.record(.assigned, at: now, by: Self.systemActor,
                          "Nobody is on call for \(policy.handling.initialResponder) at \(now.rfc3339); no one was assigned")
        }
        change.incident.classification?.initialTeam = team.map { "\($0.role): \($0.person.id)" }
        change.incident.classification?.rationale.append(
            "Escalation path (\(RoleNames.display(r.responder, policy: policy)) × \(o.severity.code)): "
                + plan.describe(policy: policy)
                + (plan.interval.map { ", one level every \(DurationText.format($0)) once the response SLA is breached" } ?? "")
                + ".")

        let composer = NotificationComposer(policy: policy)
        let pages = !plan.goesToBacklog && o.mobilisation != .scheduled
        if plan.goesToBacklog {
            moveToBacklog(&change, path: plan.describe(policy: policy), reason: "\(label(o.severity)) is backlog work",
                          actor: Self.systemActor, at: now)
            if let owner = change.incident.roles["incident_commander"].flatMap(schedule.person) {
                composer.notify(owner, purpose: .backlog, subject: composer.subject(change.incident, "added to the backlog"),
                                body: KnowledgeTransfer(policy: policy).brief(
                                    for: change.incident, timeline: change.timeline,
                                    headline: "Added to the backlog; you own it. Nobody is paged.", now: now),
                                into: &change, at: now)
            }
        }
        if pages {
            var byPerson: [(Person, [String])] = []
            for m in team {
                if let i = byPerson.firstIndex(where: { $0.0.id == m.person.id }) { byPerson[i].1.append(m.role) }
                else { byPerson.append((m.person, [m.role])) }
            }
            for (person, roles) in byPerson {
                let names = Self.list(roles.map { RoleNames.display($0, policy: policy) })
                let brief = KnowledgeTransfer(policy: policy).brief(
                    for: change.incident, timeline: change.timeline,
                    headline: "You are \(names). Acknowledge with `vigil incidents ack \(id)`; join \(change.incident.channel ?? "the channel").",
                    now: now)
                composer.notify(person, purpose: .page, subject: composer.subject(change.incident, "you are \(names)"),
                                body: brief, into: &change, at: now)
            }
            openChannel(&change, team: team, at: now)
            change.incident.state = .mobilised
            change.record(.transition, at: now, by: Self.systemActor,
                          "classified → mobilised: \(o.mobilisation.description) notified ("
                              + byPerson.map(\.0.id).joined(separator: ", ") + ")",
                          ["from": IncidentState.classified.rawValue, "to": IncidentState.mobilised.rawValue,
                           "reason": "team notified"])
        }
        if let deadline = change.incident.responseDeadline {
            change.record(.system, at: now, by: Self.systemActor,
                          "Response SLA: acknowledge by \(deadline.rfc3339) (\(o.level.responseTime.map(DurationText.format) ?? ""))",
                          ["deadline": deadline.rfc3339])
        } else {
            change.record(.system, at: now, by: Self.systemActor, "Response SLA: scheduled (no acknowledgement clock)")
        }
        if pages, let cadence = o.level.statusUpdateInterval {
            change.incident.nextStatusUpdateAt = now + cadence
            change.record(.system, at: now, by: Self.systemActor,
                          "Status updates every \(DurationText.format(cadence)); first due \((now + cadence).rfc3339)",
                          ["cadence": DurationText.format(cadence)])
        }
        publishStatus(.investigating, message: PublicStatus.investigating.publicMessage, to: &change, at: now,
                      actor: Self.systemActor)
        mirror(.opened, into: &change, history: [], at: now)
        return change
    }

    /// Seed 000 step 4: the incident channel (a chat notifier opens it and invites the team).
    func openChannel(_ change: inout IncidentChange, team: [TeamMember], at now: Timestamp) {
        guard policy.handling.openChatChannel != false, let channel = change.incident.channel else { return }
        var people: [Person] = []
        for m in team where !people.contains(where: { $0.id == m.person.id }) { people.append(m.person) }
        let invitees = people.map { p in
            "\(p.name) (" + Self.list(team.filter { $0.person.id == p.id }.map { RoleNames.display($0.role, policy: policy) }) + ")"
        }
        let composer = NotificationComposer(policy: policy)
        change.notifications.append(OutgoingNotification(
            purpose: .channel, channel: "chat", recipients: [channel], people: people.map(\.id),
            subject: composer.subject(change.incident, "incident channel"),
            body: "Open \(channel) for \(change.incident.id) and invite: " + invitees.joined(separator: ", ") + "."))
        change.record(.notification, at: now, by: Self.systemActor,
                      "Incident channel \(channel) requested for " + people.map(\.id).joined(separator: ", ")
                          + " — delivery pending",
                      ["purpose": OutgoingNotification.Purpose.channel.rawValue, "channel": "chat", "recipient": channel,
                       "delivery": "pending"])
    }

    /// `a`, `a and b`, `a, b and c`.
    static func list(_ items: [String]) -> String {
        guard items.count > 1, let last = items.last else { return items.first ?? "" }
        return items.dropLast().joined(separator: ", ") + " and " + last
    }
}
