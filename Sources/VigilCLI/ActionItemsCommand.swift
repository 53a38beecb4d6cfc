import ArgumentParser
import Foundation
import VigilControl
import VigilCore

/// `vigil action-items`: seed 004 Phase 5's action items across incidents.
struct ActionItemsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "action-items",
        abstract: "Action items across incidents: list (overdue first), add, update; export as CSV or JSON.",
        discussion: "States: open, in-progress, done, verified, dropped (Docs/action-items.md).",
        subcommands: [List.self, Add.self, Update.self])

    typealias Item = IncidentView.ActionItemView

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Action items, overdue first, then by due date.")
        @OptionGroup var location: DaemonLocation
        @Option(help: "Only this owner's.") var owner: String?
        @Option(help: "Only in this state (repeatable; `open` means open and in-progress).") var state: [String] = []
        @Option(help: "Only this incident's.") var incident: String?
        @Flag(help: "Only those past their due date.") var overdue = false
        @Flag(help: "Print the documented JSON form (an export a tracker can import).") var json = false
        @Flag(help: "Print CSV (RFC 4180; an export a tracker or spreadsheet can import).") var csv = false

        func validate() throws {
            if json && csv { throw ValidationError("--json and --csv: choose one") }
        }

        func run() throws {
            var args: [String: JSONValue] = [:]
            if let owner { args["owner"] = .string(owner) }
            if !state.isEmpty { args["state"] = .array(state.map { .string($0) }) }
            if let incident { args["incident"] = .string(incident) }
            if overdue { args["overdue"] = .bool(true) }
            let items = try location.call("actionitems.list", args).decode([Item].self)
            if json { try printJSON(items); return }
            if csv { Swift.print(ActionItemsCommand.csv(items), terminator: ""); return }
            var t = TextTable("ID", "STATE", "DUE", "OWNER", "CATEGORY", "INCIDENT", "AFTER", "TITLE")
            for i in items {
                t.add(["\(i.id ?? 0)", i.state, (i.dueAt ?? "-") + (i.overdue == true ? " OVERDUE" : ""), i.owner ?? "-",
                       i.category ?? "-", i.incident ?? "-", i.dependsOn.map { $0.map { "#\($0)" }.joined(separator: ",") } ?? "-",
                       i.title])
            }
            print(t.render())
        }
    }

    struct Fields: ParsableArguments {
        @Option(help: "What is to be done.") var title: String?
        @Option(help: "Who owns it (a roster person).") var owner: String?
        @Option(help: ArgumentHelp("When it is due: RFC 3339 or an offset (`in 14 days`); `none` removes it.", valueName: "time")) var due: String?
        @Option(help: "prevent, detect, mitigate or process.") var category: String?
        @Option(help: "How to tell it worked.") var successCriteria: String?
        @Option(help: ArgumentHelp("Items that must be settled first (comma-separated numbers; empty removes them).",
                                   valueName: "ids")) var dependsOn: String?
        @Option(help: "The issue tracker's link for it.") var trackerUrl: String?

        var args: [String: JSONValue] {
            var a: [String: JSONValue] = [:]
            for (key, value) in [("title", title), ("owner", owner), ("due", due), ("category", category),
                                 ("success_criteria", successCriteria), ("tracker_url", trackerUrl)] {
                if let value { a[key] = .string(value) }
            }
            if let dependsOn {
                a["depends_on"] = dependsOn.trimmingCharacters(in: .whitespaces).isEmpty ? .array([]) : .string(dependsOn)
            }
            return a
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add an action item to an incident.")
        @OptionGroup var location: DaemonLocation
        @Argument(help: "The incident it comes from.") var incident: String
        @OptionGroup var fields: Fields
        @Option(name: .customLong("as"), help: "Act as this roster person.") var asPerson: String?
        @Flag(help: "Print the documented JSON form.") var json = false

        func run() throws {
            var args = fields.args
            args["incident"] = .string(incident)
            if let asPerson { args["as"] = .string(asPerson) }
            let item = try location.call("actionitems.add", args).decode(Item.self)
            if json { try printJSON(item); return }
            print("action item #\(item.id ?? 0) added to \(item.incident ?? incident): \(item.title)")
        }
    }

    struct Update: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change an action item: its state (open, in-progress, done, verified, dropped) and any field.")
        @OptionGroup var location: DaemonLocation
        @Argument(help: "The action item's number.") var id: Int
        @Option(help: "The new state.") var state: String?
        @OptionGroup var fields: Fields
        @Option(help: "Why (required to drop it).") var note: String?
        @Option(name: .customLong("as"), help: "Act as this roster person.") var asPerson: String?
        @Flag(help: "Print the documented JSON form.") var json = false

        func run() throws {
            var args = fields.args
            args["id"] = .number(Double(id))
            if let state { args["state"] = .string(state) }
            if let note { args["note"] = .string(note) }
            if let asPerson { args["as"] = .string(asPerson) }
            let item = try location.call("actionitems.update", args).decode(Item.self)
            if json { try printJSON(item); return }
            print("action item #\(item.id ?? 0) \(item.state): \(item.title)")
        }
    }

    /// RFC 4180, one row per item; a cell a spreadsheet would run as a formula is prefixed with `'`.
    static func csv(_ items: [Item]) -> String {
        func cell(_ text: String?) -> String { CSV.cell(text) }
        var rows = ["id,state,title,owner,due_at,overdue,category,success_criteria,depends_on,incident,tracker_url,created_at,updated_at"]
        for i in items {
            rows.append([cell("\(i.id ?? 0)"), cell(i.state), cell(i.title), cell(i.owner), cell(i.dueAt),
                         cell(i.overdue == true ? "true" : "false"), cell(i.category), cell(i.successCriteria),
                         cell(i.dependsOn?.map(String.init).joined(separator: " ")), cell(i.incident), cell(i.trackerUrl),
                         cell(i.createdAt), cell(i.updatedAt)].joined(separator: ","))
        }
        return CSV.document(rows)
    }
}
