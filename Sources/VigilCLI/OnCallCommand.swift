import ArgumentParser
import VigilCore
import VigilControl

/// `vigil oncall`: who holds each role now (or at `--at`), over the coming days (`schedule`),
/// and the overrides made at run time (`override add|list|remove`).
struct OnCallCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "oncall", abstract: "Show who is on call, per role, now, at another time or over the coming days.",
        subcommands: [Now.self, Schedule.self, Override.self], defaultSubcommand: Now.self)

    struct Now: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Who holds each role now or at another time (the default).",
            discussion: "--component answers \"who is on call for the plugin system\": rotations listing the component "
                + "win over rotations covering everything.")
        @OptionGroup var location: DaemonLocation
        @Option(help: "now (default), an RFC 3339 time, or an offset: +2 hours, -30 minutes, \"in 3 days\".") var at: String?
        @Option(help: "A component, e.g. \"plugin system\".") var component: String?
        @Flag(help: "Print the documented JSON form.") var json = false

        func run() throws {
            var args: [String: JSONValue] = [:]
            if let at { args["at"] = .string(at) }
            if let component { args["component"] = .string(component) }
            let view = try location.call("oncall", args).decode(OnCallView.self)
            if json { try printJSON(view); return }
            print("on call at \(view.at)" + (view.component.map { " for \(TerminalText.cell($0))" } ?? ""))
            if view.shifts.isEmpty { print("nobody (no rotation covers this time)"); return }
            var t = TextTable("ROLE", "PERSON", "ROTATION", "UNTIL", "CONTACT")
            for s in view.shifts {
                t.add([s.roleName, "\(s.person) (\(s.personName))", s.rotation + (s.override ? " (override)" : ""), s.until,
                       s.contacts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")])
            }
            print(t.render())
        }
    }

    struct Schedule: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Who holds each role over the coming days, handover by handover.")
        @OptionGroup var location: DaemonLocation
        @Option(help: "Start: now (default), an RFC 3339 time or an offset like \"in 2 days\".") var from: String?
        @Option(help: "How many days (1-31, default 14).") var days: Int?
        @Option(help: "A component, e.g. \"plugin system\".") var component: String?
        @Flag(help: "Print the documented JSON form.") var json = false

        func run() throws {
            var args: [String: JSONValue] = [:]
            if let from { args["from"] = .string(from) }
            if let days { args["days"] = .number(Double(days)) }
            if let component { args["component"] = .string(component) }
            let view = try location.call("oncall.schedule", args).decode(OnCallScheduleView.self)
            if json { try printJSON(view); return }
            print("on call from \(view.from) until \(view.until)" + (view.component.map { " for \(TerminalText.cell($0))" } ?? ""))
            var t = TextTable("ROLE", "PERSON", "FROM", "UNTIL", "ROTATION")
            for role in view.roles {
                if role.segments.isEmpty { t.add([role.roleName, "nobody", "", "", role.rotation ?? "-"]) }
                for s in role.segments {
                    t.add([s.roleName, "\(s.person) (\(s.personName))", s.from, s.until,
                           s.rotation + (s.override ? " (override)" : "")])
                }
                if role.truncated { t.add([role.roleName, "… (cut short)", "", "", ""]) }
            }
            print(t.render())
        }
    }

    struct Override: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "On-call overrides made at run time: holiday cover, swaps.",
            subcommands: [Add.self, List.self, Remove.self])

        struct Add: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Put a person on call for a rotation until a time (at most 90 days).",
                discussion: "It applies at once to pages, escalations and role assignments, and is recorded under your name.")
            @OptionGroup var location: DaemonLocation
            @Option(help: "The rotation id, e.g. primary.") var rotation: String
            @Option(help: "The roster person who takes over, e.g. bob.") var person: String
            @Option(help: "Start, RFC 3339 (default now).") var from: String?
            @Option(help: "End, RFC 3339, e.g. 2026-03-09T09:00:00Z.") var until: String
            @Option(help: "Why (required; shown wherever the override is listed).") var reason: String
            @Option(name: .customLong("as"), help: "Act as this roster person.") var asPerson: String?
            @Flag(help: "Print the documented JSON form.") var json = false

            func run() throws {
                var args: [String: JSONValue] = ["rotation": .string(rotation), "person": .string(person),
                                                 "until": .string(until), "reason": .string(reason)]
                if let from { args["from"] = .string(from) }
                if let asPerson { args["as"] = .string(asPerson) }
                let view = try location.call("oncall.override", args).decode(OnCallOverrideView.self)
                if json { try printJSON(view); return }
                print("override \(view.id.map(String.init) ?? "?"): \(TerminalText.cell(view.person)) on call for "
                    + "\(TerminalText.cell(view.rotation)) from \(view.from) until \(view.until)")
            }
        }

        struct List: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "The overrides in force or still to come (made at run time or configured).")
            @OptionGroup var location: DaemonLocation
            @Option(help: "Only this rotation.") var rotation: String?
            @Flag(help: "Print the documented JSON form.") var json = false

            func run() throws {
                var args: [String: JSONValue] = [:]
                if let rotation { args["rotation"] = .string(rotation) }
                let views = try location.call("oncall.overrides", args).decode([OnCallOverrideView].self)
                if json { try printJSON(views); return }
                if views.isEmpty { print("no current or future overrides"); return }
                var t = TextTable("ID", "ROTATION", "PERSON", "FROM", "UNTIL", "BY", "REASON")
                for v in views {
                    t.add([v.id.map(String.init) ?? "(config)", v.rotation + (v.active ? " (now)" : ""), v.person, v.from,
                           v.until, v.createdBy ?? "", v.reason ?? ""])
                }
                print(t.render())
            }
        }

        struct Remove: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Remove an override: one to come never applies, one in force ends now.")
            @OptionGroup var location: DaemonLocation
            @Argument(help: "The override id (vigil oncall override list).") var id: Int
            @Option(name: .customLong("as"), help: "Act as this roster person.") var asPerson: String?
            @Flag(help: "Print the documented JSON form.") var json = false

            func run() throws {
                var args: [String: JSONValue] = ["id": .number(Double(id))]
                if let asPerson { args["as"] = .string(asPerson) }
                let view = try location.call("oncall.override.remove", args).decode(OnCallOverrideView.self)
                if json { try printJSON(view); return }
                print("override \(id) removed (\(TerminalText.cell(view.person)) on \(TerminalText.cell(view.rotation)))")
            }
        }
    }
}
