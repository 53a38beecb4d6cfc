import ArgumentParser
import VigilCore
import VigilControl

/// `vigil silences`: mute paging and automated containment for what matchers select, as
/// `amtool silence` does for Alertmanager (same matcher syntax).
struct SilencesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "silences", abstract: "Silences: add, list, expire, preview (and the configured maintenance windows).",
        subcommands: [Add.self, List.self, Expire.self, Preview.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a silence (or update one with --id).",
            discussion: """
                Matchers as amtool takes them: alertname=DiskFull 'instance=~"db[0-9]+"' severity!=P3.
                An incident is matched by its labels plus incident, severity, type, source, rule,
                fingerprint, containment and component (see Docs/http.md, "Silences").
                """)
        @OptionGroup var location: DaemonLocation
        @Argument(help: "Label matchers (name=value, name!=value, name=~regex, name!~regex).") var matchers: [String]
        @Option(help: "Why (required; it goes into every affected incident's timeline).") var comment: String
        @Option(help: "How long from the start (default 1h), e.g. 2h, \"30 minutes\".") var duration: String?
        @Option(help: "End time, RFC 3339 (instead of --duration).") var end: String?
        @Option(help: "Start time, RFC 3339 (default now).") var start: String?
        @Option(help: "Author (default: your user name).") var author: String?
        @Option(help: "Update this silence instead of adding one.") var id: String?
        @Flag(help: "Print the documented JSON form.") var json = false

        func run() throws {
            var args: [String: JSONValue] = ["matchers": .array(matchers.map(JSONValue.string)), "comment": .string(comment)]
            if let duration { args["duration"] = .string(duration) }
            if let end { args["endsAt"] = .string(end) }
            if let start { args["startsAt"] = .string(start) }
            if let author { args["createdBy"] = .string(author) }
            if let id { args["id"] = .string(id) }
            let result = try location.call("silences.add", args)
            if json { try printJSON(result); return }
            print(result["silenceID"]?.stringValue ?? "")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List pending and active silences (or expired ones) and maintenance windows.")
        @OptionGroup var location: DaemonLocation
        @Argument(help: "Only silences whose equality matchers satisfy these matchers.") var filter: [String] = []
        @Flag(help: "List expired silences instead.") var expired = false
        @Flag(help: "Print the documented JSON form.") var json = false

        func run() throws {
            var args: [String: JSONValue] = ["expired": .bool(expired)]
            if !filter.isEmpty { args["filter"] = .array(filter.map(JSONValue.string)) }
            let result = try location.call("silences.list", args)
            if json { try printJSON(result); return }
            let silences = try (result["silences"] ?? .array([])).decode([SilenceView].self)
            let windows = try (result["maintenanceWindows"] ?? .array([])).decode([MaintenanceWindowView].self)
            if silences.isEmpty { print(expired ? "no expired silences" : "no pending or active silences") } else {
                var t = TextTable("ID", "MATCHERS", "STATE", "ENDS AT", "CREATED BY", "COMMENT")
                for s in silences {
                    let m = s.matchers.map { "\($0.name)\($0.isRegex ? ($0.isEqual ? "=~" : "!~") : ($0.isEqual ? "=" : "!="))\"\($0.value)\"" }
                    t.add([s.id, m.joined(separator: " "), s.status.state, s.endsAt, s.createdBy, s.comment])
                }
                print(t.render())
            }
            if !windows.isEmpty {
                var t = TextTable("MAINTENANCE WINDOW", "MATCHERS", "SCHEDULE", "TIME ZONE", "OPEN")
                for w in windows { t.add([w.name, w.matchers, w.schedule, w.timeZone, w.open ? "yes" : "no"]) }
                print(t.render())
            }
        }
    }

    struct Expire: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Expire silences now.")
        @OptionGroup var location: DaemonLocation
        @Argument(help: "Silence ids.") var ids: [String]
        @Flag(help: "Print the documented JSON form.") var json = false

        func run() throws {
            let result = try location.call("silences.expire", ["ids": .array(ids.map(JSONValue.string))])
            if json { try printJSON(result); return }
            for id in result["expired"]?.arrayValue?.compactMap(\.stringValue) ?? [] { print("expired \(id)") }
        }
    }

    struct Preview: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show what a silence with these matchers would mute now (firing alerts, open incidents).",
            discussion: "Nothing is created. The matchers are read and checked as `silences add` reads them.")
        @OptionGroup var location: DaemonLocation
        @Argument(help: "Label matchers (name=value, name!=value, name=~regex, name!~regex).") var matchers: [String]
        @Option(help: "List at most this many of each (1-1000, default 100); the counts are complete.") var limit: Int?
        @Flag(help: "Print the documented JSON form.") var json = false

        func run() throws {
            var args: [String: JSONValue] = ["matchers": .array(matchers.map(JSONValue.string))]
            if let limit { args["limit"] = .number(Double(limit)) }
            let view = try location.call("silences.preview", args).decode(SilencePreviewView.self)
            if json { try printJSON(view); return }
            print("\(view.matchers) would mute \(view.alertCount) firing alert\(view.alertCount == 1 ? "" : "s") "
                + "and \(view.incidentCount) open incident\(view.incidentCount == 1 ? "" : "s") now")
            if !view.incidents.isEmpty {
                var t = TextTable("INCIDENT", "SEV", "STATE", "ALREADY MUTED BY", "TITLE")
                for i in view.incidents { t.add([i.id, i.severity, i.state, i.mutedBy ?? "-", i.title]) }
                print(t.render())
            }
            if !view.alerts.isEmpty {
                var t = TextTable("ALERT", "SINCE", "ALREADY SILENCED BY", "LABELS")
                for a in view.alerts {
                    t.add([a.fingerprint, a.startsAt, a.silencedBy.isEmpty ? "-" : a.silencedBy.joined(separator: ", "),
                           a.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\"\($0.value)\"" }.joined(separator: " ")])
                }
                print(t.render())
            }
        }
    }
}
