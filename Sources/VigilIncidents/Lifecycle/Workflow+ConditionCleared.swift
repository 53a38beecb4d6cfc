import VigilCore

/// `incidents.when_condition_clears`: what happens to an open incident once the rule that opened
/// it has stopped firing and stayed clear for the hold time.
///
/// - `stay`: the clear is recorded; people move the incident on.
/// - `validating`: the daemon moves the incident to `validating` (a responder confirms full
///   restoration with `vigil incidents resolve`, or sends it back to `investigating`).
/// - `resolved`: the daemon also resolves it, the verification being the clear period.
///
/// The move happens once per clear: a responder who sends the incident back from `validating`
/// is not overruled while the condition stays clear. A condition that comes back while the
/// incident is `validating` sends it to `investigating` with an escalation, as seed 004's
/// "System Fully Restored? No" branch does. The decision is computed from stored times
/// (`conditionClearedAt` and the timeline), so a restart changes nothing.
extension IncidentWorkflow {
    /// Timeline data key marking the automatic move, with the clear time it acted on.
    static let clearedMoveKey = "condition_cleared_move"

    /// True when the condition-cleared policy may have something to do now (cheap: no timeline).
    func conditionClearedDue(_ incident: Incident, now: Timestamp) -> Bool {
        let action = policy.handling.whenConditionClears
        guard action != .stay, let cleared = incident.conditionClearedAt,
              now - cleared >= policy.handling.clearedHold else { return false }
        if LifecycleFlow.beforeValidation.contains(incident.state) { return true }
        return incident.state == .validating && action == .resolved
    }

    /// Applies the condition-cleared policy to `change` (part of ``tick(_:timeline:)``).
    func applyConditionCleared(_ change: inout IncidentChange, history: [TimelineEntry], at now: Timestamp) {
        let action = policy.handling.whenConditionClears
        guard conditionClearedDue(change.incident, now: now), let cleared = change.incident.conditionClearedAt else {
            return
        }
        let hold = DurationText.format(policy.handling.clearedHold)
        let rule = change.incident.source.hasPrefix("rule:") ? String(change.incident.source.dropFirst(5)) : change.incident.source
        let stamp = cleared.rfc3339
        let alreadyMoved = (history + change.timeline).contains { $0.data[Self.clearedMoveKey] == stamp }
        if LifecycleFlow.beforeValidation.contains(change.incident.state) {
            guard !alreadyMoved else { return }
            let before = change.incident
            change.incident.state = .validating
            change.incident.updatedAt = now
            change.record(.transition, at: now, by: Self.systemActor,
                          "\(before.state) → validating: the condition of \(rule) cleared at \(stamp) and stayed clear "
                              + "for \(hold) (incidents.when_condition_clears); confirm full restoration with "
                              + "`vigil incidents resolve \(before.id)`",
                          ["from": before.state.rawValue, "to": IncidentState.validating.rawValue,
                           "reason": "condition cleared", Self.clearedMoveKey: stamp])
            notePublicStatusChange(from: before, to: &change, at: now, actor: Self.systemActor)
        }
        guard action == .resolved, change.incident.state == .validating else { return }
        let request = ResolutionRequest(
            verification: "the condition of \(rule) cleared at \(stamp) and stayed clear for \(hold)",
            summary: "Resolved automatically: the condition cleared (incidents.when_condition_clears: resolved)")
        guard let resolved = try? resolve(change.incident, timeline: history + change.timeline, request: request,
                                          actor: Self.systemActor) else { return }
        change.incident = resolved.incident
        change.timeline += resolved.timeline
        change.notifications += resolved.notifications
        change.evidence += resolved.evidence
        change.followUps += resolved.followUps
        change.statusPageChanged = change.statusPageChanged || resolved.statusPageChanged
    }

    /// A condition that came back while the incident was being validated: back to
    /// `investigating`, escalated one level (part of signal intake).
    func conditionReturnedDuringValidation(_ change: inout IncidentChange, history: [TimelineEntry], at now: Timestamp) {
        guard change.incident.state == .validating else { return }
        let before = change.incident
        change.incident.state = .investigating
        change.incident.updatedAt = now
        let reason = "the condition came back during validation: not fully restored"
        change.record(.transition, at: now, by: Self.systemActor, "validating → investigating: \(reason)",
                      ["from": IncidentState.validating.rawValue, "to": IncidentState.investigating.rawValue,
                       "reason": reason])
        let escalated = applyNextEscalation(to: &change, history: history + change.timeline, reason: reason,
                                            actor: Self.systemActor, transferCommand: false, at: now, due: nil)
        if !escalated {
            change.record(.escalated, at: now, by: Self.systemActor,
                          "The condition came back during validation but the escalation path is already exhausted; "
                              + "the current team continues", ["reason": reason])
        }
        notePublicStatusChange(from: before, to: &change, at: now, actor: Self.systemActor)
    }
}
