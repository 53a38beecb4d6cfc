/// `incidents.recovery_watch`: seed 004's Phase 4 ("monitor for 24–72 hours with lowered
/// thresholds"). After a rule's incident is resolved, that rule keeps watching the same series
/// with a more sensitive threshold for ``duration``; a breach reopens the incident.
public struct RecoveryWatchPolicy: Codable, Sendable, Equatable {
    /// Off: resolved incidents are not watched (a recurrence then follows `reopen_window`).
    public var enabled: Bool
    /// How long the watch lasts after resolution (the seed asks for 24 to 72 hours).
    public var duration: Duration
    /// How far thresholds move toward firing: `> 90` becomes `> 72` at 0.8, `< 10` becomes
    /// `< 12.5`; window counts and ratios alike. 1 keeps the rule's own threshold.
    public var factor: Double
    /// Per-rule thresholds during the watch, in the rule's unit (`system_health.cpu_usage: 70`);
    /// they take the place of ``factor`` for those rules.
    public var thresholds: [String: Double]

    public static let minimumDuration = Duration.seconds(60)
    public static let maximumDuration = Duration.seconds(30 * 24 * 3600)
    /// The most rule thresholds one configuration may set.
    public static let maximumThresholds = 1_000

    public init(enabled: Bool = true, duration: Duration = .seconds(24 * 3600), factor: Double = 0.8,
                thresholds: [String: Double] = [:]) {
        self.enabled = enabled
        self.duration = duration
        self.factor = factor
        self.thresholds = thresholds
    }
}

/// One resolved incident's recovery watch: the lowered rule that runs on the incident's series
/// until ``until``, and how it ended.
public struct RecoveryWatch: Codable, Sendable, Equatable {
    public enum Outcome: String, Codable, Sendable, Equatable, CaseIterable {
        /// The lowered rule fired: the incident was reopened. The watch runs on until its
        /// condition clears (that clear is the reopened incident's), then ends.
        case recurred
        /// The watch ran its course without a breach.
        case expired
        /// The incident left `resolved`/`post-mortem`/`closed` another way (reopened by a person
        /// or by its rule) before the watch was over.
        case ended
    }

    public var incidentID: String
    /// The rule that opened the incident.
    public var ruleID: String
    /// The rule as the watch runs it: the lowered threshold, scoped to the incident's series
    /// (`cpu_usage{host="web-1"} > 72% for 5 minutes`).
    public var expression: String
    /// The rule's own text when the watch started.
    public var original: String
    public var startedAt: Timestamp
    public var until: Timestamp
    public var endedAt: Timestamp?
    public var outcome: Outcome?

    public init(incidentID: String, ruleID: String, expression: String, original: String, startedAt: Timestamp,
                until: Timestamp, endedAt: Timestamp? = nil, outcome: Outcome? = nil) {
        self.incidentID = incidentID
        self.ruleID = ruleID
        self.expression = expression
        self.original = original
        self.startedAt = startedAt
        self.until = until
        self.endedAt = endedAt
        self.outcome = outcome
    }

    /// Still run by the rule engine at `now`: watching, or following a recurrence until it clears.
    public func isActive(at now: Timestamp) -> Bool {
        endedAt == nil && (outcome == .recurred || (outcome == nil && now < until))
    }
}
