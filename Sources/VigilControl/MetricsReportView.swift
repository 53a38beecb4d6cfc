/// The documented JSON form of `vigil report metrics --json` (`report.metrics`): response
/// metrics over any period, grouped by severity, type, component, rule or plugin, with the
/// configured targets checked, automated containment's success rate, the noisiest rules and
/// plugins, and false positives.
///
/// Incidents count in the period when they were **opened** in `[from, until)`. Every duration is
/// seconds measured from detection, as in ``ResponseReportView``: detect (to opened), acknowledge,
/// contain, resolve.
public struct MetricsReportView: Codable, Sendable, Equatable {
    /// Seconds to one milestone over the incidents that reached it: count, mean, nearest-rank
    /// percentiles and the maximum, to the millisecond; nil figures when none reached it.
    public struct Stats: Codable, Sendable, Equatable {
        public var count: Int
        public var mean: Double?
        public var p50: Double?
        public var p90: Double?
        public var p99: Double?
        public var max: Double?

        public init(count: Int, mean: Double? = nil, p50: Double? = nil, p90: Double? = nil, p99: Double? = nil,
                    max: Double? = nil) {
            self.count = count
            self.mean = mean
            self.p50 = p50
            self.p90 = p90
            self.p99 = p99
            self.max = max
        }

        /// The figure a target reads.
        public func value(_ statistic: String) -> Double? {
            switch statistic {
            case "mean": mean
            case "p50": p50
            case "p90": p90
            case "p99": p99
            case "max": max
            default: nil
            }
        }
    }

    /// One group's figures (or the whole period's, as `total`).
    public struct Group: Codable, Sendable, Equatable {
        /// The severity code, type, component, rule or plugin; `(none)` for incidents without one.
        public var key: String
        /// The severity's name on the active ladder, when grouping by severity.
        public var name: String?
        public var count: Int
        /// Signals absorbed by its incidents (each incident counts at least 1).
        public var occurrences: Int
        public var detect: Stats
        public var acknowledge: Stats
        public var contain: Stats
        public var resolve: Stats
        public var sla: ResponseReportView.SLAStats
        /// Incidents closed as not an incident.
        public var falsePositives: Int

        public init(key: String, name: String? = nil, count: Int, occurrences: Int, detect: Stats, acknowledge: Stats,
                    contain: Stats, resolve: Stats, sla: ResponseReportView.SLAStats, falsePositives: Int) {
            self.key = key
            self.name = name
            self.count = count
            self.occurrences = occurrences
            self.detect = detect
            self.acknowledge = acknowledge
            self.contain = contain
            self.resolve = resolve
            self.sla = sla
            self.falsePositives = falsePositives
        }
    }

    /// One incident over a target's limit.
    public struct Miss: Codable, Sendable, Equatable {
        public var id: String
        public var severity: String
        public var seconds: Double
        public var detectedAt: String

        public init(id: String, severity: String, seconds: Double, detectedAt: String) {
            self.id = id
            self.severity = severity
            self.seconds = seconds
            self.detectedAt = detectedAt
        }
    }

    /// A configured target (`incidents.targets`) checked over the period.
    public struct Target: Codable, Sendable, Equatable {
        public var name: String
        public var phase: String
        public var statistic: String
        public var belowSeconds: Double
        public var severities: [String]
        /// Incidents of those severities that reached the phase.
        public var count: Int
        /// The statistic over them; nil when none reached the phase.
        public var value: Double?
        /// Whether the value is under the limit; nil when there is nothing to judge.
        public var met: Bool?
        /// How many incidents took the limit or longer in that phase, and the worst of them
        /// (longest first, at most 50).
        public var missCount: Int
        public var misses: [Miss]

        public init(name: String, phase: String, statistic: String, belowSeconds: Double, severities: [String],
                    count: Int, value: Double?, met: Bool?, missCount: Int, misses: [Miss]) {
            self.name = name
            self.phase = phase
            self.statistic = statistic
            self.belowSeconds = belowSeconds
            self.severities = severities
            self.count = count
            self.value = value
            self.met = met
            self.missCount = missCount
            self.misses = misses
        }
    }

    /// Automated containment (actions a containment category requested) in the period.
    public struct Containment: Codable, Sendable, Equatable {
        /// Actions requested.
        public var requested: Int
        /// Of those, the ones that ran or could not: succeeded, undone, failed, unavailable (not
        /// denied by a person, skipped, muted by a silence, dry runs, or still waiting).
        public var attempted: Int
        /// Succeeded (undone later counts: it ran and worked).
        public var succeeded: Int
        /// succeeded / attempted; nil when nothing was attempted.
        public var successRate: Double?
        public var outcomes: [ResponseReportView.OutcomeCount]

        public init(requested: Int, attempted: Int, succeeded: Int, successRate: Double?,
                    outcomes: [ResponseReportView.OutcomeCount]) {
            self.requested = requested
            self.attempted = attempted
            self.succeeded = succeeded
            self.successRate = successRate
            self.outcomes = outcomes
        }
    }

    /// A rule or plugin and how many incidents it opened.
    public struct Noise: Codable, Sendable, Equatable {
        public var key: String
        public var incidents: Int
        public var occurrences: Int
        public var falsePositives: Int

        public init(key: String, incidents: Int, occurrences: Int, falsePositives: Int) {
            self.key = key
            self.incidents = incidents
            self.occurrences = occurrences
            self.falsePositives = falsePositives
        }
    }

    public var from: String
    public var until: String
    /// `severity`, `type`, `component`, `rule` or `plugin`.
    public var by: String
    public var severity: String?
    public var type: String?
    public var component: String?
    public var groups: [Group]
    public var total: Group
    public var targets: [Target]
    public var containment: Containment
    /// The rules (and other openers: `alertmanager/<alert>`, `user-report`…) that opened the
    /// most incidents, at most 10.
    public var noisiestRules: [Noise]
    /// The senders whose series opened the most incidents (`plugin:<name>`, `http:<sender>`),
    /// at most 10.
    public var noisiestPlugins: [Noise]
    public var falsePositives: Int

    public init(from: String, until: String, by: String, severity: String?, type: String?, component: String?,
                groups: [Group], total: Group, targets: [Target], containment: Containment, noisiestRules: [Noise],
                noisiestPlugins: [Noise], falsePositives: Int) {
        self.from = from
        self.until = until
        self.by = by
        self.severity = severity
        self.type = type
        self.component = component
        self.groups = groups
        self.total = total
        self.targets = targets
        self.containment = containment
        self.noisiestRules = noisiestRules
        self.noisiestPlugins = noisiestPlugins
        self.falsePositives = falsePositives
    }
}
