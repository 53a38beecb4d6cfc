import Foundation
import HTTPTypes
import Hummingbird
import VigilControl
import VigilCore

/// Response metrics drawn as SVG: time to detect, acknowledge, contain and resolve by severity
/// per week, incident counts by type, SLA adherence and automated containment outcomes.
extension ConsoleController {
    func metricsPage(_ request: Request, signed s: Signed) async -> Response {
        var weeks = 12
        if let text = Self.query(request)["weeks"], !text.isEmpty {
            guard let n = Int(text), (1...104).contains(n) else {
                return page("Response metrics", signed: s, template: "metrics", ["problem": "weeks must be a number from 1 to 104"],
                            status: .badRequest, path: "/console/metrics")
            }
            weeks = n
        }
        let choices = [4, 12, 26, 52, 104].map { ["value": $0, "selected": $0 == weeks] as [String: Any] }
        switch await fetch(ResponseReportView.self, "report.response", ["weeks": .number(Double(weeks))], as: s) {
        case .failure(let r):
            return page("Response metrics", signed: s, template: "metrics", ["problem": r.message, "weekChoices": choices],
                        status: r.status, path: "/console/metrics")
        case .success(let report):
            return page("Response metrics", signed: s, template: "metrics",
                        ["charts": ResponseCharts.charts(report), "weekChoices": choices,
                         "summary": "\(report.totals.count) incidents from \(Self.short(report.from)) to \(Self.short(report.until))"],
                        path: "/console/metrics")
        }
    }
}

/// The charts of one `report.response` answer, each with the table of its figures.
enum ResponseCharts {
    static func charts(_ r: ResponseReportView) -> [[String: Any]] {
        // `2026-W39` → `W39` under the bars (the tables keep the year).
        let weeks = r.weeks.map { $0.week.split(separator: "-").last.map(String.init) ?? $0.week }
        let severities = Array(Set(r.weeks.flatMap { $0.severities.map(\.severity) })).sorted()
        func figure(_ week: ResponseReportView.Week, _ severity: String) -> ResponseReportView.SeverityFigures? {
            week.severities.first { $0.severity == severity }
        }
        var out: [[String: Any]] = []
        func timeChart(_ title: String, _ pick: (ResponseReportView.SeverityFigures) -> ResponseReportView.DurationStats) {
            let series = severities.map { sev in (name: sev, values: r.weeks.map { figure($0, sev).flatMap { pick($0).p50 } ?? 0 }) }
            var rows: [[String: Any]] = []
            for week in r.weeks {
                for f in week.severities.sorted(by: { $0.severity < $1.severity }) {
                    let d = pick(f)
                    rows.append(["cells": [week.week, f.severity, "\(d.count)", fmt(d.mean), fmt(d.p50), fmt(d.p90)]])
                }
            }
            out.append(["title": title, "svg": ConsoleCharts.bars(title: title, labels: weeks, series: series, unit: "s"),
                        "head": ["Week", "Severity", "Incidents", "Mean", "p50", "p90"], "rows": rows])
        }
        timeChart("Time to detect (median) by severity per week", \.detect)
        timeChart("Time to acknowledge (median) by severity per week", \.acknowledge)
        timeChart("Time to contain (median) by severity per week", \.contain)
        timeChart("Time to resolve (median) by severity per week", \.resolve)

        let counts = severities.map { sev in (name: sev, values: r.weeks.map { Double(figure($0, sev)?.count ?? 0) }) }
        out.append(["title": "Incidents by severity per week",
                    "svg": ConsoleCharts.bars(title: "Incidents by severity per week", labels: weeks, series: counts, unit: ""),
                    "head": ["Week", "Incidents"] + severities,
                    "rows": r.weeks.map { w in ["cells": [w.week, "\(w.count)"] + severities.map { "\(figure(w, $0)?.count ?? 0)" }] }])

        let adherence = severities.map { sev in
            (name: sev, values: r.weeks.map { (figure($0, sev)?.sla.adherence ?? 0) * 100 })
        }
        out.append(["title": "SLA adherence by severity per week",
                    "svg": ConsoleCharts.bars(title: "SLA adherence by severity per week", labels: weeks, series: adherence, unit: "%"),
                    "head": ["Severity", "Met", "Breached", "Running", "Adherence"],
                    "rows": r.totals.severities.sorted { $0.severity < $1.severity }.map { f in
                        ["cells": [f.severity, "\(f.sla.met)", "\(f.sla.breached)", "\(f.sla.running)",
                                   f.sla.adherence.map { String(format: "%.0f%%", $0 * 100) } ?? "—"]]
                    }])

        let types = r.totals.types.sorted { $0.count > $1.count }.prefix(20)
        out.append(["title": "Incidents by type",
                    "svg": ConsoleCharts.bars(title: "Incidents by type", labels: types.map { $0.type ?? "(none)" },
                                              series: [("incidents", types.map { Double($0.count) })], unit: ""),
                    "head": ["Type", "Incidents"], "rows": types.map { ["cells": [$0.type ?? "(none)", "\($0.count)"]] }])

        let outcomes = r.totals.containment.sorted { $0.count > $1.count }
        out.append(["title": "Automated containment outcomes",
                    "svg": ConsoleCharts.bars(title: "Automated containment outcomes", labels: outcomes.map(\.outcome),
                                              series: [("actions", outcomes.map { Double($0.count) })], unit: ""),
                    "head": ["Outcome", "Actions"], "rows": outcomes.map { ["cells": [$0.outcome, "\($0.count)"]] }])
        return out
    }

    static func fmt(_ seconds: Double?) -> String {
        guard let s = seconds, s.isFinite else { return "—" }
        return ConsoleCharts.format(s, unit: "s")
    }
}
