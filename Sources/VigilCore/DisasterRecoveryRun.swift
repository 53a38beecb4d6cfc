/// The answer of seed 000's `assess_disaster_recovery_need`: a Yes/No recommendation with every
/// reason it rests on, and the figures behind it.
public struct RecoveryAssessment: Codable, Sendable, Equatable {
    public var incidentID: String
    public var assessedAt: Timestamp
    public var assessedBy: String
    public var severity: String
    /// The least severe severity that triggers DR for the tier (nil: no tier).
    public var severityThreshold: String?
    public var severityMeetsThreshold: Bool
    public var components: [String]
    public var tier: String?
    public var rto: Duration?
    public var rpo: Duration?
    /// When the outage began (the incident's detection time).
    public var outageStart: Timestamp
    public var elapsed: Duration
    /// Estimated time still needed with standard procedures, as given (nil: not given).
    public var estimate: Duration?
    /// Estimated data loss: time between the recovery point and the outage (nil: unknown).
    public var dataLoss: Duration?
    /// Where the data-loss figure came from (`given`, `recovery point 2026-…`).
    public var dataLossSource: String?
    public var rtoAtRisk: Bool
    public var rpoAtRisk: Bool
    /// Plans that apply, best first.
    public var plans: [String]
    public var failoverNeeded: Bool
    public var restorationNeeded: Bool
    public var recommend: Bool
    public var reasons: [String]

    public init(incidentID: String, assessedAt: Timestamp, assessedBy: String, severity: String, severityThreshold: String?,
                severityMeetsThreshold: Bool, components: [String], tier: String?, rto: Duration?, rpo: Duration?,
                outageStart: Timestamp, elapsed: Duration, estimate: Duration?, dataLoss: Duration?, dataLossSource: String?,
                rtoAtRisk: Bool, rpoAtRisk: Bool, plans: [String], failoverNeeded: Bool, restorationNeeded: Bool,
                recommend: Bool, reasons: [String]) {
        self.incidentID = incidentID
        self.assessedAt = assessedAt
        self.assessedBy = assessedBy
        self.severity = severity
        self.severityThreshold = severityThreshold
        self.severityMeetsThreshold = severityMeetsThreshold
        self.components = components
        self.tier = tier
        self.rto = rto
        self.rpo = rpo
        self.outageStart = outageStart
        self.elapsed = elapsed
        self.estimate = estimate
        self.dataLoss = dataLoss
        self.dataLossSource = dataLossSource
        self.rtoAtRisk = rtoAtRisk
        self.rpoAtRisk = rpoAtRisk
        self.plans = plans
        self.failoverNeeded = failoverNeeded
        self.restorationNeeded = restorationNeeded
        self.recommend = recommend
        self.reasons = reasons
    }
}

/// One incident's disaster recovery under way or done (seed 000 `DisasterRecoveryInterface`):
/// the plan chosen, each step's progress and timing, the RTO/RPO clocks and their notices.
public struct DisasterRecoveryRun: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable, Equatable, CaseIterable {
        case inProgress = "in-progress"
        case completed
    }

    public enum StepState: String, Codable, Sendable, Equatable, CaseIterable {
        case pending
        /// Its action was requested (maybe awaiting approval).
        case running
        case done
        case skipped

        public var isSettled: Bool { self == .done || self == .skipped }
    }

    public struct StepProgress: Codable, Sendable, Equatable {
        public var title: String
        public var action: String?
        public var expected: Duration?
        public var state: StepState
        /// When it became the step to work on, or its action was requested.
        public var startedAt: Timestamp?
        public var finishedAt: Timestamp?
        public var by: String?
        public var note: String?
        /// The action request it ran (`vigil actions show N`).
        public var actionID: Int64?

        public init(_ step: RecoveryPlan.Step) {
            title = step.title
            action = step.action
            expected = step.expected
            state = .pending
        }

        /// How long it took, once finished.
        public var took: Duration? {
            guard let startedAt, let finishedAt, finishedAt >= startedAt else { return nil }
            return finishedAt - startedAt
        }
    }

    public var incidentID: String
    public var plan: String
    public var planTitle: String
    /// Why this plan (the operator named it, or it matched best).
    public var selection: String
    public var tier: String?
    public var rto: Duration?
    public var rpo: Duration?
    public var outageStart: Timestamp
    /// Estimated data loss at the start (nil: unknown).
    public var dataLoss: Duration?
    public var status: Status
    public var startedAt: Timestamp
    public var startedBy: String
    public var steps: [StepProgress]
    public var rtoWarnedAt: Timestamp?
    public var rtoBreachedAt: Timestamp?
    public var rpoBreachedAt: Timestamp?
    public var completedAt: Timestamp?
    public var completedBy: String?
    public var verification: String?

    public init(incidentID: String, plan: RecoveryPlan, selection: String, tier: String?, rto: Duration?, rpo: Duration?,
                outageStart: Timestamp, dataLoss: Duration?, startedAt: Timestamp, startedBy: String) {
        self.incidentID = incidentID
        self.plan = plan.name
        self.planTitle = plan.title
        self.selection = selection
        self.tier = tier
        self.rto = rto
        self.rpo = rpo
        self.outageStart = outageStart
        self.dataLoss = dataLoss
        self.status = .inProgress
        self.startedAt = startedAt
        self.startedBy = startedBy
        self.steps = plan.steps.map(StepProgress.init)
        if !steps.isEmpty { steps[0].startedAt = startedAt }
    }

    /// When the RTO runs out (nil without one).
    public var rtoDeadline: Timestamp? {
        guard let rto else { return nil }
        let (n, overflow) = outageStart.nanoseconds.addingReportingOverflow(rto.nanoseconds)
        return Timestamp(nanoseconds: overflow ? .max : n)
    }

    /// The 1-based number of the first step not yet settled (nil when all are).
    public var currentStep: Int? { steps.firstIndex { !$0.state.isSettled }.map { $0 + 1 } }

    public var settledCount: Int { steps.filter(\.state.isSettled).count }
}

