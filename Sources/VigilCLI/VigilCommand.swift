import ArgumentParser
import Foundation
import VigilCore
import VigilControl

/// `vigil`: the operator's command line for a running `vigild`.
public struct VigilCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "vigil",
        abstract: "Work incidents and inspect a running Vigil daemon.",
        version: VigilVersion.current,
        subcommands: [StatusCommand.self, IncidentsCommand.self, AgentsCommand.self, OnCallCommand.self, RunbooksCommand.self, ActionsCommand.self, SilencesCommand.self, ReportCommand.self, PostMortemCommand.self, ActionItemsCommand.self, PluginsCommand.self, RulesCommand.self, TokensCommand.self,
                      EmitCommand.self, ConfigCommand.self, DisasterRecoveryCommand.self, BackupCommand.self, RestoreCommand.self,
                      ChangesCommand.self])

    public init() {}

    /// Runs the command line. `--state-dir DIR`, `--url URL` and `--token TOKEN` are accepted
    /// before the subcommand too (`vigil --url https://host:9093 --token … status`), as well as after it.
    public static func main() {
        main(Self.hoistingStateDirectory(Array(CommandLine.arguments.dropFirst())))
    }

    /// The leading options that say where the daemon is, and the environment variable each is
    /// moved into (every command reads them there).
    static let hoisted = ["--state-dir": "VIGIL_STATE_DIR", "--url": "VIGIL_URL", "--token": "VIGIL_TOKEN"]

    /// Moves leading `--state-dir DIR`, `--url URL`, `--token TOKEN` (or `--option=VALUE`) out of
    /// the arguments and into `VIGIL_STATE_DIR`, `VIGIL_URL`, `VIGIL_TOKEN`; later arguments are
    /// left as they are.
    static func hoistingStateDirectory(_ arguments: [String]) -> [String] {
        var rest = arguments[...]
        outer: while let first = rest.first, first.hasPrefix("-") {
            for (option, variable) in hoisted {
                if first == option, rest.count >= 2 {
                    setenv(variable, rest[rest.startIndex + 1], 1)
                    rest = rest.dropFirst(2)
                    continue outer
                } else if first.hasPrefix(option + "=") {
                    setenv(variable, String(first.dropFirst(option.count + 1)), 1)
                    rest = rest.dropFirst()
                    continue outer
                }
            }
            break
        }
        return Array(rest)
    }
}

