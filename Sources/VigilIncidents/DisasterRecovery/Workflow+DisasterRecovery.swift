import VigilCore

/// What a person does to a recovery step.
public enum RecoveryStepMark: String, Sendable, Equatable, CaseIterable {
    case done
    case skip
}

/// A clock notice the service's tick sends, each once per recovery.
public enum RecoveryClockNotice: String, Sendable, Equatable {
    /// The RTO runs out within `warn_before`.
    case rtoWarning = "rto-warning"
    /// The RTO ran out with the recovery not complete: the incident is escalated.
    case rtoBreached = "rto-breached"
    /// The estimated data loss is beyond the RPO.
    case rpoExceeded = "rpo-exceeded"
}

/// Disaster recovery as seed 000's `DisasterRecoveryInterface` runs it: assess, select a plan,
/// execute its steps in order, monitor the RTO/RPO clocks, complete with a report. Every call
/// returns the new run and the incident change (timeline lines, notifications) to commit with it.
extension IncidentWorkflow {
    public var recoveryAssessor: RecoveryAssessor {
        RecoveryAssessor(policy: policy.disasterRecovery, ladder: policy.ladder)
    }

    /// Records an assessment on the timeline, every reason with it.
    public func recordAssessment(_ incident: Incident, _ a: RecoveryAssessment) -> IncidentChange {
        var change = IncidentChange(incident: incident)
        change.record(.disasterRecovery, at: a.assessedAt, by: a.assessedBy,
                      "Disaster recovery assessed: \(a.recommend ? "YES" : "NO")" + (a.tier.map { " (tier \($0))" } ?? "")
                          + ". " + a.reasons.joined(separator: ". "),
                      ["dr": "assessment", "recommend": a.recommend ? "yes" : "no", "tier": a.tier ?? "",
                       "plans": a.plans.joined(separator: ",")])
        return change
    }

    /// Starts `planName` (or the best matching plan) for the incident.
    public func startRecovery(_ incident: Incident, planName: String?, dataLoss: Duration?, actor: String,
                              at now: Timestamp) throws(WorkflowError) -> (DisasterRecoveryRun, IncidentChange) {
        let dr = policy.disasterRecovery
        guard incident.state.isOpen else { throw .notOpen(id: incident.id, state: incident.state, action: "start disaster recovery for") }
        guard !dr.plans.isEmpty else {
            throw .invalidArgument(field: "plan", reason: "no disaster-recovery plans are configured (disaster_recovery.plans)")
        }
        let assessor = recoveryAssessor
        let tier = assessor.tier(of: incident)?.tier
        let plan: RecoveryPlan
        let selection: String
        if let planName {
            guard let p = dr.plan(named: planName) else {
                throw .invalidArgument(field: "plan", reason: "no plan \"\(planName)\"; the plans are "
                    + dr.plans.map(\.name).joined(separator: ", "))
            }
            plan = p
            selection = "chosen by \(actor)"
        } else {
            guard let best = assessor.plans(for: incident, tier: tier?.name).first else {
                throw .invalidArgument(field: "plan", reason: "no plan applies to \(incident.id); name one with --plan ("
                    + dr.plans.map(\.name).joined(separator: ", ") + ")")
            }
            plan = best.plan
            selection = "best match: \(best.why)"
        }
        let run = DisasterRecoveryRun(incidentID: incident.id, plan: plan, selection: selection, tier: tier?.name,
                                      rto: tier?.rto, rpo: tier?.rpo, outageStart: incident.detectedAt, dataLoss: dataLoss,
                                      startedAt: now, startedBy: actor)
        var change = IncidentChange(incident: incident)
        let clocks = clockLine(run, at: now)
        change.record(.disasterRecovery, at: now, by: actor,
                      "Disaster recovery started with plan \(plan.name) (\(selection)), \(plan.steps.count) steps. \(clocks)",
                      ["dr": "started", "plan": plan.name])
        let composer = NotificationComposer(policy: policy)
        composer.notifyRoleHolders(of: incident, purpose: .disasterRecovery,
                                   subject: composer.subject(incident, "disaster recovery started: \(plan.title)"),
                                   body: "Plan \(plan.name): " + plan.steps.enumerated().map { "\($0 + 1). \($1.title)" }.joined(separator: "; ")
                                       + "\n\(clocks)\nFollow it with: vigil dr status \(incident.id)",
                                   into: &change, at: now)
        return (run, change)
    }

