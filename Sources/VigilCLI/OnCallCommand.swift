import ArgumentParser
import VigilCore
import VigilControl

/// `vigil oncall`: who holds each role now (or at `--at`), for a component when given.
struct OnCallCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "oncall", abstract: "Show who is on call, per role, now or at another time.",
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
        print("on call at \(view.at)" + (view.component.map { " for \($0)" } ?? ""))
        if view.shifts.isEmpty { print("nobody (no rotation covers this time)"); return }
        var t = TextTable("ROLE", "PERSON", "ROTATION", "UNTIL", "CONTACT")
        for s in view.shifts {
            t.add([s.roleName, "\(s.person) (\(s.personName))", s.rotation + (s.override ? " (override)" : ""), s.until,
                   s.contacts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")])
        }
        print(t.render())
    }
}
