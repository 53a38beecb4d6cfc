import VigilCore

/// The documented JSON form of `vigil dr assess --json` (`dr.assess`): seed 000's
/// assessment, with the recommendation and every reason. Durations are whole seconds.
public struct RecoveryAssessmentView: Codable, Sendable, Equatable {
    public var incident: String
    public var assessedAt: String
    public var assessedBy: String
    public var severity: String
    public var severityThreshold: String?
    public var severityMeetsThreshold: Bool
    public var components: [String]
    public var tier: String?
    public var rtoSeconds: Int?
    public var rpoSeconds: Int?
    public var outageStart: String
    public var elapsedSeconds: Int
    public var estimateSeconds: Int?
    public var dataLossSeconds: Int?
    public var dataLossSource: String?
    public var rtoAtRisk: Bool
    public var rpoAtRisk: Bool
    public var plans: [String]
    public var failoverNeeded: Bool
    public var restorationNeeded: Bool
    public var recommend: Bool
    public var reasons: [String]

    public init(_ a: RecoveryAssessment) {
        incident = a.incidentID
        assessedAt = a.assessedAt.rfc3339
        assessedBy = a.assessedBy
        severity = a.severity
        severityThreshold = a.severityThreshold
        severityMeetsThreshold = a.severityMeetsThreshold
        components = a.components
        tier = a.tier
        rtoSeconds = a.rto.map(Self.seconds)
        rpoSeconds = a.rpo.map(Self.seconds)
        outageStart = a.outageStart.rfc3339
        elapsedSeconds = Self.seconds(a.elapsed)
        estimateSeconds = a.estimate.map(Self.seconds)
        dataLossSeconds = a.dataLoss.map(Self.seconds)
        dataLossSource = a.dataLossSource
        rtoAtRisk = a.rtoAtRisk
        rpoAtRisk = a.rpoAtRisk
        plans = a.plans
        failoverNeeded = a.failoverNeeded
        restorationNeeded = a.restorationNeeded
        recommend = a.recommend
        reasons = a.reasons
    }

    static func seconds(_ d: Duration) -> Int { Int(d.nanoseconds / 1_000_000_000) }
}

/// The documented JSON form of `vigil dr status --json` (`dr.status`, and the answers to
/// `dr.start`, `dr.step`, `dr.run-step`, `dr.complete`): the plan's steps with their timing, the
/// RTO/RPO clocks, and the report once completed.
public struct RecoveryStatusView: Codable, Sendable, Equatable {
    public struct Step: Codable, Sendable, Equatable {
        public var number: Int
        public var title: String
        public var action: String?
        /// `pending`, `running` (its action was requested), `done`, `skipped`.
        public var state: String
        public var expectedSeconds: Int?
        public var startedAt: String?
        public var finishedAt: String?
        public var tookSeconds: Int?
        public var by: String?
        public var note: String?
        public var actionId: Int64?
        /// The requested action's state (`awaiting-approval`, `succeeded`, …).
        public var actionState: String?
    }

    public var incident: String
    public var plan: String
    public var planTitle: String
    public var selection: String
    /// `in-progress`, `completed`.
    public var status: String
    public var tier: String?
    public var startedAt: String
    public var startedBy: String
    public var outageStart: String
    public var rtoSeconds: Int?
    public var rtoDeadline: String?
    /// Seconds left before the RTO runs out (negative once breached; at completion for a completed one).
    public var rtoRemainingSeconds: Int?
    public var rpoSeconds: Int?
    public var dataLossSeconds: Int?
    public var rpoExceeded: Bool?
    public var percentComplete: Int
    public var currentStep: Int?
    /// The remaining steps' expected time, and whether it still fits in the RTO.
    public var expectedRemainingSeconds: Int
    public var fitsRTO: Bool?
    public var clocks: String
    public var rtoWarnedAt: String?
    public var rtoBreachedAt: String?
    public var rpoExceededAt: String?
    public var completedAt: String?
    public var completedBy: String?
    public var steps: [Step]
    public var report: RecoveryReportView?

