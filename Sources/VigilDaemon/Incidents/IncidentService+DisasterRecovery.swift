import Foundation
import VigilCore
import VigilIncidents
import VigilStore

/// Disaster recovery (seed 000, `Docs/disaster-recovery.md`): assess, start a plan, take its
/// steps in order, watch the RTO/RPO clocks from the tick, complete with a report. Each change
/// is stored with its timeline lines and notifications in one transaction.
extension IncidentService {
    /// Assesses the need for disaster recovery and records the assessment (and its timeline line).
    public func assessRecovery(_ incidentID: String, input: RecoveryAssessmentInput, actor: String) async throws -> RecoveryAssessment {
        let workflow = self.workflow
        guard workflow.policy.disasterRecovery.isConfigured else { throw Self.notConfigured }
        let now = clock.now()
        return try await write { tx in
            guard let incident = try tx.incident(id: incidentID) else { throw IncidentServiceError.notFound(incidentID) }
            let assessment: RecoveryAssessment
            do { assessment = try workflow.recoveryAssessor.assess(incident, input: input, actor: actor, at: now) } catch let e as WorkflowError {
                throw IncidentServiceError.refused(e)
            }
            try tx.insert(assessment)
            _ = try tx.commit(StoreChange(workflow.recordAssessment(incident, assessment)))
            return assessment
        }
    }

    /// Starts a recovery plan for the incident (one per incident).
    public func startRecovery(_ incidentID: String, plan: String?, dataLoss: Duration?, actor: String) async throws -> DisasterRecoveryRun {
        let workflow = self.workflow
        guard workflow.policy.disasterRecovery.isConfigured else { throw Self.notConfigured }
        let now = clock.now()
        return try await write { tx in
            guard let incident = try tx.incident(id: incidentID) else { throw IncidentServiceError.notFound(incidentID) }
            if let existing = try tx.recovery(incidentID: incidentID) {
                throw IncidentServiceError.refused(.invalidArgument(field: "incident", reason: "\(incidentID) already has a "
                    + "recovery (plan \(existing.plan), \(existing.status.rawValue), started \(existing.startedAt.rfc3339))"))
            }
            // The data loss the latest assessment estimated, unless one is given now.
            let assessed = try tx.latestRecoveryAssessment(incidentID: incidentID)
            let (run, change): (DisasterRecoveryRun, IncidentChange)
            do {
                (run, change) = try workflow.startRecovery(incident, planName: plan, dataLoss: dataLoss ?? assessed?.dataLoss,
                                                           actor: actor, at: now)
            } catch let e as WorkflowError { throw IncidentServiceError.refused(e) }
            try tx.save(run)
            _ = try tx.commit(StoreChange(change))
            return run
        }
    }

    /// Ticks a step done or skipped. An action step is done only once its action succeeded.
    public func markRecoveryStep(_ incidentID: String, step: Int, mark: RecoveryStepMark, note: String?,
                                 actor: String) async throws -> DisasterRecoveryRun {
        let workflow = self.workflow
        let now = clock.now()
        return try await write { tx in
            guard let incident = try tx.incident(id: incidentID) else { throw IncidentServiceError.notFound(incidentID) }
            guard let run = try tx.recovery(incidentID: incidentID) else { throw Self.noRecovery(incidentID) }
            var succeeded: Bool?
            if run.steps.indices.contains(step - 1), let id = run.steps[step - 1].actionID {
                let state = try tx.action(id: id)?.actionState
                succeeded = state == .succeeded || state == .simulated
            }
            let (next, change): (DisasterRecoveryRun, IncidentChange)
            do {
                (next, change) = try workflow.markRecoveryStep(incident, run: run, step: step, mark: mark, note: note,
                                                               actionSucceeded: succeeded, actor: actor, at: now)
            } catch let e as WorkflowError { throw IncidentServiceError.refused(e) }
            try tx.save(next)
            _ = try tx.commit(StoreChange(change))
            return next
        }
    }

    /// Checks that `step` is the step to run and names an action; returns the action's name.
    public func recoveryStepAction(_ incidentID: String, step: Int, reserve: Bool = false) async throws -> String {
        let key = "\(incidentID)#\(step)"
        if reserve {
            guard !recoveryStepsRequesting.contains(key) else {
                throw IncidentServiceError.refused(.invalidArgument(field: "step", reason: "step \(step) of \(incidentID) is "
                    + "being requested by someone else right now; see vigil dr status \(incidentID)"))
            }
            recoveryStepsRequesting.insert(key)
        }
        do { return try await recoveryStepActionChecked(incidentID, step: step) } catch {
            if reserve { recoveryStepsRequesting.remove(key) }
            throw error
        }
    }

    /// Lets the step be requested again (``recoveryStepAction(_:step:reserve:)``).
    public func releaseRecoveryStep(_ incidentID: String, step: Int) {
        recoveryStepsRequesting.remove("\(incidentID)#\(step)")
    }