    /// The step a person may act on: the first not settled (steps are taken in order).
    func checkStep(_ run: DisasterRecoveryRun, _ step: Int) throws(WorkflowError) {
        guard run.status == .inProgress else {
            throw .invalidArgument(field: "step", reason: "the recovery of \(run.incidentID) is already completed")
        }
        guard (1...max(1, run.steps.count)).contains(step), step <= run.steps.count else {
            throw .invalidArgument(field: "step", reason: "\(step) is not a step of plan \(run.plan) (1 to \(run.steps.count))")
        }
        if let current = run.currentStep, step != current {
            throw .invalidArgument(field: "step", reason: step < current ? "step \(step) is already \(run.steps[step - 1].state.rawValue)"
                : "step \(current) (\(run.steps[current - 1].title)) comes first: steps are taken in order")
        }
    }

    /// Ticks step `step` (1-based) done or skipped.
    public func markRecoveryStep(_ incident: Incident, run: DisasterRecoveryRun, step: Int, mark: RecoveryStepMark,
                                 note: String?, actionSucceeded: Bool?, actor: String,
                                 at now: Timestamp) throws(WorkflowError) -> (DisasterRecoveryRun, IncidentChange) {
        try checkStep(run, step)
        var run = run
        var s = run.steps[step - 1]
        switch mark {
        case .done:
            if let action = s.action, actionSucceeded != true {
                throw .invalidArgument(field: "step", reason: "step \(step) runs \(action): "
                    + (s.actionID.map { "its action #\($0) has not succeeded yet (vigil actions show \($0))" }
                        ?? "run it first with vigil dr run-step \(incident.id) \(step)")
                    + ", or skip it with a note")
            }
            s.state = .done
        case .skip:
            guard let note, !note.trimmingWhitespace().isEmpty else {
                throw .invalidArgument(field: "note", reason: "say why step \(step) is skipped")
            }
            s.state = .skipped
        }
        s.finishedAt = now
        s.by = actor
        s.note = note
        if s.startedAt == nil { s.startedAt = now }
        run.steps[step - 1] = s
        if step < run.steps.count, run.steps[step].startedAt == nil { run.steps[step].startedAt = now }
        var change = IncidentChange(incident: incident)
        change.record(.disasterRecovery, at: now, by: actor,
                      "DR step \(step)/\(run.steps.count) \(s.state.rawValue): \(s.title)"
                          + (s.took.map { " (took \(RecoveryClockText.span($0)))" } ?? "") + (note.map { ": \($0)" } ?? "")
                          + ". \(clockLine(run, at: now))",
                      ["dr": "step", "step": "\(step)", "state": s.state.rawValue])
        return (run, change)
    }

    /// Records that step `step`'s action was requested as action `actionID`.
    public func recoveryActionRequested(_ incident: Incident, run: DisasterRecoveryRun, step: Int, actionID: Int64,
                                        actionState: String, actor: String,
                                        at now: Timestamp) throws(WorkflowError) -> (DisasterRecoveryRun, IncidentChange) {
        try checkStep(run, step)
        var run = run
        guard let action = run.steps[step - 1].action else {
            throw .invalidArgument(field: "step", reason: "step \(step) is a manual step (no action); tick it with vigil dr step")
        }
        run.steps[step - 1].state = .running
        run.steps[step - 1].actionID = actionID
        run.steps[step - 1].by = actor
        var change = IncidentChange(incident: incident)
        change.record(.disasterRecovery, at: now, by: actor,
                      "DR step \(step)/\(run.steps.count) requested action \(action) as #\(actionID) (\(actionState))",
                      ["dr": "step-action", "step": "\(step)", "action": action, "action_id": "\(actionID)"])
        return (run, change)
    }

    /// The RTO/RPO line of a status or a notice.
    public func clockLine(_ run: DisasterRecoveryRun, at now: Timestamp) -> String {
        var parts: [String] = []
        if let deadline = run.rtoDeadline, let rto = run.rto {
            parts.append(now < deadline ? "RTO \(DurationText.format(rto)): \(RecoveryClockText.span(deadline - now)) left (at \(deadline.rfc3339))"
                                        : "RTO \(DurationText.format(rto)): BREACHED \(RecoveryClockText.span(now - deadline)) ago")
        }
        if let rpo = run.rpo {
            parts.append(run.dataLoss.map { "RPO \(DurationText.format(rpo)): data loss \(RecoveryClockText.span($0))" + ($0 > rpo ? " — EXCEEDED" : " — within") }
                ?? "RPO \(DurationText.format(rpo)): data loss unknown")
        }
        return parts.isEmpty ? "No RTO/RPO (no tier)." : parts.joined(separator: "; ") + "."
    }

    /// The clock notice due now, if any (each is sent once: the run remembers it).
    public func dueRecoveryNotice(_ run: DisasterRecoveryRun, at now: Timestamp) -> RecoveryClockNotice? {
        guard run.status == .inProgress else { return nil }
        if let deadline = run.rtoDeadline {
            if now >= deadline, run.rtoBreachedAt == nil { return .rtoBreached }
            if now < deadline, run.rtoWarnedAt == nil, run.rtoBreachedAt == nil,
               deadline - now <= policy.disasterRecovery.warnBefore { return .rtoWarning }
        }
        if let rpo = run.rpo, let loss = run.dataLoss, loss > rpo, run.rpoBreachedAt == nil { return .rpoExceeded }
        return nil
    }

