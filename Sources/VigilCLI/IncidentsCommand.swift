import ArgumentParser
import Foundation
import VigilCore
import VigilControl

struct IncidentsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "incidents", abstract: "Declare, inspect and work incidents.",
        subcommands: [Declare.self, List.self, Count.self, Show.self, Timeline.self, Ack.self, Assign.self, Escalate.self,
                      Transition.self, Comment.self, Resolve.self, Dismiss.self, Reopen.self, Classify.self, AckLink.self])

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

    /// The filters `list` and `count` share.
    struct Filters: ParsableArguments {
        @Option(name: .long, parsing: .upToNextOption,
                help: "Only these states (open, detected, classified, …, resolved, closed).")
        var state: [String] = []
        @Option(help: "Only this severity, a code or a name on the ladder (repeatable).") var severity: [String] = []
        @Option(help: "Only this incident type, e.g. \"High CPU utilization\".") var type: String?
        @Option(help: "Only incidents about this component (their component label or classified components).")
        var component: String?
        @Option(help: "Only incidents whose id, title or summary contains this text (any case).") var text: String?

        var args: [String: JSONValue] {
            var args: [String: JSONValue] = [:]
            if !state.isEmpty { args["states"] = .array(state.map { .string($0) }) }
            if !severity.isEmpty { args["severity"] = .array(severity.map { .string($0) }) }
            if let type { args["type"] = .string(type) }
            if let component { args["component"] = .string(component) }
            if let text { args["text"] = .string(text) }
            return args
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List incidents, newest first (or open first), a page at a time.",
            discussion: "Without --limit the newest 1000 are listed; page with --limit and --offset, count with `vigil incidents count`.")
        @OptionGroup var location: DaemonLocation
        @OptionGroup var filters: Filters
        @Option(help: "At most this many (1-1000, default 1000).") var limit: Int?
        @Option(help: "Skip this many first (for the next page).") var offset: Int?
        @Option(help: "newest (default) or open-first.") var order: String?
        @Flag(help: "Print the documented JSON form.") var json = false

        func run() throws {
            var args = filters.args
            if let limit { args["limit"] = .number(Double(limit)) }
            if let offset { args["offset"] = .number(Double(offset)) }
            if let order { args["order"] = .string(order) }
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

    struct Count: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Count the incidents the list's filters select.")
        @OptionGroup var location: DaemonLocation
        @OptionGroup var filters: Filters
        @Flag(help: "Print the documented JSON form ({\"total\": N}).") var json = false

        func run() throws {
            let result = try location.call("incidents.count", filters.args)
            if json { try printJSON(result); return }
            print(result["total"]?.doubleValue.flatMap { Int(exactly: $0) }.map(String.init) ?? "?")
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
