import Logging
import VigilCore
import VigilIncidents
import VigilRules
import VigilStore

/// Recovery watches (`incidents.recovery_watch`, seed 004 Phase 4): started in the transaction
/// that resolves a rule's incident, run by the rule engine (``Detection``), ended by a breach
/// (which reopens the incident), by their time running out, or by the incident being reopened
/// another way. The engine is told the active watches after every change.
extension IncidentService {
    /// The rules the watches lower (the loaded rule set; replaced on reload).
    public func setRecoveryWatchRules(_ rules: RuleSet) { watchPlanner.rules = rules }

    /// Who runs the active watches (the rule engine), told the whole list after each change.
    public func setRecoveryWatchListener(_ listener: @escaping @Sendable ([RecoveryWatch], Int) async -> Void) {
        watchListener = listener
    }

    /// Within a write transaction: when `change` resolves the incident, decides its watch, puts
    /// the watch's start (or why there is none) in the same change, and returns the watch to save.
    static func planRecoveryWatch(before: Incident, change: inout IncidentChange, workflow: IncidentWorkflow,
                                  planner: RecoveryWatchPlanner, now: Timestamp) -> RecoveryWatch? {
        guard change.incident.state == .resolved, before.state != .resolved else { return nil }
        switch planner.decide(for: change.incident, policy: workflow.policy.handling.recoveryWatch, now: now) {
        case .watch(let watch):
            workflow.recoveryWatchStarted(watch, into: &change)
            return watch
        case .skip(let reason):
            workflow.recoveryWatchSkipped(reason, into: &change, at: now)
            return nil
        case .none:
            return nil
        }
    }

    /// Tells the rule engine which watches are active now.
    func publishRecoveryWatches() async {
        guard let watchListener else { return }
        // Numbered before the read: publishes may overlap, and the engine keeps the newest.
        watchGeneration += 1
        let generation = watchGeneration
        do {
            let now = clock.now()
            let active = try await store.activeRecoveryWatches().filter { $0.isActive(at: now) }
            await watchListener(active, generation)
        } catch {
            logger.error("recovery watches could not be read; the rule engine keeps the ones it has",
                         metadata: ["error": "\(error)"])
        }
    }

    /// The lowered rule of `incidentID`'s watch fired (reopen the incident; the watch then
    /// follows the recurrence) or, after a recurrence, cleared (the reopened incident's condition
    /// cleared; the watch ends).
    @discardableResult
    public func recoveryWatchFired(incidentID: String, signal: RuleSignal) async -> Bool {
        let workflow = self.workflow
        let now = clock.now()
        var stored = true
        do {
            let reopened = try await store.write(priority: .urgent) { tx -> Incident? in
                guard var watch = try tx.recoveryWatch(incidentID: incidentID), watch.endedAt == nil,
                      let incident = try tx.incident(id: incidentID) else { return nil }
                let history = try tx.timeline(incidentID: incidentID)
                switch (signal.transition, watch.outcome) {
                case (.firing, nil) where now >= watch.until:
                    break // over: the sweep ends it
                case (.firing, nil):
                    if let change = workflow.recoveryWatchCaught(incident, timeline: history, watch: watch, signal: signal) {
                        watch.outcome = .recurred
                        try tx.save(watch)
                        try tx.commit(StoreChange(change))
                        return change.incident
                    }
                    watch.outcome = .ended
                    watch.endedAt = now
                    try tx.save(watch)
                    try tx.commit(StoreChange(workflow.recoveryWatchEnded(incident, watch: watch, outcome: .ended, at: now)))
                case (.resolved, .recurred?):
                    watch.endedAt = now
                    try tx.save(watch)
                    if incident.state.isOpen {
                        var change = IncidentChange(incident: incident)
                        var cleared = signal
                        cleared.ruleID = watch.ruleID
                        cleared.fingerprint = incident.fingerprint ?? signal.fingerprint
                        workflow.absorb([cleared][...], into: &change, history: history)
                        if !change.timeline.isEmpty { try tx.commit(StoreChange(change)) }
                    }
                default:
                    break
                }
                return nil
            }
            if let reopened {
                logger.warning("recovery watch caught a recurrence: incident reopened",
                               metadata: ["id": "\(reopened.id)", "rule": "\(signal.ruleID)", "value": "\(signal.value)"])
                if reopened.classification?.userImpacting == true { await statusPage?.publish() }
            }
        } catch {
            logger.error("recovery watch signal could not be stored; the watch starts afresh", metadata: [
                "id": "\(incidentID)", "transition": "\(signal.transition.rawValue)", "error": "\(error)"])
            stored = false
        }
        await publishRecoveryWatches()
        return stored
    }

    /// Ends the watches whose time is up, or whose incident was reopened another way. Returns
    /// how many ended.
    @discardableResult
    func sweepRecoveryWatches() async -> Int {
        let workflow = self.workflow
        let now = clock.now()
        let ended: Int
        do {
            guard try await store.hasRecoveryWatchesToEnd(now: now) else { return 0 }
            ended = try await store.write { tx -> Int in
                var count = 0
                for var watch in try tx.recoveryWatchesToEnd(now: now) {
                    guard let incident = try tx.incident(id: watch.incidentID) else { continue }
                    watch.endedAt = now
                    if watch.outcome == .recurred {
                        // Resolved again with no new watch (watches switched off meanwhile).
                        try tx.save(watch)
                        count += 1
                        continue
                    }
                    let outcome: RecoveryWatch.Outcome = LifecycleFlow.reopenable.contains(incident.state) ? .expired : .ended
                    watch.outcome = outcome
                    try tx.save(watch)
                    try tx.commit(StoreChange(workflow.recoveryWatchEnded(incident, watch: watch, outcome: outcome, at: now)))
                    count += 1
                }
                return count
            }
        } catch {
            logger.error("recovery watches could not be ended", metadata: ["error": "\(error)"])
            return 0
        }
        if ended > 0 { await publishRecoveryWatches() }
        return ended
    }
}
