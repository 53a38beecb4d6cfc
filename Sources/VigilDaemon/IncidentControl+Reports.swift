import VigilControl
import VigilCore
import VigilStore

/// `report.response`: response metrics per ISO week and severity, for charts.
extension IncidentControl {
    static let maximumReportWeeks = 104

    /// Args: `weeks` (1–104, default 12; the current week included), `severity`, `type`,
    /// `component` (as `incidents.list` reads them).
    func responseReport(_ r: ControlRequest, policy: IncidentPolicy) async throws -> JSONValue {
        let weeks = try r.integer("weeks", default: 12, in: 1...Self.maximumReportWeeks)
        let severities = try severityCodes(r, policy: policy)
        let filter = IncidentFilter(severities: severities, type: try r.text("type"), component: try r.text("component"))
        let now = clock.now()
        let report = ResponseReport(ladder: policy.ladder, now: now, weeks: weeks)
        // The window is half-open: an incident opened at this very instant is in it.
        let until = now + .nanoseconds(1)
        let times = try await store.responseTimes(openedFrom: report.from, until: until, matching: filter)
        let outcomes = try await store.containmentOutcomes(requestedFrom: report.from, until: until, matching: filter)
        return try JSONValue.encoding(report.view(times: times, outcomes: outcomes,
                                                  severity: severities?.joined(separator: ","),
                                                  type: filter.type, component: filter.component))
    }
}

/// `report.metrics`: response metrics over any period, grouped, with targets checked.
extension IncidentControl {
    /// The longest period one report reads (ten years).
    static let maximumReportPeriod = Duration.seconds(3_660 * 86_400)
    /// The most incidents one report reads (about 100 MB while it is built).
    static let maximumReportIncidents = 200_000

    /// Args: `from` and `until` (RFC 3339; `until` defaults to now), or `since` (a duration back
    /// from `until`, default 30 days) instead of `from`; `by` (severity, type, component, rule,
    /// plugin; default severity); `severity`, `type`, `component` as `incidents.list` reads them.
    func metricsReport(_ r: ControlRequest, policy: IncidentPolicy) async throws -> JSONValue {
        let now = clock.now()
        let until = try r.time("until") ?? now + .nanoseconds(1)
        let from: Timestamp
        if let given = try r.time("from") {
            guard try r.text("since") == nil else { throw ControlFailure("since: give either from or since, not both") }
            from = given
        } else {
            let d: Duration
            if let text = try r.text("since", maxBytes: 64) {
                guard let parsed = DurationText.parse(text), parsed > .zero else {
                    throw ControlFailure("since: expected a duration like `30 days` or `12 hours`, found \"\(text)\"")
                }
                guard parsed <= Self.maximumReportPeriod else {
                    throw ControlFailure("since: \(text) is longer than the \(DurationText.format(Self.maximumReportPeriod)) a report covers")
                }
                d = parsed
            } else {
                d = .seconds(30 * 86_400)
            }
            let (start, overflow) = until.nanoseconds.subtractingReportingOverflow(d.nanoseconds)
            guard !overflow else { throw ControlFailure("since: reaches before the earliest time a report can name") }
            from = Timestamp(nanoseconds: start)
        }
        guard from < until else {
            throw ControlFailure("from: \(from.rfc3339) is not before until (\(until.rfc3339))")
        }
        // Checked subtraction: a span of centuries must not wrap round into a short one.
        let (span, overflow) = until.nanoseconds.subtractingReportingOverflow(from.nanoseconds)
        guard !overflow, span <= Self.maximumReportPeriod.nanoseconds else {
            throw ControlFailure("from: the period is longer than the \(DurationText.format(Self.maximumReportPeriod)) a report covers")
        }
        let grouping: MetricsReport.Grouping
        if let text = try r.text("by", maxBytes: 32) {
            guard let g = MetricsReport.Grouping(rawValue: text.lowercased()) else {
                throw ControlFailure("by: \"\(text)\" is not one of " + MetricsReport.Grouping.allCases.map(\.rawValue).joined(separator: ", "))
            }
            grouping = g
        } else {
            grouping = .severity
        }
        let severities = try severityCodes(r, policy: policy)
        let filter = IncidentFilter(severities: severities, type: try r.text("type"), component: try r.text("component"))
        let times = try await store.responseTimes(openedFrom: from, until: until, matching: filter,
                                                  limit: Self.maximumReportIncidents + 1)
        guard times.count <= Self.maximumReportIncidents else {
            throw ControlFailure("the period holds more than \(Self.maximumReportIncidents) incidents: narrow it (since, from, "
                + "until) or filter it (severity, type, component)", kind: .invalid)
        }
        let outcomes = try await store.containmentOutcomes(requestedFrom: from, until: until, matching: filter)
        let report = MetricsReport(ladder: policy.ladder, targets: policy.handling.targets, grouping: grouping,
                                   from: from, until: until, now: now)
        return try JSONValue.encoding(report.view(times: times, outcomes: outcomes,
                                                  severity: severities?.joined(separator: ","),
                                                  type: filter.type, component: filter.component))
    }
}
