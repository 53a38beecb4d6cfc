import VigilCore

extension IncidentWorkflow {
    /// Renders seed 004's "Incident Communication Template" for `incident` as it stands now.
    /// `message` is the update's own text (it becomes the summary); `eta` the resolution estimate.
    public func renderIncidentCommunication(_ incident: Incident, timeline: [TimelineEntry], message: String? = nil,
                                            eta: String? = nil) -> String {
        templates.render(CommunicationTemplates.incidentCommunication,
                         incidentCommunicationContext(incident, timeline: timeline, message: message, eta: eta))
    }

    /// Renders seed 004's "Service Restoration Announcement" for a resolved incident.
    public func renderServiceRestoration(_ incident: Incident, timeline: [TimelineEntry]) -> String {
        templates.render(CommunicationTemplates.serviceRestoration, serviceRestorationContext(incident, timeline: timeline))
    }

    func incidentCommunicationContext(_ incident: Incident, timeline: [TimelineEntry], message: String?,
                                      eta: String?) -> [String: Any] {
        let contained = timeline.first { $0.kind == .transition && $0.data["to"] == IncidentState.contained.rawValue }
        let latestETA = eta ?? timeline.last { $0.data["eta"] != nil }?.data["eta"]
        // Containment measures and remediation steps: automated actions, and the reasons people gave
        // when moving the incident through containment, remediation and recovery.
        let stepNames: [String: String] = [IncidentState.containing.rawValue: "Containment",
                                           IncidentState.contained.rawValue: "Contained",
                                           IncidentState.remediating.rawValue: "Remediation",
                                           IncidentState.recovering.rawValue: "Recovery"]
        var actions: [String] = timeline.compactMap { e in
            if e.kind == .action { return e.message }
            guard e.kind == .transition, let to = e.data["to"], let name = stepNames[to], let reason = e.data["reason"]
            else { return nil }
            return "\(name): \(reason)"
        }
        let team = incident.roles.sorted { $0.key < $1.key }.map { role, id in
            "\(RoleNames.display(role, policy: policy)) \(schedule.person(id)?.name ?? id)"
        }
        if !team.isEmpty { actions.append("Team mobilised: " + team.joined(separator: ", ") + ".") }
        if incident.escalationLevel > 0 {
            actions.append("Escalated \(incident.escalationLevel) level(s) along "
                + EscalationPlan(policy: policy, incident: incident).describe(policy: policy) + ".")
        }
        actions += timeline.filter { $0.kind == .comment }.suffix(3).map { "Investigation: \($0.message)" }
        let summary = message ?? (incident.summary.isEmpty ? incident.title : incident.summary)
        return [
            "id": incident.id, "title": incident.title, "severity": label(incident.severity),
            "summary": summary, "status": PublicStatus(incident.state).rawValue,
            "impact": impactDescription(incident),
            "discovered": incident.detectedAt.rfc3339,
            "contained": contained.map { "contained \($0.time.rfc3339)" } ?? "not yet contained",
            "eta": latestETA ?? "not yet estimated",
            "next_update": incident.nextStatusUpdateAt?.rfc3339 ?? "none scheduled",
            "actions": actions,
            "customer_impact": incident.classification?.userImpacting == true
                ? impactDescription(incident) : "No user-visible effect is known.",
            "channel": incident.channel ?? "",
        ]
    }

    func serviceRestorationContext(_ incident: Incident, timeline: [TimelineEntry]) -> [String: Any] {
        let resolution = incident.resolution
        var actions = resolution?.actions ?? []
        if let summary = resolution?.summary { actions.insert(summary, at: 0) }
        actions += timeline.filter { $0.kind == .followUp }.map { "Planned: \($0.data["title"] ?? $0.message)" }
        var next = "Detailed post-incident review and improvement implementation"
        if let due = incident.postMortemDueAt { next += " (post-mortem due \(due.rfc3339))" }
        return [
            "id": incident.id, "title": incident.title, "severity": label(incident.severity),
            "resolution_time": incident.resolvedAt.map { KnowledgeTransfer.span($0 - incident.detectedAt) } ?? "unknown",
            "root_cause": resolution?.rootCause ?? "under investigation; the post-incident review will report it",
            "resolution": resolution?.summary ?? "",
            "verification": resolution?.verification ?? "",
            "actions": actions,
            "next_steps": next,
        ]
    }

    /// `All users affected; complete outage` from what classification knows, else the level's words.
    func impactDescription(_ incident: Incident) -> String {
        var parts: [String] = []
        if let s = incident.classification?.userScope.flatMap(UserScope.init(text:)) {
            switch s {
            case .all: parts.append("all users affected")
            case .group: parts.append("a group of users affected")
            case .individual: parts.append("individual users affected")
            case .none: parts.append("no users affected")
            }
        }
        if let s = incident.classification?.serviceImpact { parts.append(s) }
        if let i = incident.classification?.impact { parts.append("\(i) impact on user experience") }
        if parts.isEmpty, let level = level(of: incident.severity) { parts.append(level.impact ?? level.description) }
        guard let first = parts.first else { return "" }
        return ([first.prefix(1).uppercased() + first.dropFirst()] + parts.dropFirst()).joined(separator: "; ")
    }
}
