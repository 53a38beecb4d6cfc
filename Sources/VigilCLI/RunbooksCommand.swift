import ArgumentParser
import VigilCore
import VigilControl

/// `vigil runbooks list|show|step`: the runbooks of `runbooks.directory` and an incident's
/// progress through its runbook.
struct RunbooksCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runbooks", abstract: "Show runbooks and tick off an incident's runbook steps.",
        subcommands: [List.self, Show.self, Step.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the loaded runbooks.")
        @OptionGroup var location: DaemonLocation
        @Flag(help: "Print the documented JSON form.") var json = false

        func run() throws {
            let views = try location.call("runbooks.list", [:]).decode([RunbookView].self)
            if json { try printJSON(views); return }
            if views.isEmpty { print("no runbooks (runbooks.directory holds no NAME.yaml)"); return }
            var t = TextTable("NAME", "TITLE", "STEPS", "INCIDENT TYPES")
            for v in views { t.add([v.name, v.title, "\(v.steps.count)", v.incidentTypes.joined(separator: ", ")]) }
            print(t.render())
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a runbook's steps, or an incident's runbook with what is done.",
            discussion: "vigil runbooks show performance-degradation\nvigil runbooks show --incident INC-2026-0042")
        @OptionGroup var location: DaemonLocation
        @Argument(help: "The runbook's name.") var name: String?
        @Option(help: "Show the runbook of this incident, with its progress.") var incident: String?
        @Flag(help: "Print the documented JSON form.") var json = false

        func validate() throws {
            if (name == nil) == (incident == nil) { throw ValidationError("give a runbook name or --incident ID") }
        }

        func run() throws {
            var args: [String: JSONValue] = [:]
            if let name { args["name"] = .string(name) }
            if let incident { args["incident"] = .string(incident) }
            let view = try location.call("runbooks.show", args).decode(RunbookView.self)
            if json { try printJSON(view); return }
            RunbooksCommand.show(view)
        }
    }

    struct Step: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Tick a step of an incident's runbook off (or back on with --not-done).",
            discussion: "vigil runbooks step INC-2026-0042 3 --done --note \"rolled back the deploy\"")
        @OptionGroup var location: DaemonLocation
        @Argument(help: "The incident id.") var id: String
        @Argument(help: "The step number, from 1.") var step: Int
        @Flag(inversion: .prefixedNo, help: "Done (default), or --no-done to untick it.") var done = true
        @Option(help: "What was done or found.") var note: String?
        @Option(name: .customLong("as"), help: "Act as this roster person.") var asPerson: String?
        @Flag(name: .customLong("run"),
              help: "For an action step: run the action now (`vigil actions run`) and tick the step off when it succeeds.")
        var runAction = false
        @Flag(help: "With --run: only say what the action would do.") var dryRun = false
        @Flag(help: "Print the documented JSON form.") var json = false

        func run() throws {
            var done = self.done
            var note = self.note
            if runAction {
                let shown = try location.call("runbooks.show", ["incident": .string(id)]).decode(RunbookView.self)
                guard let s = shown.steps.first(where: { $0.number == step }) else {
                    throw ValidationError("runbook \(shown.name) has steps 1 to \(shown.steps.count), not \(step)")
                }
                guard s.kind == "action" else {
                    throw ValidationError("step \(step) is a check (\(s.text)), not an action: tick it off without --run")
                }
                // An action step's text is the action's name.
                var args: [String: JSONValue] = ["action": .string(s.text), "incident": .string(id)]
                if dryRun { args["dry_run"] = .bool(true) }
                let action = try location.call("actions.run", args).decode(ActionView.self)
                ActionsCommand.show(action)
                print("")
                done = action.state == ActionState.succeeded.rawValue
                note = "action \(action.id) \(action.state)" + (action.detail.map { ": \($0)" } ?? "")
                    + (self.note.map { " — \($0)" } ?? "")
                guard done else {
                    print("step \(step) not ticked off: the action \(action.state == "simulated" ? "was a dry run" : "did not succeed")")
                    throw ExitCode(action.state == "simulated" ? 0 : 1)
                }
            }
            var args: [String: JSONValue] = ["id": .string(id), "step": .number(Double(step)), "done": .bool(done)]
            if let note { args["note"] = .string(note) }
            if let asPerson { args["as"] = .string(asPerson) }
            let view = try location.call("runbooks.step", args).decode(RunbookView.self)
            if json { try printJSON(view); return }
            RunbooksCommand.show(view)
        }
    }

    static func show(_ v: RunbookView) {
        print("\(v.name)  \(v.title)")
        if !v.incidentTypes.isEmpty { print("for: \(v.incidentTypes.joined(separator: ", "))") }
        if let incident = v.incident {
            print("\(incident): \(v.done ?? 0) of \(v.steps.count) steps done" + (v.next.map { ", next: step \($0)" } ?? ", all done"))
        }
        print("")
        var t = v.incident == nil ? TextTable("#", "KIND", "STEP") : TextTable("#", "DONE", "KIND", "STEP", "BY", "NOTE")
        for s in v.steps {
            if v.incident == nil {
                t.add(["\(s.number)", s.kind, s.text])
            } else {
                t.add(["\(s.number)", s.done == true ? "yes" : "-", s.kind, s.text,
                       s.by.map { "\($0) at \(s.at ?? "")" } ?? "", s.note ?? ""])
            }
        }
        print(t.render())
    }
}