/// The report `vigil dr complete` writes (seed 000 `completeRecovery`): actual RTO and RPO
/// against their objectives, each step's timing and who did it.
public struct RecoveryReport: Codable, Sendable, Equatable {
    public var incidentID: String
    public var plan: String
    public var tier: String?
    public var outageStart: Timestamp
    public var startedAt: Timestamp
    public var completedAt: Timestamp
    public var completedBy: String
    public var rtoTarget: Duration?
    /// Outage start to completion.
    public var rtoAchieved: Duration
    public var rtoMet: Bool?
    public var rpoTarget: Duration?
    public var rpoAchieved: Duration?
    public var rpoMet: Bool?
    public var steps: [DisasterRecoveryRun.StepProgress]
    public var verification: String
    public var escalations: [String]

    public init(_ run: DisasterRecoveryRun, completedAt: Timestamp, completedBy: String, verification: String) {
        incidentID = run.incidentID
        plan = run.plan
        tier = run.tier
        outageStart = run.outageStart
        startedAt = run.startedAt
        self.completedAt = completedAt
        self.completedBy = completedBy
        rtoTarget = run.rto
        rtoAchieved = completedAt >= run.outageStart ? completedAt - run.outageStart : .zero
        let achieved = rtoAchieved
        rtoMet = run.rto.map { achieved <= $0 }
        rpoTarget = run.rpo
        rpoAchieved = run.dataLoss
        let loss = run.dataLoss
        rpoMet = run.rpo.flatMap { rpo in loss.map { $0 <= rpo } }
        steps = run.steps
        self.verification = verification
        var notes: [String] = []
        if let t = run.rtoWarnedAt { notes.append("RTO warning at \(t.rfc3339)") }
        if let t = run.rtoBreachedAt { notes.append("RTO breached at \(t.rfc3339)") }
        if let t = run.rpoBreachedAt { notes.append("RPO exceeded, noticed at \(t.rfc3339)") }
        escalations = notes
    }

    /// The report for people.
    public var text: String {
        var out = "Disaster recovery report: \(incidentID)\n"
        out += "Plan: \(plan)" + (tier.map { " (tier \($0))" } ?? "") + "\n"
        out += "Outage began \(outageStart.rfc3339); recovery started \(startedAt.rfc3339); completed \(completedAt.rfc3339) by \(completedBy)\n"
        let rtoLine = rtoTarget.map { "target \(DurationText.format($0)) — " + ((rtoMet ?? false) ? "met" : "MISSED") } ?? "no target"
        out += "RTO achieved: \(RecoveryClockText.span(rtoAchieved)) (\(rtoLine))\n"
        let rpoLine: String
        switch (rpoAchieved, rpoTarget) {
        case (let a?, let t?): rpoLine = "\(RecoveryClockText.span(a)) of data lost (target \(DurationText.format(t)) — \(rpoMet == true ? "met" : "MISSED"))"
        case (let a?, nil): rpoLine = "\(RecoveryClockText.span(a)) of data lost (no target)"
        case (nil, _): rpoLine = "data loss unknown" + (rpoTarget.map { " (target \(DurationText.format($0)))" } ?? "")
        }
        out += "RPO: \(rpoLine)\n"
        out += "Verification: \(verification)\n"
        out += "Steps:\n"
        for (i, s) in steps.enumerated() {
            let took = s.took.map { RecoveryClockText.span($0) } ?? "-"
            let expected = s.expected.map { " (expected \(DurationText.format($0)))" } ?? ""
            out += "  \(i + 1). [\(s.state.rawValue)] \(s.title) — took \(took)\(expected)"
                + (s.by.map { ", by \($0)" } ?? "") + (s.actionID.map { ", action #\($0)" } ?? "")
                + (s.note.map { ": \($0)" } ?? "") + "\n"
        }
        if !escalations.isEmpty { out += "Clocks: " + escalations.joined(separator: "; ") + "\n" }
        return out
    }
}

/// Durations as the DR clocks print them: `1h 05m 30s`, `42m 10s`, `9s`.
public enum RecoveryClockText {
    public static func span(_ d: Duration) -> String {
        let total = max(0, d.nanoseconds / 1_000_000_000)
        let h = total / 3600, m = (total % 3600) / 60, s = total % 60
        if h > 0 { return "\(h)h \(m < 10 ? "0" : "")\(m)m \(s < 10 ? "0" : "")\(s)s" }
        if m > 0 { return "\(m)m \(s < 10 ? "0" : "")\(s)s" }
        return "\(s)s"
    }
}
