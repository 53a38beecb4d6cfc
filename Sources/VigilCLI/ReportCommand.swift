import ArgumentParser
import VigilCore
import VigilControl

/// `vigil report`: how the response went, from the incident records.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report", abstract: "Reports from the incident records.", subcommands: [Response.self])

    struct Response: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Time to detect, acknowledge, contain and resolve per ISO week and severity; SLA adherence.",
            discussion: "Incidents count in the week they were opened; times are from detection (Docs/incidents.md, \"Response metrics\").")
        @OptionGroup var location: DaemonLocation
        @Option(help: "How many weeks, this one included (1-104, default 12).") var weeks: Int?
        @Option(help: "Only this severity (repeatable).") var severity: [String] = []
        @Option(help: "Only this incident type.") var type: String?
        @Option(help: "Only incidents about this component.") var component: String?
        @Flag(help: "Print the documented JSON form.") var json = false

        func run() throws {
            var args: [String: JSONValue] = [:]
            if let weeks { args["weeks"] = .number(Double(weeks)) }
            if !severity.isEmpty { args["severity"] = .array(severity.map { .string($0) }) }
            if let type { args["type"] = .string(type) }
            if let component { args["component"] = .string(component) }
            let view = try location.call("report.response", args).decode(ResponseReportView.self)
            if json { try printJSON(view); return }
            print("response from \(view.from) until \(view.until): \(view.totals.count) incidents (median / 90th percentile)")
            var t = TextTable("WEEK", "SEV", "COUNT", "DETECT", "ACKNOWLEDGE", "CONTAIN", "RESOLVE", "SLA MET")
            for week in view.weeks {
                for s in week.severities where s.count > 0 {
                    t.add([week.week, s.severity, "\(s.count)", Self.span(s.detect), Self.span(s.acknowledge),
                           Self.span(s.contain), Self.span(s.resolve), Self.share(s.sla)])
                }
            }
            for s in view.totals.severities where s.count > 0 {
                t.add(["all", s.severity, "\(s.count)", Self.span(s.detect), Self.span(s.acknowledge), Self.span(s.contain),
                       Self.span(s.resolve), Self.share(s.sla)])
            }
            print(t.render())
            if !view.totals.types.isEmpty {
                print("by type: " + view.totals.types.map { "\($0.type ?? "(none)") \($0.count)" }.joined(separator: ", "))
            }
            if !view.totals.containment.isEmpty {
                print("automated containment: " + view.totals.containment.map { "\($0.outcome) \($0.count)" }.joined(separator: ", "))
            }
        }

        static func span(_ stats: ResponseReportView.DurationStats) -> String {
            guard let p50 = stats.p50, let p90 = stats.p90 else { return "-" }
            return "\(short(p50)) / \(short(p90))"
        }

        static func short(_ seconds: Double) -> String {
            guard seconds.isFinite else { return "?" }
            let s = Int(max(-1e12, min(1e12, seconds)).rounded())
            if abs(s) >= 86_400 { return "\(s / 86_400)d\(abs(s) % 86_400 / 3600)h" }
            if abs(s) >= 3600 { return "\(s / 3600)h\(abs(s) % 3600 / 60)m" }
            if abs(s) >= 60 { return "\(s / 60)m\(abs(s) % 60)s" }
            return "\(s)s"
        }

        static func share(_ sla: ResponseReportView.SLAStats) -> String {
            guard let a = sla.adherence else { return "-" }
            return "\(Int((a * 100).rounded()))% (\(sla.met)/\(sla.met + sla.breached))"
        }
    }
}