/// Where to find the daemon; shared by every command that talks to it: the local control socket
/// in the state folder, or with `--url` (env `VIGIL_URL`) a remote daemon's HTTP API with an
/// API token (`--token`, env `VIGIL_TOKEN`). Both carry the same commands.
struct DaemonLocation: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The daemon's state folder (env VIGIL_STATE_DIR, default ./.vigil).",
                                            valueName: "dir"))
    var stateDir: String?
    @Option(name: .long, help: ArgumentHelp("A remote daemon's HTTP address, e.g. https://vigil.example:9093 (env VIGIL_URL); "
                                            + "without it the local control socket is used.", valueName: "url"))
    var url: String?
    @Option(name: .long, help: ArgumentHelp("The API token for --url (env VIGIL_TOKEN; make one with `vigil tokens create`).",
                                            valueName: "token"))
    var token: String?

    var resolved: String {
        stateDir ?? ProcessInfo.processInfo.environment["VIGIL_STATE_DIR"] ?? "./.vigil"
    }

    /// The remote address, when one is given (an empty `VIGIL_URL` is none).
    var remoteURL: String? {
        let environment = ProcessInfo.processInfo.environment
        return (url ?? environment["VIGIL_URL"]).flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The control socket, or the HTTP API with `--url`.
    func transport() throws(ControlFailure) -> any ControlTransport {
        guard let remote = remoteURL else { return ControlClient(stateDirectory: resolved) }
        guard let token = token ?? ProcessInfo.processInfo.environment["VIGIL_TOKEN"], !token.isEmpty else {
            throw ControlFailure("--url \(remote) needs an API token: --token TOKEN or VIGIL_TOKEN "
                + "(make one on the daemon's host with `vigil tokens create --role responder --person NAME`)")
        }
        return try HTTPControlClient(url: remote, token: token)
    }

    /// Sends a request and returns its result, or exits with the daemon's error on stderr.
    func call(_ command: String, _ args: [String: JSONValue] = [:]) throws -> JSONValue {
        let response: ControlResponse
        do {
            response = try transport().send(ControlRequest(command: command, args: args))
        } catch {
            printError("vigil: \(error)")
            throw ExitCode(69)
        }
        guard response.ok, let result = response.result else {
            printError("vigil: \(response.error ?? "the daemon refused the request")")
            throw ExitCode(1)
        }
        return result
    }
}

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status",
                                                    abstract: "Show the daemon's health, bus lanes and incident counts.")
    @OptionGroup var location: DaemonLocation
    @Flag(help: "Print the documented JSON form.") var json = false

    func run() throws {
        let status = try location.call("status").decode(StatusView.self)
        if json { try printJSON(status); return }
        print("vigild \(status.version) (pid \(status.pid)), up \(status.uptimeSeconds)s since \(status.startedAt)")
        print("config:    \(status.configFile) (loaded \(status.configLoadedAt))")
        print("state:     \(status.stateDirectory)")
        print("database:  \(status.database)")
        print("ladder:    \(status.severityLadder)")
        let states = status.incidentsByState.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
        print("incidents: \(status.openIncidents) open" + (states.isEmpty ? "" : " (\(states.joined(separator: ", ")))"))
        if !status.plugins.isEmpty {
            print("plugins:   " + status.plugins.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        }
        if let c = status.containment {
            var parts = ["store writes \(c.writeGate)" + (c.heldWrites > 0 ? " (\(c.heldWrites) held)" : "")]
            if c.telemetryKeepOneIn > 1 { parts.append("telemetry 1 in \(c.telemetryKeepOneIn) (\(c.telemetryThrottled) throttled)") }
            if !c.breakers.isEmpty {
                parts.append("breakers " + c.breakers.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
            }
            if c.awaitingApproval > 0 { parts.append("\(c.awaitingApproval) action(s) awaiting approval (vigil actions list)") }
            parts.append("log level \(c.logLevel)")
            print("containment: " + parts.joined(separator: "; "))
        }
        if let a = status.agentMode {
            var line = "host agent, \(a.state)" + (a.connectedTo.map { " to \($0)" } ?? "")
            line += "; spool \(a.spooled) waiting, \(a.forwarded) forwarded, \(a.dropped) dropped"
            if let last = a.lastContactAt { line += "; last contact \(last)" }
            print("agent:     " + line)
            if let e = a.lastError { print("           last error: \(e)") }
        }
        if let agents = status.agents, !agents.isEmpty {
            let missing = agents.filter { $0.state == "missing" }.count
            print("agents:    \(agents.count) (\(missing) missing)")
            print("")
            print(AgentsCommand.table(agents))
        }
        if !status.lanes.isEmpty {
            var t = TextTable("LANE", "DEPTH", "CAPACITY", "PUBLISHED", "CONSUMED", "SHED", "STALLS", "PAUSED", "PRODUCERS")
            for l in status.lanes {
                t.add([l.lane, "\(l.depth)", "\(l.capacity)", "\(l.published)", "\(l.consumed)", "\(l.shed)",
                       "\(l.stalls)", l.paused ? "yes" : "no", "\(l.producers)"])
            }
            print("")
            print(t.render())
        }
    }
}

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "config", abstract: "Work with configuration files.",
                                                    subcommands: [Check.self])

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate a configuration and the files it names; exit 1 with located errors.")
        @Argument(help: "The configuration file.") var path: String = "Config/vigil.yaml"

        func run() throws {
            do {
                let config = try VigilConfigValidation.check(path)
                print("\(path): ok (\(config.policy.ladder.name) ladder, \(config.policy.incidentTypes.count) incident types, "
                      + "\(config.rules.rules.count) rule(s) in \(config.ruleFiles.count) file(s), "
                      + "\(config.policy.containment.count) containment categories)")
            } catch {
                for e in error.errors { printError(e.description) }
                printError("\(path): \(error.errors.count) error(s)")
                throw ExitCode(1)
            }
        }
    }
}
