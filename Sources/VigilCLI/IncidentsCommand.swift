import ArgumentParser
import Foundation
import VigilCore
import VigilDaemon

struct IncidentsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "incidents", abstract: "Declare, list and inspect incidents.",
        subcommands: [Declare.self, List.self, Show.self])

    struct Declare: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Declare an incident by hand (a user report).",
            discussion: "Severity is a code (P1), a name (Critical) or both (\"P1 - Critical\") on the active ladder.")
        @OptionGroup var location: DaemonLocation
        @Option(help: "One line saying what is wrong.") var title: String
        @Option(help: "Severity on the active ladder; defaults to the incident type's.") var severity: String?
        @Option(help: "A row of the incident-type table, e.g. \"High CPU utilization\".") var type: String?
        @Option(help: "More detail.") var summary: String?
        @Flag(help: "Print the documented JSON form.") var json = false

        func run() throws {
            var args: [String: JSONValue] = ["title": .string(title)]
            if let severity { args["severity"] = .string(severity) }
            if let type { args["type"] = .string(type) }
            if let summary { args["summary"] = .string(summary) }
            let view = try location.call("incidents.declare", args).decode(IncidentView.self)
            if json { try printJSON(view); return }
            print("declared \(view.id): \(view.severity) \(view.severityName ?? "") \(view.title)")
            print("state \(view.state), SLA \(describe(view.sla))"
                  + (view.sla.deadline.map { ", acknowledge by \($0)" } ?? ""))
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List incidents, newest first.")
        @OptionGroup var location: DaemonLocation
        @Option(name: .long, parsing: .upToNextOption,
                help: "Only these states (open, detected, classified, …, resolved, closed).")
        var state: [String] = []
        @Flag(help: "Print the documented JSON form.") var json = false

        func run() throws {
            let args: [String: JSONValue] = state.isEmpty ? [:] : ["states": .array(state.map { .string($0) })]
            let views = try location.call("incidents.list", args).decode([IncidentView].self)
            if json { try printJSON(views); return }
            if views.isEmpty { print("no incidents"); return }
            var t = TextTable("ID", "SEV", "STATE", "SLA", "COUNT", "DETECTED", "TITLE")
            for v in views {
                t.add([v.id, v.severity, v.state, describe(v.sla), "\(v.occurrences)", v.detectedAt, v.title])
            }
            print(t.render())
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one incident with its classification and timeline.")
        @OptionGroup var location: DaemonLocation
        @Argument(help: "The incident id, e.g. INC-2026-0001.") var id: String
        @Flag(help: "Print the documented JSON form.") var json = false

        func run() throws {
            let v = try location.call("incidents.show", ["id": .string(id)]).decode(IncidentView.self)
            if json { try printJSON(v); return }
            print("\(v.id)  \(v.title)")
            var facts = TextTable("FIELD", "VALUE")
            facts.add(["severity", "\(v.severity)" + (v.severityName.map { " (\($0))" } ?? "")])
            facts.add(["state", v.state])
            facts.add(["type", v.type ?? "-"])
            facts.add(["source", v.source])
            facts.add(["detected", v.detectedAt])
            facts.add(["occurrences", "\(v.occurrences)"])
            facts.add(["SLA", describe(v.sla) + (v.sla.deadline.map { ", deadline \($0)" } ?? "")])
            facts.add(["acknowledged", v.acknowledgedAt ?? "-"])
            facts.add(["escalation level", "\(v.escalationLevel)"])
            if let c = v.containmentCategory { facts.add(["containment", c]) }
            if let r = v.runbook { facts.add(["runbook", r]) }
            if !v.summary.isEmpty { facts.add(["summary", v.summary]) }
            print(facts.render().split(separator: "\n").dropFirst().joined(separator: "\n"))
            if !v.roles.isEmpty {
                print("\nROLES")
                for (role, person) in v.roles.sorted(by: { $0.key < $1.key }) { print("  \(role): \(person)") }
            }
            if let c = v.classification, !c.rationale.isEmpty {
                print("\nCLASSIFICATION RATIONALE")
                for line in c.rationale { print("  - \(line)") }
            }
            if let timeline = v.timeline, !timeline.isEmpty {
                print("\nTIMELINE")
                var t = TextTable("#", "TIME", "ACTOR", "KIND", "MESSAGE")
                for e in timeline { t.add(["\(e.sequence)", e.time, e.actor, e.kind, e.message]) }
                print(t.render())
            }
        }
    }
}
