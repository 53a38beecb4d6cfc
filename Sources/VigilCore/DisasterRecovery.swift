/// Seed 000's `disaster_recovery_criteria` and recovery plans (`disaster_recovery:` in the
/// configuration): per service tier a Recovery Time Objective (`RTO_VALUES`), a Recovery Point
/// Objective (`RPO_VALUES`) and the least severe severity that makes disaster recovery worth
/// considering (`SEVERITY_THRESHOLDS`); which tier each component is; and the plans, as step lists.
public struct DisasterRecoveryPolicy: Codable, Sendable, Equatable {
    /// The service tiers, most critical first (an incident touching several takes the first).
    public var tiers: [RecoveryTier]
    /// Component → tier name.
    public var components: [String: String]
    /// The tier of an incident that names no known component (nil: such an incident is not assessed against a tier).
    public var defaultTier: String?
    /// How long before the RTO runs out the incident's role holders are warned.
    public var warnBefore: Duration
    /// The recovery plans, in file order (the first best match wins a tie).
    public var plans: [RecoveryPlan]

    public init(tiers: [RecoveryTier] = [], components: [String: String] = [:], defaultTier: String? = nil,
                warnBefore: Duration = .seconds(900), plans: [RecoveryPlan] = []) {
        self.tiers = tiers
        self.components = components
        self.defaultTier = defaultTier
        self.warnBefore = warnBefore
        self.plans = plans
    }

    /// False when the configuration has no `disaster_recovery:` section.
    public var isConfigured: Bool { !tiers.isEmpty }

    public func tier(named name: String) -> RecoveryTier? { tiers.first { $0.name == name } }

    public func plan(named name: String) -> RecoveryPlan? { plans.first { $0.name == name } }
}

/// One service tier's objectives.
public struct RecoveryTier: Codable, Sendable, Equatable {
    public var name: String
    /// Recovery Time Objective: the longest the service may be down.
    public var rto: Duration
    /// Recovery Point Objective: the most data (as time before the outage) that may be lost.
    public var rpo: Duration
    /// The least severe severity code that triggers disaster-recovery consideration for this tier.
    public var severityThreshold: String

    public init(name: String, rto: Duration, rpo: Duration, severityThreshold: String) {
        self.name = name
        self.rto = rto
        self.rpo = rpo
        self.severityThreshold = severityThreshold
    }
}

/// A disaster-recovery plan: what it applies to and its ordered steps (run, ticked and timed,
/// like a runbook's).
public struct RecoveryPlan: Codable, Sendable, Equatable {
    public struct Step: Codable, Sendable, Equatable {
        public var title: String
        /// A containment action the step runs through the actions' approval path (nil: a manual step).
        public var action: String?
        /// How long the step is expected to take (its share of the RTO).
        public var expected: Duration?

        public init(title: String, action: String? = nil, expected: Duration? = nil) {
            self.title = title
            self.action = action
            self.expected = expected
        }
    }

    public var name: String
    public var title: String
    /// Tiers it is written for (empty: any).
    public var tiers: [String]
    /// Incident types it is written for (empty: any).
    public var types: [String]
    /// Components it is written for (empty: any).
    public var components: [String]
    /// Whether it fails over to another region or host (seed: "multi-region failover").
    public var failover: Bool
    /// Whether it restores data from backups (seed: "data restoration from backups").
    public var restoresData: Bool
    public var steps: [Step]

    public init(name: String, title: String, tiers: [String] = [], types: [String] = [], components: [String] = [],
                failover: Bool = false, restoresData: Bool = false, steps: [Step]) {
        self.name = name
        self.title = title
        self.tiers = tiers
        self.types = types
        self.components = components
        self.failover = failover
        self.restoresData = restoresData
        self.steps = steps
    }

    /// The sum of the steps' expected durations (steps without one count nothing).
    public var expectedTotal: Duration {
        steps.reduce(Duration.zero) { sum, step in
            let (n, overflow) = sum.nanoseconds.addingReportingOverflow(step.expected?.nanoseconds ?? 0)
            return overflow ? .nanoseconds(Int64.max) : .nanoseconds(n)
        }
    }
}