    public init(_ run: DisasterRecoveryRun, now: Timestamp, clocks: String, actionStates: [Int64: String],
                report: RecoveryReport?) {
        incident = run.incidentID
        plan = run.plan
        planTitle = run.planTitle
        selection = run.selection
        status = run.status.rawValue
        tier = run.tier
        startedAt = run.startedAt.rfc3339
        startedBy = run.startedBy
        outageStart = run.outageStart.rfc3339
        rtoSeconds = run.rto.map(RecoveryAssessmentView.seconds)
        rtoDeadline = run.rtoDeadline?.rfc3339
        let at = run.completedAt ?? now
        rtoRemainingSeconds = run.rtoDeadline.map { Int(($0.nanoseconds &- at.nanoseconds) / 1_000_000_000) }
        rpoSeconds = run.rpo.map(RecoveryAssessmentView.seconds)
        dataLossSeconds = run.dataLoss.map(RecoveryAssessmentView.seconds)
        rpoExceeded = run.rpo.flatMap { rpo in run.dataLoss.map { $0 > rpo } }
        percentComplete = run.steps.isEmpty ? 100 : run.settledCount * 100 / run.steps.count
        currentStep = run.currentStep
        let remaining = run.steps.filter { !$0.state.isSettled }.reduce(Int64(0)) { sum, s in
            let (n, o) = sum.addingReportingOverflow(s.expected?.nanoseconds ?? 0)
            return o ? .max : n
        }
        let expected = Int(remaining / 1_000_000_000)
        expectedRemainingSeconds = expected
        let left = run.rtoDeadline.map { Int(($0.nanoseconds &- at.nanoseconds) / 1_000_000_000) }
        fitsRTO = run.status == .inProgress ? left.map { $0 >= expected } : nil
        self.clocks = clocks
        rtoWarnedAt = run.rtoWarnedAt?.rfc3339
        rtoBreachedAt = run.rtoBreachedAt?.rfc3339
        rpoExceededAt = run.rpoBreachedAt?.rfc3339
        completedAt = run.completedAt?.rfc3339
        completedBy = run.completedBy
        steps = run.steps.enumerated().map { i, s in
            Step(number: i + 1, title: s.title, action: s.action, state: s.state.rawValue,
                 expectedSeconds: s.expected.map(RecoveryAssessmentView.seconds), startedAt: s.startedAt?.rfc3339,
                 finishedAt: s.finishedAt?.rfc3339, tookSeconds: s.took.map(RecoveryAssessmentView.seconds), by: s.by,
                 note: s.note, actionId: s.actionID, actionState: s.actionID.flatMap { actionStates[$0] })
        }
        self.report = report.map(RecoveryReportView.init)
    }
}

/// The documented JSON form of the recovery report (`dr.complete`, and `report` in `dr.status`).
public struct RecoveryReportView: Codable, Sendable, Equatable {
    public var incident: String
    public var plan: String
    public var tier: String?
    public var outageStart: String
    public var startedAt: String
    public var completedAt: String
    public var completedBy: String
    public var rtoTargetSeconds: Int?
    public var rtoAchievedSeconds: Int
    public var rtoMet: Bool?
    public var rpoTargetSeconds: Int?
    public var rpoAchievedSeconds: Int?
    public var rpoMet: Bool?
    public var verification: String
    public var clockNotices: [String]
    /// The report for people (what `vigil dr complete` prints).
    public var text: String

    public init(_ r: RecoveryReport) {
        incident = r.incidentID
        plan = r.plan
        tier = r.tier
        outageStart = r.outageStart.rfc3339
        startedAt = r.startedAt.rfc3339
        completedAt = r.completedAt.rfc3339
        completedBy = r.completedBy
        rtoTargetSeconds = r.rtoTarget.map(RecoveryAssessmentView.seconds)
        rtoAchievedSeconds = RecoveryAssessmentView.seconds(r.rtoAchieved)
        rtoMet = r.rtoMet
        rpoTargetSeconds = r.rpoTarget.map(RecoveryAssessmentView.seconds)
        rpoAchievedSeconds = r.rpoAchieved.map(RecoveryAssessmentView.seconds)
        rpoMet = r.rpoMet
        verification = r.verification
        clockNotices = r.escalations
        text = r.text
    }
}

/// The documented JSON form of `vigil dr plans --json` (`dr.plans`): the criteria and the plans.
public struct RecoveryPlansView: Codable, Sendable, Equatable {
    public struct Tier: Codable, Sendable, Equatable {
        public var name: String
        public var rtoSeconds: Int
        public var rpoSeconds: Int
        public var severityThreshold: String
    }

    public struct Plan: Codable, Sendable, Equatable {
        public struct Step: Codable, Sendable, Equatable {
            public var title: String
            public var action: String?
            public var expectedSeconds: Int?
        }

        public var name: String
        public var title: String
        public var tiers: [String]
        public var types: [String]
        public var components: [String]
        public var failover: Bool
        public var restoresData: Bool
        public var expectedSeconds: Int
        public var steps: [Step]
    }

    public var tiers: [Tier]
    public var components: [String: String]
    public var defaultTier: String?
    public var warnBeforeSeconds: Int
    public var plans: [Plan]

    public init(_ p: DisasterRecoveryPolicy) {
        let s = RecoveryAssessmentView.seconds
        tiers = p.tiers.map { Tier(name: $0.name, rtoSeconds: s($0.rto), rpoSeconds: s($0.rpo), severityThreshold: $0.severityThreshold) }
        components = p.components
        defaultTier = p.defaultTier
        warnBeforeSeconds = s(p.warnBefore)
        plans = p.plans.map { plan in
            Plan(name: plan.name, title: plan.title, tiers: plan.tiers, types: plan.types, components: plan.components,
                 failover: plan.failover, restoresData: plan.restoresData, expectedSeconds: s(plan.expectedTotal),
                 steps: plan.steps.map { Plan.Step(title: $0.title, action: $0.action, expectedSeconds: $0.expected.map(s)) })
        }
    }
}
