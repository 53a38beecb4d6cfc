import ArgumentParser
import VigilCore
import VigilControl

/// `vigil actions`: containment action requests — what ran, why and what it changed; approve,
/// deny, undo, run one by hand, verify containment.
struct ActionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "actions", abstract: "Containment actions: list, approve, deny, undo, run, verify.",
        subcommands: [List.self, Show.self, Approve.self, Deny.self, Undo.self, Run.self, Verify.self, Catalog.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List action requests, oldest first.")
        @OptionGroup var location: DaemonLocation
        @Option(help: "Only this incident's.") var incident: String?
        @Option(help: "Only in this state (awaiting-approval, succeeded, failed, …).") var state: String?
        @Flag(help: "Print the documented JSON form.") var json = false

        func run() throws {
            var args: [String: JSONValue] = [:]
            if let incident { args["incident"] = .string(incident) }
            if let state { args["state"] = .string(state) }
            let views = try location.call("actions.list", args).decode([ActionView].self)
            if json { try printJSON(views); return }
            if views.isEmpty { print("no action requests"); return }
            var t = TextTable("ID", "INCIDENT", "ACTION", "STEP", "MODE", "STATE", "DETAIL")
            for v in views {
                let step = [v.category, v.position].compactMap { $0 }.joined(separator: " ")
                let detail = v.detail.map { $0.count > 70 ? String($0.prefix(69)) + "…" : $0 } ?? ""
                t.add(["\(v.id)", v.incident ?? "-", v.action + (v.dryRun ? " (dry run)" : ""), step.isEmpty ? "manual" : step,
                       v.mode, v.state, detail])
            }
            print(t.render())
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one action request: params, result, evidence, undo.")
        @OptionGroup var location: DaemonLocation
        @Argument(help: "The action id.") var id: Int
        @Flag(help: "Print the documented JSON form.") var json = false

        func run() throws {
            try ActionsCommand.request("actions.show", ["id": .number(Double(id))], at: location, json: json)
        }
    }

    struct Approve: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Approve an action awaiting approval; it runs now.")
        @OptionGroup var location: DaemonLocation
        @Argument(help: "The action id.") var id: Int
        @Option(help: "Why, for the timeline.") var note: String?
        @Flag(help: "Print the documented JSON form.") var json = false

        func run() throws {
            var args: [String: JSONValue] = ["id": .number(Double(id))]
            if let note { args["note"] = .string(note) }
            try ActionsCommand.request("actions.approve", args, at: location, json: json)
        }
    }

    struct Deny: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Deny an action awaiting approval; the sequence goes on without it.")
        @OptionGroup var location: DaemonLocation
        @Argument(help: "The action id.") var id: Int
        @Option(help: "Why (required).") var reason: String
        @Flag(help: "Print the documented JSON form.") var json = false

        func run() throws {
            try ActionsCommand.request("actions.deny", ["id": .number(Double(id)), "reason": .string(reason)],
                                       at: location, json: json)
        }
    }

    struct Undo: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Undo a succeeded, reversible action.")
        @OptionGroup var location: DaemonLocation
        @Argument(help: "The action id.") var id: Int
        @Flag(help: "Print the documented JSON form.") var json = false

        func run() throws {
            try ActionsCommand.request("actions.undo", ["id": .number(Double(id))], at: location, json: json)
        }
    }

    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run one action for an incident now (a person's decision: no approval step, no loop breaker).",
            discussion: "vigil actions run backup_current_state --incident INC-2026-0042\n"
                + "vigil actions run disable_external_connections --incident INC-2026-0042 --dry-run --param allow=192.0.2.10/32")
        @OptionGroup var location: DaemonLocation
        @Argument(help: "The action's name.") var action: String
        @Option(help: "The incident it is for.") var incident: String
        @Flag(help: "Only say what it would do.") var dryRun = false
        @Option(help: "A parameter for the action (key=value; repeatable; a repeated key makes a list).") var param: [String] = []
        @Flag(help: "Print the documented JSON form.") var json = false

        func run() throws {
            var params: [String: JSONValue] = [:]
            for p in param {
                guard let eq = p.firstIndex(of: "="), eq != p.startIndex else {
                    throw ValidationError("--param \(p): expected key=value")
                }
                let key = String(p[..<eq])
                let value = JSONValue.string(String(p[p.index(after: eq)...]))
                // Given once, a string; repeated, a list (plugins read either: vigil_plugin.as_list).
                params[key] = params[key].map { .array(($0.arrayValue ?? [$0]) + [value]) } ?? value
            }
            var args: [String: JSONValue] = ["action": .string(action), "incident": .string(incident), "params": .object(params)]
            if dryRun { args["dry_run"] = .bool(true) }
            try ActionsCommand.request("actions.run", args, at: location, json: json)
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the five containment checks for an incident now (a containing incident that passes becomes contained).")
        @OptionGroup var location: DaemonLocation
        @Argument(help: "The incident id.") var incident: String
        @Flag(help: "Print the documented JSON form.") var json = false

        func run() throws {
            let checks = try location.call("actions.verify", ["incident": .string(incident)]).decode([VerificationCheck].self)
            if json { try printJSON(checks); return }
            for c in checks { print("\(c.passed ? "✓" : "✗") \(c.name): \(c.detail)") }
            if !checks.allSatisfy(\.passed) { throw ExitCode(1) }
        }
    }

    struct Catalog: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every action, its mode, and who performs it.")
        @OptionGroup var location: DaemonLocation
        @Flag(help: "Print the documented JSON form.") var json = false

        func run() throws {
            let entries = try location.call("actions.catalog").decode([ActionCatalogEntry].self)
            if json { try printJSON(entries); return }
            var t = TextTable("ACTION", "MODE", "PERFORMED BY", "CATEGORIES")
            for e in entries {
                let by = (e.builtIn ? ["vigild"] : []) + e.plugins.map { "plugin \($0)" }
                t.add([e.action + (e.dryRun ? " (dry run)" : ""), e.mode, by.isEmpty ? "nobody (no plugin loaded)" : by.joined(separator: ", "),
                       e.categories.joined(separator: ", ")])
            }
            print(t.render())
        }
    }

    /// Sends one command that answers with an action request and prints it (or its JSON).
    static func request(_ command: String, _ args: [String: JSONValue], at location: DaemonLocation, json: Bool) throws {
        let v = try location.call(command, args).decode(ActionView.self)
        if json { try printJSON(v) } else { show(v) }
    }

    static func show(_ v: ActionView) {
        print("action \(v.id): \(v.action)\(v.dryRun ? " (dry run)" : "")  \(v.state)")
        if let i = v.incident { print("incident:   \(i)") }
        if let c = v.category { print("category:   \(c) \(v.position ?? "")") }
        print("mode:       \(v.mode)")
        print("requested:  \(v.requestedAt)" + (v.requestedBy.map { " by \(TerminalText.cell($0))" } ?? ""))
        if let d = v.deadline { print("deadline:   \(d)") }
        if let c = v.completedAt { print("completed:  \(c)") }
        if let d = v.detail { print("result:     \(TerminalText.cell(d))") }
        if let u = v.undo { print("undo:       vigil actions undo \(v.id)  (\(TerminalText.cell("\(u)"))))") }
        if v.state == ActionState.awaitingApproval.rawValue {
            print("\nvigil actions approve \(v.id)   or   vigil actions deny \(v.id) --reason \"...\"")
        }
    }
}
