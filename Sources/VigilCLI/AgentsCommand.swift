import ArgumentParser
import VigilControl
import VigilCore

/// `vigil agents`: the host agents that call in to this daemon (Docs/agents.md).
struct AgentsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agents",
        abstract: "List the host agents that call in: last contact, signals received, spool, and which are missing.")
    @OptionGroup var location: DaemonLocation
    @Flag(help: "Print the documented JSON form.") var json = false

    func run() throws {
        let views = try location.call("agents.list").decode([AgentView].self)
        if json { try printJSON(views); return }
        guard !views.isEmpty else {
            print("no host agent has called in (run vigild with agent: on a host; see Docs/agents.md)")
            return
        }
        print(Self.table(views))
    }

    static func table(_ views: [AgentView]) -> String {
        var t = TextTable("AGENT", "STATE", "LAST CONTACT", "SILENT", "RECEIVED", "SPOOLED", "VERSION")
        for v in views {
            t.add([v.name, v.state, v.lastContactAt, "\(v.silentSeconds)s", "\(v.received)", "\(v.spooled)", v.version ?? "-"])
        }
        return t.render()
    }
}
