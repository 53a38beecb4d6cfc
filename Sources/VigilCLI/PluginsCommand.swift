import ArgumentParser
import Foundation
import VigilCore
import VigilDaemon

struct PluginsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plugins", abstract: "List, inspect, enable, disable and restart plugins.",
        subcommands: [List.self, Show.self, Enable.self, Disable.self, Restart.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List every loaded plugin with its state.")
        @OptionGroup var location: DaemonLocation
        @Flag(help: "Print the documented JSON form.") var json = false

        func run() throws {
            let views = try location.call("plugins.list").decode([PluginView].self)
            if json { try printJSON(views); return }
            if views.isEmpty { print("no plugins loaded"); return }
            var t = TextTable("NAME", "KIND", "STATE", "PID", "RESTARTS", "FAILURES", "FAIL RATE", "CAUSE")
            for v in views {
                t.add([v.name + (v.critical ? " (critical)" : ""), v.kind, v.state, v.pid.map { "\($0)" } ?? "-",
                       "\(v.restarts)", "\(v.failures)", percent(v.failureRate), v.cause ?? "-"])
            }
            print(t.render())
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show one plugin: state and cause, restarts, failure rate, sandbox and syscall statistics.")
        @OptionGroup var location: DaemonLocation
        @Argument(help: "The plugin's name.") var name: String
        @Flag(help: "Print the documented JSON form.") var json = false

        func run() throws {
            let v = try location.call("plugins.show", ["name": .string(name)]).decode(PluginView.self)
            if json { try printJSON(v); return }
            show(v)
        }
    }

    struct Enable: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Enable a plugin (also lifts a quarantine) and start it.")
        @OptionGroup var location: DaemonLocation
        @Argument(help: "The plugin's name.") var name: String

        func run() throws {
            let v = try location.call("plugins.enable", ["name": .string(name)]).decode(PluginView.self)
            print("\(v.name): enabled, \(v.state)")
        }
    }

    struct Disable: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop a plugin and keep it stopped, across restarts too.")
        @OptionGroup var location: DaemonLocation
        @Argument(help: "The plugin's name.") var name: String

        func run() throws {
            let v = try location.call("plugins.disable", ["name": .string(name)]).decode(PluginView.self)
            print("\(v.name): disabled, \(v.state)")
        }
    }

    struct Restart: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop a plugin and start it again.")
        @OptionGroup var location: DaemonLocation
        @Argument(help: "The plugin's name.") var name: String

        func run() throws {
            let v = try location.call("plugins.restart", ["name": .string(name)]).decode(PluginView.self)
            print("\(v.name): restarting, \(v.state)")
        }
    }
}

private func percent(_ rate: Double) -> String {
    let p = rate * 100
    return p == p.rounded() ? "\(Int(p))%" : String(format: "%.1f%%", p)
}

private func show(_ v: PluginView) {
    print("\(v.name)  \(v.kind)\(v.critical ? ", critical" : "")" + (v.version.isEmpty ? "" : ", version \(v.version)"))
    if !v.description.isEmpty { print(v.description) }
    var facts = TextTable("FIELD", "VALUE")
    facts.add(["state", v.state + (v.restartAt.map { ", restarts at \($0)" } ?? "")])
    facts.add(["cause", v.cause ?? "-"])
    facts.add(["since", v.since])
    facts.add(["pid", v.pid.map { "\($0)" } ?? "-"])
    facts.add(["uid", v.uid.map { "\($0)" } ?? "-"])
    facts.add(["sandbox", "profile \(v.profile), network \(v.network)"])
    facts.add(["folder", v.directory])
    facts.add(["starts", "\(v.starts) (restarts \(v.restarts), exits \(v.exits))"])
    facts.add(["failures", "\(v.failures)" + (v.failuresByCause.isEmpty ? "" : " (" + v.failuresByCause.sorted { $0.key < $1.key }
        .map { "\($0.key) \($0.value)" }.joined(separator: ", ") + ")")])
    facts.add(["failure rate", percent(v.failureRate) + " of attempts in the window"])
    facts.add(["timeouts", "\(v.timeouts)"])
    facts.add(["protocol violations", "\(v.protocolViolations)"])
    facts.add(["breaches", "\(v.breaches)"])
    facts.add(["events received", "\(v.eventsReceived)"])
    print(facts.render().split(separator: "\n").dropFirst().joined(separator: "\n"))
    if !v.syscalls.isEmpty {
        print("\nWATCHED SYSCALLS")
        var t = TextTable("SYSCALL", "COUNT")
        for (name, count) in v.syscalls.sorted(by: { $0.value > $1.value }) { t.add([name, "\(count)"]) }
        print(t.render())
    }
}
