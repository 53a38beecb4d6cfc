import ArgumentParser
import VigilCore
import VigilControl

extension IncidentsCommand {
    struct Ack: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Acknowledge an incident: stops the response clock and automatic escalation.")
        @OptionGroup var location: DaemonLocation
        @Argument(help: "The incident id, e.g. INC-2026-0001.") var id: String
        @Option(help: "A note for the timeline.") var note: String?
        @Option(name: .customLong("as"), help: "Acknowledge as this roster person.") var asPerson: String?
        @Flag(help: "Print the documented JSON form.") var json = false

        func run() throws {
            var args: [String: JSONValue] = ["id": .string(id)]
            if let note { args["note"] = .string(note) }
            if let asPerson { args["as"] = .string(asPerson) }
            try runIncidentCommand(location, "incidents.ack", args, json: json) {
                "\($0.id) acknowledged at \($0.acknowledgedAt ?? "-"); response SLA \($0.sla.state)"
            }
        }
    }

    struct Assign: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Give a role to a roster person (incident_commander transfers command).",
            discussion: "Roles: incident_commander, technical_lead, communications_lead, operations_engineer, "
                + "security_engineer, the escalation roles (team_lead, engineering_manager, cto) and specialist:<component>.")
        @OptionGroup var location: DaemonLocation
        @Argument(help: "The incident id.") var id: String
        @Option(help: "The role id, e.g. incident_commander.") var role: String
        @Option(help: "The roster person id, e.g. bob.") var person: String
        @Option(help: "Why (kept in the timeline and sent to the person).") var reason: String?
        @Option(name: .customLong("as"), help: "Act as this roster person.") var asPerson: String?
        @Flag(help: "Print the documented JSON form.") var json = false

        func run() throws {
            var args: [String: JSONValue] = ["id": .string(id), "role": .string(role), "person": .string(person)]
            if let reason { args["reason"] = .string(reason) }
            if let asPerson { args["as"] = .string(asPerson) }
            try runIncidentCommand(location, "incidents.assign", args, json: json) { v in
                "\(v.id): \(v.roleDetails?.first { $0.role == role }?.roleName ?? role) is now \(person)"
            }
        }
    }

    struct Escalate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Escalate to the next level of the incident's escalation path, with a reason.")
        @OptionGroup var location: DaemonLocation
        @Argument(help: "The incident id.") var id: String
        @Option(help: "Why (sent with the incident's context and timeline to the next level).") var reason: String
        @Flag(help: "Hand the incident commander role to the person reached.") var transferCommand = false
        @Option(name: .customLong("as"), help: "Act as this roster person.") var asPerson: String?
        @Flag(help: "Print the documented JSON form.") var json = false

        func run() throws {
            var args: [String: JSONValue] = ["id": .string(id), "reason": .string(reason),
                                             "transfer_command": .bool(transferCommand)]
            if let asPerson { args["as"] = .string(asPerson) }
            try runIncidentCommand(location, "incidents.escalate", args, json: json) { v in
                "\(v.id) escalated to level \(v.escalationLevel) (\(v.escalation?.path ?? "-"))"
                    + (v.roles["incident_commander"].map { "; commander \($0)" } ?? "")
            }
        }
    }

    struct Transition: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Move an incident one step along its lifecycle, with a reason.",
            discussion: "detected → classified → mobilised → containing → contained → investigating → remediating → "
                + "recovering → validating → resolved (use `resolve`) → post-mortem → closed; validating → "
                + "investigating when not fully restored (escalates).")
        @OptionGroup var location: DaemonLocation
        @Argument(help: "The incident id.") var id: String
        @Argument(help: "The new state, e.g. containing.") var state: String
        @Option(help: "Why.") var reason: String
        @Option(name: .customLong("as"), help: "Act as this roster person.") var asPerson: String?
        @Flag(help: "Print the documented JSON form.") var json = false

        func run() throws {
            var args: [String: JSONValue] = ["id": .string(id), "state": .string(state), "reason": .string(reason)]
            if let asPerson { args["as"] = .string(asPerson) }
            try runIncidentCommand(location, "incidents.transition", args, json: json) { "\($0.id) is now \($0.state)" }
        }
    }

    struct Comment: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a comment; with --status-update, publish it to stakeholders and the status page.")
        @OptionGroup var location: DaemonLocation
        @Argument(help: "The incident id.") var id: String
        @Argument(help: "The text.") var text: String
        @Flag(help: "A status update: rendered with the Incident Communication Template, sent, and the cadence restarts.")
        var statusUpdate = false
        @Option(help: "Estimated time of resolution, for the status update.") var eta: String?
        @Option(name: .customLong("as"), help: "Act as this roster person.") var asPerson: String?
        @Flag(help: "Print the documented JSON form.") var json = false

        func run() throws {
            var args: [String: JSONValue] = ["id": .string(id), "text": .string(text), "status_update": .bool(statusUpdate)]
            if let eta { args["eta"] = .string(eta) }
            if let asPerson { args["as"] = .string(asPerson) }
            try runIncidentCommand(location, "incidents.comment", args, json: json) { v in
                statusUpdate ? "\(v.id): status update sent; next due \(v.statusUpdates?.nextDue ?? "-")" : "\(v.id): comment added"
            }
        }
    }

    struct Resolve: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Resolve a validated incident: verification, resolution, stakeholders notified, post-mortem and follow-ups.")
        @OptionGroup var location: DaemonLocation
        @Argument(help: "The incident id.") var id: String
        @Option(help: "How you verified it is truly resolved.") var verification: String
        @Option(help: "What resolved it.") var summary: String
        @Option(help: "The root cause in plain words.") var rootCause: String?
        @Option(name: .customLong("action"), help: "A key action taken (repeatable).") var actions: [String] = []
        @Option(name: .customLong("follow-up"), help: "Follow-up work to track (repeatable).") var followUps: [String] = []
        @Option(name: .customLong("as"), help: "Act as this roster person.") var asPerson: String?
        @Flag(help: "Print the documented JSON form.") var json = false

        func run() throws {
            var args: [String: JSONValue] = [
                "id": .string(id), "verification": .string(verification), "summary": .string(summary),
                "actions": .array(actions.map { .string($0) }), "follow_ups": .array(followUps.map { .string($0) }),
            ]
            if let rootCause { args["root_cause"] = .string(rootCause) }
            if let asPerson { args["as"] = .string(asPerson) }
            try runIncidentCommand(location, "incidents.resolve", args, json: json) { v in
                "\(v.id) resolved at \(v.resolvedAt ?? "-")" + (v.postMortemDueAt.map { "; post-mortem due \($0)" } ?? "")
            }
        }
    }

    struct Reopen: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Reopen a resolved or closed incident (back to investigating).")
        @OptionGroup var location: DaemonLocation
        @Argument(help: "The incident id.") var id: String
        @Option(help: "Why.") var reason: String
        @Option(name: .customLong("as"), help: "Act as this roster person.") var asPerson: String?
        @Flag(help: "Print the documented JSON form.") var json = false

        func run() throws {
            var args: [String: JSONValue] = ["id": .string(id), "reason": .string(reason)]
            if let asPerson { args["as"] = .string(asPerson) }
            try runIncidentCommand(location, "incidents.reopen", args, json: json) { "\($0.id) reopened: \($0.state)" }
        }
    }

    struct Dismiss: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Close an open incident as a false positive (not an incident), saying why.",
            discussion: "No post-mortem; role holders are told to stand down; `vigil report metrics` counts it as a false positive.")
        @OptionGroup var location: DaemonLocation
        @Argument(help: "The incident id.") var id: String
        @Option(help: "Why it is not an incident.") var reason: String
        @Option(name: .customLong("as"), help: "Act as this roster person.") var asPerson: String?
        @Flag(help: "Print the documented JSON form.") var json = false

        func run() throws {
            var args: [String: JSONValue] = ["id": .string(id), "reason": .string(reason)]
            if let asPerson { args["as"] = .string(asPerson) }
            try runIncidentCommand(location, "incidents.dismiss", args, json: json) { "\($0.id) closed as a false positive" }
        }
    }

    struct Classify: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change an open incident's severity, with a reason.")
        @OptionGroup var location: DaemonLocation
        @Argument(help: "The incident id.") var id: String
        @Option(help: "The new severity on the active ladder.") var severity: String
        @Option(help: "Why.") var reason: String
        @Option(name: .customLong("as"), help: "Act as this roster person.") var asPerson: String?
        @Flag(help: "Print the documented JSON form.") var json = false

        func run() throws {
            var args: [String: JSONValue] = ["id": .string(id), "severity": .string(severity), "reason": .string(reason)]
            if let asPerson { args["as"] = .string(asPerson) }
            try runIncidentCommand(location, "incidents.classify", args, json: json) { v in
                "\(v.id) is now \(v.severity) (\(v.severityName ?? "")); SLA \(describe(v.sla))"
            }
        }
    }
}
