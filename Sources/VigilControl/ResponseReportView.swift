/// The documented JSON form of `vigil report response --json` (`report.response`): how the
/// response went, per ISO week (Monday 00:00 UTC) and severity, for charts.
///
/// Incidents are counted in the week they were opened. Durations are seconds measured from when
/// the condition was first detected (`detectedAt`): **detect** to when the incident was opened,
/// **acknowledge** to its first acknowledgement, **contain** to the first of entering
/// `contained` and its first containment action that ran and succeeded, **resolve** to its
/// resolution. Incidents that have not reached a milestone are left out of that milestone's figures.
public struct ResponseReportView: Codable, Sendable, Equatable {
    /// Seconds to one milestone over the incidents that reached it.
    public struct DurationStats: Codable, Sendable, Equatable {
        /// How many incidents reached the milestone (the others are not in the figures).
        public var count: Int
        public var mean: Double?
        /// The median and the 90th percentile (nearest rank).
        public var p50: Double?
        public var p90: Double?

        public init(count: Int, mean: Double? = nil, p50: Double? = nil, p90: Double? = nil) {
            self.count = count
            self.mean = mean
            self.p50 = p50
            self.p90 = p90
        }
    }

    /// Whether incidents were acknowledged within their response time.
    public struct SLAStats: Codable, Sendable, Equatable {
        /// Acknowledged at or before the deadline, with no breach recorded.
        public var met: Int
        /// A breach was recorded, or the acknowledgement came (or is still missing) after the deadline.
        public var breached: Int
        /// Not acknowledged and the deadline still ahead: not decided yet.
        public var running: Int
        /// `met / (met + breached)`, nil when nothing is decided. Severities without a response
        /// time (scheduled) are in none of the counts.
        public var adherence: Double?

        public init(met: Int, breached: Int, running: Int, adherence: Double?) {
            self.met = met
            self.breached = breached
            self.running = running
            self.adherence = adherence
        }
    }

    /// One severity's figures.
    public struct SeverityFigures: Codable, Sendable, Equatable {
        /// The code (`P1`) and its name on the active ladder.
        public var severity: String
        public var severityName: String?
        public var count: Int
        public var detect: DurationStats
        public var acknowledge: DurationStats
        public var contain: DurationStats
        public var resolve: DurationStats
        public var sla: SLAStats

        public init(severity: String, severityName: String?, count: Int, detect: DurationStats,
                    acknowledge: DurationStats, contain: DurationStats, resolve: DurationStats, sla: SLAStats) {
            self.severity = severity
            self.severityName = severityName
            self.count = count
            self.detect = detect
            self.acknowledge = acknowledge
            self.contain = contain
            self.resolve = resolve
            self.sla = sla
        }
    }

    /// Incidents of one type (nil: not classified with a type).
    public struct TypeCount: Codable, Sendable, Equatable {
        public var type: String?
        public var count: Int
        public init(type: String?, count: Int) {
            self.type = type
            self.count = count
        }
    }

    /// Automated containment actions (requested by an incident's containment category) that
    /// ended in one state: `succeeded`, `failed`, `denied`, `simulated`, … (`ActionState`).
    public struct OutcomeCount: Codable, Sendable, Equatable {
        public var outcome: String
        public var count: Int
        public init(outcome: String, count: Int) {
            self.outcome = outcome
            self.count = count
        }
    }

    /// One ISO week. Every week of the period is listed, empty ones too, and every severity of
    /// the active ladder in each, so chart series line up.
    public struct Week: Codable, Sendable, Equatable {
        /// `2026-W10`.
        public var week: String
        /// Its Monday, 00:00 UTC.
        public var start: String
        public var count: Int
        public var severities: [SeverityFigures]
        /// Most frequent first.
        public var types: [TypeCount]
        /// Automated containment actions requested in the week, by outcome (only outcomes that occurred).
        public var containment: [OutcomeCount]

        public init(week: String, start: String, count: Int, severities: [SeverityFigures], types: [TypeCount],
                    containment: [OutcomeCount]) {
            self.week = week
            self.start = start
            self.count = count
            self.severities = severities
            self.types = types
            self.containment = containment
        }
    }

    /// The whole period's figures.
    public struct Totals: Codable, Sendable, Equatable {
        public var count: Int
        public var severities: [SeverityFigures]
        public var types: [TypeCount]
        public var containment: [OutcomeCount]

        public init(count: Int, severities: [SeverityFigures], types: [TypeCount], containment: [OutcomeCount]) {
            self.count = count
            self.severities = severities
            self.types = types
            self.containment = containment
        }
    }

    /// The first week's Monday and the moment the report was made.
    public var from: String
    public var until: String
    /// The filters applied, as given.
    public var severity: String?
    public var type: String?
    public var component: String?
    /// Oldest first; the last is the current, partial week.
    public var weeks: [Week]
    public var totals: Totals

    public init(from: String, until: String, severity: String? = nil, type: String? = nil, component: String? = nil,
                weeks: [Week], totals: Totals) {
        self.from = from
        self.until = until
        self.severity = severity
        self.type = type
        self.component = component
        self.weeks = weeks
        self.totals = totals
    }
}
