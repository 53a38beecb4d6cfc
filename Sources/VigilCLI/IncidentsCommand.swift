import ArgumentParser
import Foundation
import VigilCore
import VigilControl

struct IncidentsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "incidents", abstract: "Declare, inspect and work incidents.",
        subcommands: [Declare.self, List.self, Show.self, Timeline.self, Ack.self, Assign.self, Escalate.self,
                      Transition.self, Comment.self, Resolve.self, Reopen.self, Classify.self, AckLink.self])

    struct Declare: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Declare an incident by hand (a user report); it is classified, staffed and paged at once.",
            discussion: """
                Severity is a code (P1), a name (Critical) or both ("P1 - Critical") on the active ladder. \
                Without --severity it is decided from --type, --impact, --scope, --service-impact, \
                --security and --data-integrity (the most severe factor wins; see Docs/incidents.md).
                """)
        @OptionGroup var location: DaemonLocation
        @Option(help: "One line saying what is wrong.") var title: String
        @Option(help: "Severity on the active ladder (decided from the other facts when omitted).") var severity: String?
        @Option(help: "A row of the incident-type table, e.g. \"High CPU utilization\".") var type: String?
        @Option(help: "More detail.") var summary: String?
        @Option(help: "Impact on user experience: none, minor, major, critical.") var impact: String?
        @Option(help: "Users affected: none, individual, group, all.") var scope: String?
        @Option(help: "Service impact: none, degraded, \"partial outage\", \"complete outage\".") var serviceImpact: String?
        @Option(name: .customLong("component"), help: "An affected component, e.g. \"plugin system\" (repeatable).")
        var components: [String] = []
        @Flag(help: "Security implications: the security engineer joins.") var security = false
        @Flag(help: "Data-integrity concern (corruption, loss).") var dataIntegrity = false
        @Option(help: "The escalation-path row you start on (default the configured initial responder), e.g. \"Team Lead\".")
        var responder: String?
        @Option(help: "Dedup key: a declaration with the key of an open incident joins it.") var key: String?
        @Option(name: .customLong("as"), help: "Declare as this roster person.") var asPerson: String?
        @Flag(help: "Print the documented JSON form.") var json = false

        func run() throws {
            var args: [String: JSONValue] = ["title": .string(title)]
            let optional: [(String, String?)] = [
                ("severity", severity), ("type", type), ("summary", summary), ("impact", impact), ("user_scope", scope),
                ("service_impact", serviceImpact), ("responder", responder), ("key", key), ("as", asPerson),
            ]
            for (k, v) in optional { if let v { args[k] = .string(v) } }
            if !components.isEmpty { args["components"] = .array(components.map { .string($0) }) }
            if security { args["security"] = .bool(true) }
            if dataIntegrity { args["data_integrity"] = .bool(true) }
            let view = try location.call("incidents.declare", args).decode(IncidentView.self)
            if json { try printJSON(view); return }
            print("declared \(view.id): \(view.severity) \(view.severityName ?? "") \(view.title)")
            print("state \(view.state), SLA \(describe(view.sla))" + (view.sla.deadline.map { ", acknowledge by \($0)" } ?? ""))
            let roles = (view.roleDetails ?? []).map { "\($0.roleName) \($0.person)" }
            if !roles.isEmpty { print("team: " + roles.joined(separator: ", ")) }
            if let channel = view.channel { print("channel: \(channel)") }
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
            var t = TextTable("ID", "SEV", "STATE", "SLA", "ESC", "COUNT", "DETECTED", "TITLE")
            for v in views {
                t.add([v.id, v.severity, v.state + (v.backlog == true ? " (backlog)" : ""), describe(v.sla),
                       "\(v.escalationLevel)", "\(v.occurrences)", v.detectedAt, v.title])
            }
            print(t.render())
        }
    }
}

/// Sends an incident command and prints the one-line outcome (or the JSON view).
func runIncidentCommand(_ location: DaemonLocation, _ command: String, _ args: [String: JSONValue], json: Bool,
                        summary: (IncidentView) -> String) throws {
    let view = try location.call(command, args).decode(IncidentView.self)
    if json { try printJSON(view); return }
    print(summary(view))
}
