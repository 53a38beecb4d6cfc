import VigilCore

extension IncidentWorkflow {
    /// Seed 000 `resolve_incident`: verification and resolution recorded, state `resolved`,
    /// every role holder sent the Service Restoration Announcement, the status page updated,
    /// a post-mortem scheduled for the top two severities (due within 48 hours), response
    /// metrics kept as evidence, and follow-up items created.
    public func resolve(_ incident: Incident, timeline: [TimelineEntry], request: ResolutionRequest,
                        actor: String) throws(WorkflowError) -> IncidentChange {
        let verification = request.verification.trimmingWhitespace()
        let summary = request.summary.trimmingWhitespace()
        guard !verification.isEmpty else {
            throw .invalidArgument(field: "verification", reason: "say how you verified it is truly resolved")
        }
        guard !summary.isEmpty else { throw .invalidArgument(field: "summary", reason: "say what resolved it") }
        do {
            try LifecycleFlow.check(incident.id, from: incident.state, to: .resolved,
                                    postMortemRequired: postMortemRequired(incident.severity))
        } catch { throw .illegalTransition(error) }
        let now = clock.now()
        var change = IncidentChange(incident: incident)
        change.incident.state = .resolved
        change.incident.resolvedAt = now
        change.incident.updatedAt = now
        change.incident.nextStatusUpdateAt = nil
        change.incident.resolution = IncidentResolution(
            verification: verification, summary: summary,
            rootCause: request.rootCause.map { $0.trimmingWhitespace() }.flatMap { $0.isEmpty ? nil : $0 },
            actions: request.actions.map { $0.trimmingWhitespace() }.filter { !$0.isEmpty }, resolvedBy: actor)
        change.record(.resolved, at: now, by: actor,
                      "Resolved \(KnowledgeTransfer.span(now - incident.detectedAt)) after detection: \(summary) "
                          + "(verified: \(verification))",
                      ["from": incident.state.rawValue, "to": IncidentState.resolved.rawValue,
                       "verification": verification, "summary": summary])

        let owner = incident.roles["incident_commander"]
        if postMortemRequired(incident.severity) {
            let due = now + policy.handling.postMortemWithin
            change.incident.postMortemDueAt = due
            change.followUps.append(FollowUpItem(kind: "post-mortem", title: "Post-mortem for \(incident.id): \(incident.title)",
                                                 owner: owner, dueAt: due))
            change.record(.postMortem, at: now, by: Self.systemActor,
                          "Post-mortem scheduled (required for \(label(incident.severity))): due \(due.rfc3339)"
                              + (owner.map { ", owner \($0)" } ?? ""),
                          ["due": due.rfc3339, "owner": owner ?? ""])
        }
        var followUps = request.followUps.map { $0.trimmingWhitespace() }.filter { !$0.isEmpty }
        if incident.slaBreachedAt != nil {
            followUps.append("Review why \(incident.id) was not acknowledged within its response SLA")
        }
        if change.incident.flapCount > 0, let rule = incident.source.split(separator: ":", maxSplits: 1).last,
           incident.source.hasPrefix("rule:") {
            followUps.append("Tune rule \(rule): it flapped \(change.incident.flapCount) time(s) during \(incident.id)")
        }
        for title in followUps {
            change.followUps.append(FollowUpItem(kind: "follow-up", title: title, owner: owner))
            change.record(.followUp, at: now, by: actor, "Follow-up created: \(title)", ["title": title])
        }
        change.evidence.append(EvidenceNote(source: Self.systemActor, kind: "response-metrics",
                                            content: responseMetrics(change.incident, timeline: timeline).description))

        let announcement = renderServiceRestoration(change.incident, timeline: timeline + change.timeline)
        let composer = NotificationComposer(policy: policy)
        composer.notifyRoleHolders(of: change.incident, purpose: .resolution,
                                   subject: composer.subject(change.incident, "resolved"), body: announcement,
                                   into: &change, at: now)
        publishStatus(.resolved, message: PublicStatus.resolved.publicMessage + " " + summary, to: &change, at: now,
                      actor: actor)
        mirror(.resolved, into: &change, history: timeline, at: now)
        return change
    }

    /// Seed 000 step 7 ("collect relevant logs and metrics"): how the response went, in seconds.
    func responseMetrics(_ incident: Incident, timeline: [TimelineEntry]) -> JSONValue {
        func seconds(_ t: Timestamp?) -> JSONValue {
            t.map { .number(($0 - incident.detectedAt).inSeconds.rounded()) } ?? .null
        }
        let contained = timeline.first { $0.data["to"] == IncidentState.contained.rawValue }?.time
        return .object([
            "detected_at": .string(incident.detectedAt.rfc3339),
            "seconds_to_open": seconds(incident.createdAt),
            "seconds_to_acknowledge": seconds(incident.acknowledgedAt),
            "seconds_to_contain": seconds(contained),
            "seconds_to_resolve": seconds(incident.resolvedAt),
            "response_sla": .string(ResponseClock(incident, now: incident.resolvedAt ?? incident.updatedAt).state.rawValue),
            "escalation_level": .number(Double(incident.escalationLevel)),
            "occurrences": .number(Double(incident.occurrences)),
            "flaps": .number(Double(incident.flapCount)),
        ])
    }
}
