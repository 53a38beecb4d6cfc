import VigilCore

/// Seed 004's Phase 4, "monitor for 24–72 hours with lowered thresholds": what a recovery watch
/// does to its incident. The daemon decides the lowered rule (it knows the rules) and runs it;
/// these say what the timeline and the responders hear.
extension IncidentWorkflow {
    /// The watch begins as the incident is resolved (in the same change).
    public func recoveryWatchStarted(_ watch: RecoveryWatch, into change: inout IncidentChange) {
        let span = DurationText.format(watch.until - watch.startedAt)
        change.record(.recoveryWatch, at: watch.startedAt, by: Self.systemActor,
                      "Recovery watch for \(span), until \(watch.until.rfc3339): rule \(watch.ruleID) now fires at "
                          + "\(watch.expression) (was \(watch.original)); a breach reopens this incident",
                      ["watch": "started", "rule": watch.ruleID, "expression": watch.expression,
                       "original": watch.original, "until": watch.until.rfc3339])
    }

    /// Why no watch follows this resolution, recorded so nobody assumes one runs.
    public func recoveryWatchSkipped(_ reason: String, into change: inout IncidentChange, at now: Timestamp) {
        change.record(.recoveryWatch, at: now, by: Self.systemActor, "No recovery watch: \(reason)",
                      ["watch": "none", "reason": reason])
    }

    /// The lowered rule fired while the incident was resolved, in post-mortem or closed: the
    /// incident is reopened (not a new one started from zero), the signal counted as an
    /// occurrence, and the role holders paged. Returns nil when the incident is already open
    /// again (the watch just ends).
    public func recoveryWatchCaught(_ incident: Incident, timeline: [TimelineEntry], watch: RecoveryWatch,
                                    signal: RuleSignal) -> IncidentChange? {
        guard LifecycleFlow.reopenable.contains(incident.state) else { return nil }
        let now = clock.now()
        var change = IncidentChange(incident: incident)
        let value = ClassificationInput.number(signal.value) + signal.unit
        let after = incident.resolvedAt.map { " " + KnowledgeTransfer.span(signal.at - $0) + " after resolution" } ?? ""
        change.record(.recoveryWatch, at: now, by: "rule:\(watch.ruleID)",
                      "Recovery watch caught a recurrence\(after): \(watch.expression) fired at \(value) "
                          + "(at \(signal.at.rfc3339)); reopening",
                      ["watch": RecoveryWatch.Outcome.recurred.rawValue, "rule": watch.ruleID,
                       "expression": watch.expression, "value": value, "at": signal.at.rfc3339])
        change.incident.flapCount += 1
        reopenInPlace(&change, reason: "the recovery watch caught \(watch.ruleID) again at \(value) "
                          + "(lowered rule \(watch.expression))",
                      actor: "rule:\(watch.ruleID)", history: timeline, at: now)
        var joined = signal
        joined.ruleID = watch.ruleID
        joined.fingerprint = incident.fingerprint ?? signal.fingerprint
        absorb([joined][...], into: &change, history: timeline)
        let composer = NotificationComposer(policy: policy)
        let brief = KnowledgeTransfer(policy: policy).brief(
            for: change.incident, timeline: timeline + change.timeline,
            headline: "Reopened: the recovery watch caught \(watch.ruleID) again at \(value).", now: now)
        composer.notifyRoleHolders(of: change.incident, purpose: .page,
                                   subject: composer.subject(change.incident, "reopened, recurrence during recovery watch"),
                                   body: brief, into: &change, at: now)
        return change
    }

    /// The watch ran out (or the incident was reopened another way first).
    public func recoveryWatchEnded(_ incident: Incident, watch: RecoveryWatch, outcome: RecoveryWatch.Outcome,
                                   at now: Timestamp) -> IncidentChange {
        var change = IncidentChange(incident: incident)
        let span = DurationText.format(watch.until - watch.startedAt)
        let message = switch outcome {
        case .expired: "Recovery watch over: \(watch.ruleID) did not come back within \(span) at \(watch.expression)"
        case .ended: "Recovery watch stopped: the incident is \(incident.state) again"
        case .recurred: "Recovery watch caught a recurrence"
        }
        change.record(.recoveryWatch, at: now, by: Self.systemActor, message,
                      ["watch": outcome.rawValue, "rule": watch.ruleID, "expression": watch.expression])
        return change
    }
}