    /// Sends a clock notice: a warning to the role holders; on an RTO breach the incident is
    /// escalated to the next level of its path as well (or, at its top, the role holders are told).
    public func recoveryNotice(_ incident: Incident, run: DisasterRecoveryRun, _ notice: RecoveryClockNotice,
                               timeline: [TimelineEntry], at now: Timestamp) -> (DisasterRecoveryRun, IncidentChange) {
        var run = run
        var change = IncidentChange(incident: incident)
        let composer = NotificationComposer(policy: policy)
        let clocks = clockLine(run, at: now)
        let progress = "\(run.settledCount)/\(run.steps.count) steps settled" + (run.currentStep.map { ", now on step \($0): \(run.steps[$0 - 1].title)" } ?? "")
        let what: String
        switch notice {
        case .rtoWarning:
            run.rtoWarnedAt = now
            what = "RTO runs out soon"
        case .rtoBreached:
            run.rtoBreachedAt = now
            run.rtoWarnedAt = run.rtoWarnedAt ?? now
            what = "RTO breached"
        case .rpoExceeded:
            run.rpoBreachedAt = now
            what = "data loss beyond the RPO"
        }
        change.record(.disasterRecovery, at: now, by: Self.systemActor, "Disaster recovery \(what): \(clocks) \(progress).",
                      ["dr": notice.rawValue, "plan": run.plan])
        composer.notifyRoleHolders(of: incident, purpose: .disasterRecovery, subject: composer.subject(incident, "DR: \(what)"),
                                   body: "\(clocks)\n\(progress)\nvigil dr status \(incident.id)", into: &change, at: now)
        if notice == .rtoBreached, incident.state.isOpen {
            let escalated = applyNextEscalation(to: &change, history: timeline,
                                                reason: "disaster recovery RTO breached (plan \(run.plan), \(progress))",
                                                actor: Self.systemActor, transferCommand: false, at: now, due: nil)
            if !escalated {
                change.record(.disasterRecovery, at: now, by: Self.systemActor,
                              "RTO breached at the top of the escalation path: nobody further to escalate to", ["dr": "escalation"])
            }
        }
        return (run, change)
    }

    /// Completes the recovery: every step settled, the verification written down; the report.
    public func completeRecovery(_ incident: Incident, run: DisasterRecoveryRun, verification: String, actor: String,
                                 at now: Timestamp) throws(WorkflowError) -> (DisasterRecoveryRun, RecoveryReport, IncidentChange) {
        guard run.status == .inProgress else {
            throw .invalidArgument(field: "incident", reason: "the recovery of \(run.incidentID) was already completed at "
                + (run.completedAt?.rfc3339 ?? "?"))
        }
        if let open = run.currentStep {
            throw .invalidArgument(field: "step", reason: "step \(open) (\(run.steps[open - 1].title)) is still "
                + "\(run.steps[open - 1].state.rawValue); every step must be done or skipped first")
        }
        let verification = verification.trimmingWhitespace()
        guard !verification.isEmpty else {
            throw .invalidArgument(field: "verification", reason: "say how the recovered system was checked")
        }
        var run = run
        run.status = .completed
        run.completedAt = now
        run.completedBy = actor
        run.verification = verification
        let report = RecoveryReport(run, completedAt: now, completedBy: actor, verification: verification)
        var change = IncidentChange(incident: incident)
        let rto = report.rtoTarget.map { " (target \(DurationText.format($0)), \(report.rtoMet == true ? "met" : "missed"))" } ?? ""
        let rpo = report.rpoAchieved.map { ", data loss \(RecoveryClockText.span($0))" + (report.rpoMet.map { $0 ? " (RPO met)" : " (RPO missed)" } ?? "") } ?? ""
        change.record(.disasterRecovery, at: now, by: actor,
                      "Disaster recovery completed with plan \(run.plan): recovered in \(RecoveryClockText.span(report.rtoAchieved))\(rto)\(rpo). "
                          + "Verified: \(verification)",
                      ["dr": "completed", "plan": run.plan, "rto_achieved_seconds": "\(report.rtoAchieved.nanoseconds / 1_000_000_000)"])
        let composer = NotificationComposer(policy: policy)
        composer.notifyRoleHolders(of: incident, purpose: .disasterRecovery,
                                   subject: composer.subject(incident, "disaster recovery completed"), body: report.text,
                                   into: &change, at: now)
        return (run, report, change)
    }
}
