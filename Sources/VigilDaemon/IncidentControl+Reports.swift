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