    private func recoveryStepActionChecked(_ incidentID: String, step: Int) async throws -> String {
        guard let run = try await store.recovery(incidentID: incidentID) else { throw Self.noRecovery(incidentID) }
        guard run.status == .inProgress else {
            throw IncidentServiceError.refused(.invalidArgument(field: "step", reason: "the recovery of \(incidentID) is completed"))
        }
        guard let current = run.currentStep, current == step else {
            throw IncidentServiceError.refused(.invalidArgument(field: "step", reason: run.currentStep.map {
                "step \($0) (\(run.steps[$0 - 1].title)) is the one to take now: steps are taken in order" } ?? "every step is settled"))
        }
        let s = run.steps[step - 1]
        guard let action = s.action else {
            throw IncidentServiceError.refused(.invalidArgument(field: "step", reason: "step \(step) (\(s.title)) is a manual step; "
                + "tick it with vigil dr step \(incidentID) \(step) --done"))
        }
        // A request that ended without running (denied, failed, unavailable, …) may be made again.
        if let id = s.actionID, let state = try await store.action(id: id)?.actionState,
           [.awaitingApproval, .queued, .running, .succeeded, .simulated].contains(state) {
            throw IncidentServiceError.refused(.invalidArgument(field: "step", reason: "step \(step) already requested action #\(id), "
                + "\(state.rawValue) (vigil actions show \(id)); approve it, or tick the step when it succeeded"))
        }
        return action
    }

    /// Records the action request a step made.
    public func recoveryActionRequested(_ incidentID: String, step: Int, actionID: Int64, actionState: String,
                                        actor: String) async throws -> DisasterRecoveryRun {
        let workflow = self.workflow
        let now = clock.now()
        return try await write { tx in
            guard let incident = try tx.incident(id: incidentID) else { throw IncidentServiceError.notFound(incidentID) }
            guard let run = try tx.recovery(incidentID: incidentID) else { throw Self.noRecovery(incidentID) }
            let (next, change): (DisasterRecoveryRun, IncidentChange)
            do {
                (next, change) = try workflow.recoveryActionRequested(incident, run: run, step: step, actionID: actionID,
                                                                      actionState: actionState, actor: actor, at: now)
            } catch let e as WorkflowError { throw IncidentServiceError.refused(e) }
            try tx.save(next)
            _ = try tx.commit(StoreChange(change))
            return next
        }
    }

    /// Completes the recovery and stores its report.
    public func completeRecovery(_ incidentID: String, verification: String, actor: String) async throws -> (DisasterRecoveryRun, RecoveryReport) {
        let workflow = self.workflow
        let now = clock.now()
        return try await write { tx in
            guard let incident = try tx.incident(id: incidentID) else { throw IncidentServiceError.notFound(incidentID) }
            guard let run = try tx.recovery(incidentID: incidentID) else { throw Self.noRecovery(incidentID) }
            let (next, report, change): (DisasterRecoveryRun, RecoveryReport, IncidentChange)
            do {
                (next, report, change) = try workflow.completeRecovery(incident, run: run, verification: verification,
                                                                       actor: actor, at: now)
            } catch let e as WorkflowError { throw IncidentServiceError.refused(e) }
            try tx.save(next, report: report)
            _ = try tx.commit(StoreChange(change))
            return (next, report)
        }
    }

    /// Sends the RTO/RPO clock notices that are due (each once per recovery, remembered in the
    /// run): run from the service's tick. Returns how many it sent.
    @discardableResult
    func sweepRecoveryClocks() async -> Int {
        let workflow = self.workflow
        let now = clock.now()
        let runs: [DisasterRecoveryRun]
        do { runs = try await store.recoveriesInProgress() } catch {
            logger.error("disaster recovery: cannot read the recoveries in progress", metadata: ["error": "\(error)"])
            return 0
        }
        var sent = 0
        for candidate in runs where workflow.dueRecoveryNotice(candidate, at: now) != nil {
            do {
                let notice = try await store.write { tx -> RecoveryClockNotice? in
                    guard let run = try tx.recovery(incidentID: candidate.incidentID),
                          let notice = workflow.dueRecoveryNotice(run, at: now),
                          let incident = try tx.incident(id: run.incidentID) else { return nil }
                    let (next, change) = workflow.recoveryNotice(incident, run: run, notice, timeline: try tx.timeline(incidentID: incident.id), at: now)
                    try tx.save(next)
                    _ = try tx.commit(StoreChange(change))
                    return notice
                }
                if let notice {
                    sent += 1
                    logger.warning("disaster recovery \(notice.rawValue)", metadata: ["id": "\(candidate.incidentID)", "plan": "\(candidate.plan)"])
                }
            } catch {
                logger.error("disaster recovery: cannot send a clock notice", metadata: ["id": "\(candidate.incidentID)", "error": "\(error)"])
            }
        }
        return sent
    }

    static let notConfigured = IncidentServiceError.refused(.invalidArgument(
        field: "disaster_recovery", reason: "no disaster-recovery criteria are configured (the disaster_recovery: section)"))

    static func noRecovery(_ id: String) -> IncidentServiceError {
        .refused(.invalidArgument(field: "incident", reason: "\(id) has no disaster recovery under way; start one with vigil dr start \(id)"))
    }
}
