import ArgumentParser
import VigilCore
import VigilControl
import Foundation

/// `vigil report`: how the response went, from the incident records.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report", abstract: "Reports from the incident records.", subcommands: [Metrics.self, Response.self])

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

    struct Metrics: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "MTTD, MTTA, MTTC and MTTR over a period by severity, type, component, rule or plugin; targets, "
                + "containment success, noisiest rules and plugins, false positives.",
            discussion: "Incidents count in the period they were opened in; times are from detection (Docs/reports.md).")
        @OptionGroup var location: DaemonLocation
        @Option(help: ArgumentHelp("Start of the period: an RFC 3339 time, or a duration back from --until like `7 days` (default 30 days).",
                                   valueName: "time|duration")) var since: String?
        @Option(help: ArgumentHelp("End of the period, RFC 3339 (default now).", valueName: "time")) var until: String?
        @Option(help: "Group by severity (default), type, component, rule or plugin.") var by: String?
        @Option(help: "Only this severity (repeatable).") var severity: [String] = []
        @Option(help: "Only this incident type.") var type: String?
        @Option(help: "Only incidents about this component.") var component: String?
        @Flag(help: "Print the documented JSON form.") var json = false
        @Flag(help: "Print the groups as CSV (one row per group, then the total).") var csv = false

        func validate() throws {
            if json && csv { throw ValidationError("--json and --csv: choose one") }
        }

        func run() throws {
            var args: [String: JSONValue] = [:]
            if let since {
                if since.first?.isNumber == true, since.contains("-"), since.contains("T") || since.contains("t") {
                    args["from"] = .string(since)
                } else {
                    args["since"] = .string(since)
                }
            }
            if let until { args["until"] = .string(until) }
            if let by { args["by"] = .string(by) }
            if !severity.isEmpty { args["severity"] = .array(severity.map { .string($0) }) }
            if let type { args["type"] = .string(type) }
            if let component { args["component"] = .string(component) }
            let view = try location.call("report.metrics", args).decode(MetricsReportView.self)
            if json { try printJSON(view); return }
            if csv { Swift.print(Self.csv(view), terminator: ""); return }
            print(Self.text(view))
        }

        static func text(_ view: MetricsReportView) -> String {
            var lines = ["metrics from \(view.from) until \(view.until): \(view.total.count) incident(s) by \(view.by) (mean / 90th percentile)"]
            var t = TextTable(view.by.uppercased(), "COUNT", "DETECT", "ACKNOWLEDGE", "CONTAIN", "RESOLVE", "SLA MET", "FALSE POS")
            for g in view.groups + [view.total] where g.count > 0 || view.by == "severity" {
                t.add([g.key + (g.name.map { " (\($0))" } ?? ""), "\(g.count)", span(g.detect), span(g.acknowledge),
                       span(g.contain), span(g.resolve), Response.share(g.sla), "\(g.falsePositives)"])
            }
            lines.append(t.render())
            for target in view.targets {
                let verdict = switch target.met {
                case true?: "met"
                case false?: "MISSED"
                case nil: "nothing to judge"
                }
                var line = "target \(TerminalText.cell(target.name)): \(target.statistic) time to \(target.phase) for \(target.severities.joined(separator: "/")) "
                line += target.value.map { "\(Response.short($0)) over \(target.count) incident(s)" } ?? "(no incident reached it)"
                line += ", limit \(Response.short(target.belowSeconds)): \(verdict)"
                if target.missCount > 0 {
                    line += "; \(target.missCount) incident(s) at or over the limit: "
                        + target.misses.prefix(10).map { "\(TerminalText.cell($0.id)) (\(TerminalText.cell($0.severity))) \(Response.short($0.seconds))" }.joined(separator: ", ")
                        + (target.missCount > 10 ? ", …" : "")
                }
                lines.append(line)
            }
            let c = view.containment
            var containment = "automated containment: \(c.requested) requested"
            if let rate = c.successRate {
                containment += ", \(c.succeeded) of \(c.attempted) attempted succeeded (\(Int((rate * 100).rounded()))%)"
            }
            if !c.outcomes.isEmpty { containment += "; " + c.outcomes.map { "\(TerminalText.cell($0.outcome)) \($0.count)" }.joined(separator: ", ") }
            lines.append(containment)
            func noise(_ list: [MetricsReportView.Noise]) -> String {
                list.isEmpty ? "none" : list.map { n in
                    "\(TerminalText.cell(n.key)) \(n.incidents)" + (n.occurrences > n.incidents ? " (\(n.occurrences) signals)" : "")
                        + (n.falsePositives > 0 ? " [\(n.falsePositives) false positive(s)]" : "")
                }.joined(separator: ", ")
            }
            lines.append("noisiest rules: " + noise(view.noisiestRules))
            lines.append("noisiest plugins: " + noise(view.noisiestPlugins))
            lines.append("false positives: \(view.falsePositives)")
            return lines.joined(separator: "\n")
        }

        static func span(_ s: MetricsReportView.Stats) -> String {
            guard let mean = s.mean, let p90 = s.p90 else { return "-" }
            return "\(Response.short(mean)) / \(Response.short(p90))"
        }

        /// RFC 4180 rows; a cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab,
        /// carriage return first) is prefixed with `'`, since keys come from alert labels.
        static func csv(_ view: MetricsReportView) -> String {
            func cell(_ text: String) -> String { CSV.cell(text) }
            func number(_ v: Double?) -> String { v.map { String($0) } ?? "" }
            var header = ["by", "key", "name", "count", "occurrences"]
            for phase in ["detect", "acknowledge", "contain", "resolve"] {
                header += ["count", "mean", "p50", "p90", "p99", "max"].map { "\(phase)_\($0)_seconds" }
            }
            header += ["sla_met", "sla_breached", "sla_running", "sla_adherence", "false_positives"]
            header = header.map { $0.replacingOccurrences(of: "_count_seconds", with: "_count") }
            var rows = [header.joined(separator: ",")]
            for g in view.groups + [view.total] {
                var r = [view.by, g.key, g.name ?? "", "\(g.count)", "\(g.occurrences)"].map(cell)
                for s in [g.detect, g.acknowledge, g.contain, g.resolve] {
                    r += ["\(s.count)", number(s.mean), number(s.p50), number(s.p90), number(s.p99), number(s.max)]
                }
                r += ["\(g.sla.met)", "\(g.sla.breached)", "\(g.sla.running)", number(g.sla.adherence), "\(g.falsePositives)"]
                rows.append(r.joined(separator: ","))
            }
            return CSV.document(rows)
        }
    }
}
