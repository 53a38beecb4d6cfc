import ArgumentParser
import VigilControl
import VigilCore

/// `vigil changes`: the changes root-cause help ranks against incidents (Docs/root-cause.md):
/// deploys posted by pipelines, and the configuration reloads and plugin changes vigild records.
struct ChangesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "changes",
        abstract: "Changes that may explain incidents: record a deploy, list what changed.",
        discussion: "Kinds: " + ChangeRecord.Kind.allCases.map(\.rawValue).joined(separator: ", ")
            + ". Senders record " + ChangeRecord.Kind.postable.map(\.rawValue).joined(separator: ", ")
            + "; vigild records the rest itself.",
        subcommands: [Record.self, List.self])

    struct Record: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record a change (a deploy by default), as a deploy pipeline would with POST /api/v1/changes.")
        @OptionGroup var location: DaemonLocation
        @Option(help: "deploy, rollback, feature-flag or infrastructure.") var kind = "deploy"
        @Option(help: "The component that changed (one of components: in the configuration).") var component: String
        @Option(help: "What changed, in one line (a release, a flag and its value).") var summary: String
        @Option(help: "A short name for it (a version); the summary by default.") var subject: String?
        @Option(help: "More text (may hold several lines).") var detail: String?
        @Option(help: ArgumentHelp("When it happened: RFC 3339 or an offset like -10 minutes; now by default.", valueName: "time"))
        var at: String?
        @Flag(help: "Print the documented JSON form.") var json = false

        func run() throws {
            var args: [String: JSONValue] = ["kind": .string(kind), "component": .string(component), "summary": .string(summary)]
            if let subject { args["subject"] = .string(subject) }
            if let detail { args["detail"] = .string(detail) }
            if let at { args["at"] = .string(at) }
            let view = try location.call("changes.record", args).decode(ChangeView.self)
            if json { try printJSON(view); return }
            print("change \(view.id): \(view.kind) of \(view.component ?? "-") at \(view.time): \(TerminalText.cell(view.summary))")
            if let warning = view.warning { print("warning: " + TerminalText.cell(warning)) }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Recorded changes, newest first.")
        @OptionGroup var location: DaemonLocation
        @Option(help: ArgumentHelp("Only changes at or after this time: RFC 3339 or an offset like -24 hours.", valueName: "time"))
        var since: String?
        @Option(help: ArgumentHelp("Only changes before this time.", valueName: "time")) var until: String?
        @Option(help: "Only changes of this component.") var component: String?
        @Option(help: "Only this kind (repeatable).") var kind: [String] = []
        @Option(help: "At most this many (1 to 1000).") var limit = 100
        @Flag(help: "Print the documented JSON form.") var json = false

        func run() throws {
            var args: [String: JSONValue] = ["limit": .number(Double(limit))]
            if let since { args["since"] = .string(since) }
            if let until { args["until"] = .string(until) }
            if let component { args["component"] = .string(component) }
            if !kind.isEmpty { args["kind"] = .array(kind.map { .string($0) }) }
            let views = try location.call("changes.list", args).decode([ChangeView].self)
            if json { try printJSON(views); return }
            var t = TextTable("ID", "TIME", "KIND", "COMPONENT", "BY", "SUMMARY")
            for v in views { t.add(["\(v.id)", v.time, v.kind, v.component ?? "-", v.actor, v.summary]) }
            print(t.render())
        }
    }
}
