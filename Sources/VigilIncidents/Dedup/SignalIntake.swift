import VigilCore

/// What to do with a group of signals sharing one fingerprint.
public enum IntakePlan: Sendable {
    /// Nothing to do (a `resolved` signal for a fingerprint with no incident).
    case ignore
    /// Open a new incident from the first firing signal, then absorb the rest into it.
    case open(IncidentOpening, rest: [RuleSignal])
    /// Change an existing incident (absorbed, or reopened by a flapping signal).
    case update(IncidentChange)
}

/// Dedup and grouping: signals whose fingerprint (rule + group-by labels, or an explicit key)
/// matches an open incident add to it (count, last seen, evidence) instead of opening another.
///
/// Flapping hysteresis, so a signal that keeps firing and clearing does not open and close
/// incidents in a loop:
/// 1. A `resolved` signal never resolves an incident; it records that the condition cleared.
///    People resolve incidents, after validation.
/// 2. A firing after a clear, while the incident is open, counts one flap and adds to the same
///    incident.
/// 3. A firing within `incidents.reopen_window` (default 1 hour) after the incident was resolved
///    or closed reopens that incident (one flap) instead of opening a new one.
/// 4. Only later does the fingerprint open a new incident.
///
/// Each batch adds at most one occurrence entry, one flap entry and one clear entry to the
/// timeline, and one evidence summary, however many signals it holds.
extension IncidentWorkflow {
    /// Decides what a fingerprint group does. `open` is the open incident with this fingerprint,
    /// `latest` the newest incident with it in any state (for the reopen window).
    public func plan(_ signals: [RuleSignal], open: Incident?, latest: Incident?,
                     history: [TimelineEntry] = []) -> IntakePlan {
        if let open {
            var change = IncidentChange(incident: open)
            absorb(signals[...], into: &change, history: history)
            return change.timeline.isEmpty ? .ignore : .update(change)
        }
        guard let firstFiring = signals.firstIndex(where: { $0.transition == .firing }) else { return .ignore }
        let signal = signals[firstFiring]
        // A false positive is not reopened by its rule: someone judged it not an incident, and
        // reopening would undo that and page the whole escalation path. A new firing opens a new
        // incident (nothing is lost), and people can still reopen the old one.
        if let latest, LifecycleFlow.reopenable.contains(latest.state), latest.resolution?.falsePositive == nil,
           let ended = latest.resolvedAt ?? latest.closedAt, signal.at - ended <= policy.handling.reopenWindow {
            var change = IncidentChange(incident: latest)
            change.incident.flapCount += 1
            reopenInPlace(&change, reason: "rule \(signal.ruleID) fired again \(KnowledgeTransfer.span(signal.at - ended)) "
                              + "after resolution (within the \(DurationText.format(policy.handling.reopenWindow)) "
                              + "reopen window; flap \(change.incident.flapCount))",
                          actor: "rule:\(signal.ruleID)", history: history, at: clock.now())
            absorb(signals[firstFiring...], into: &change, history: history)
            let composer = NotificationComposer(policy: policy)
            let brief = KnowledgeTransfer(policy: policy).brief(
                for: change.incident, timeline: history + change.timeline,
                headline: "Reopened: the condition came back after resolution.", now: clock.now())
            composer.notifyRoleHolders(of: change.incident, purpose: .page,
                                       subject: composer.subject(change.incident, "reopened, condition returned"),
                                       body: brief, into: &change, at: clock.now())
            return .update(change)
        }
        guard let opening = opening(for: signal) else { return .ignore }
        return .open(opening, rest: Array(signals[(firstFiring + 1)...]))
    }

    /// Folds signals into an incident, in order: firings count, clears and returns are tracked.
    /// A firing that returns while the incident is `validating` sends it back to `investigating`
    /// with an escalation (`history` is the incident's stored timeline, for the knowledge transfer).
    public func absorb(_ signals: ArraySlice<RuleSignal>, into change: inout IncidentChange,
                       history: [TimelineEntry] = []) {
        guard !signals.isEmpty else { return }
        let now = clock.now()
        var firings = 0
        var returns = 0
        let wasCleared = change.incident.conditionClearedAt != nil
        var lastFiring: RuleSignal?
        for s in signals {
            switch s.transition {
            case .firing:
                firings += 1
                change.incident.occurrences += 1
                if s.at > change.incident.lastSeenAt { change.incident.lastSeenAt = s.at }
                if change.incident.conditionClearedAt != nil {
                    change.incident.conditionClearedAt = nil
                    change.incident.flapCount += 1
                    returns += 1
                }
                lastFiring = s
            case .resolved:
                if change.incident.conditionClearedAt == nil { change.incident.conditionClearedAt = s.at }
            }
        }
        let newlyCleared = change.incident.conditionClearedAt != nil && (!wasCleared || returns > 0)
        guard firings > 0 || newlyCleared else { return }
        change.incident.updatedAt = now
        if let last = lastFiring {
            let value = ClassificationInput.number(last.value) + last.unit
            change.record(.occurrence, at: now, by: "rule:\(last.ruleID)",
                          "\(firings) more signal(s) joined (total \(change.incident.occurrences)); last at "
                              + "\(change.incident.lastSeenAt.rfc3339), value \(value)",
                          ["count": "\(firings)", "total": "\(change.incident.occurrences)",
                           "fingerprint": last.fingerprint])
            change.evidence.append(EvidenceNote(source: "rule:\(last.ruleID)", kind: "signals",
                                                content: SignalEvidence.json(signals.filter { $0.transition == .firing })))
        }
        if returns > 0 {
            change.record(.occurrence, at: now, by: IncidentWorkflow.systemActor,
                          "Condition came back after clearing \(returns) time(s) (flapping; \(change.incident.flapCount) "
                              + "flap(s) so far); the incident stays open",
                          ["flaps": "\(change.incident.flapCount)"])
            conditionReturnedDuringValidation(&change, history: history, at: now)
        }
        if newlyCleared, let cleared = change.incident.conditionClearedAt {
            change.record(.occurrence, at: now, by: IncidentWorkflow.systemActor,
                          "Condition cleared at \(cleared.rfc3339); " + clearedOutlook,
                          ["condition": "cleared"])
        }
    }
}

extension IncidentWorkflow {
    /// What happens next to an incident whose condition cleared, as configured.
    var clearedOutlook: String {
        let hold = DurationText.format(policy.handling.clearedHold)
        switch policy.handling.whenConditionClears {
        case .stay: return "the incident stays open until someone resolves it"
        case .validating: return "if it stays clear for \(hold) the incident moves to validating"
        case .resolved: return "if it stays clear for \(hold) the incident is resolved"
        }
    }
}
