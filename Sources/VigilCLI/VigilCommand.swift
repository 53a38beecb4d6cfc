import ArgumentParser
import Foundation
import VigilCore
import VigilDaemon

/// `vigil`: the operator's command line for a running `vigild`.
public struct VigilCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "vigil",
        abstract: "Work incidents and inspect a running Vigil daemon.",
        version: VigilVersion.current,
        subcommands: [StatusCommand.self, IncidentsCommand.self, OnCallCommand.self, RunbooksCommand.self, ActionsCommand.self, SilencesCommand.self, PluginsCommand.self, RulesCommand.self, TokensCommand.self,
                      EmitCommand.self, ConfigCommand.self])

    public init() {}

    /// Runs the command line. `--state-dir DIR` is accepted before the subcommand too
    /// (`vigil --state-dir DIR status`), as well as after it.
    public static func main() {
        main(Self.hoistingStateDirectory(Array(CommandLine.arguments.dropFirst())))
    }

    /// Moves a leading `--state-dir DIR` (or `--state-dir=DIR`) out of the arguments and into
    /// `VIGIL_STATE_DIR`, which every command reads; later arguments are left as they are.
    static func hoistingStateDirectory(_ arguments: [String]) -> [String] {
        var rest = arguments[...]
        while let first = rest.first, first.hasPrefix("-") {
            if first == "--state-dir", rest.count >= 2 {
                setenv("VIGIL_STATE_DIR", rest[rest.startIndex + 1], 1)
                rest = rest.dropFirst(2)
            } else if first.hasPrefix("--state-dir=") {
                setenv("VIGIL_STATE_DIR", String(first.dropFirst("--state-dir=".count)), 1)
                rest = rest.dropFirst()
            } else {
                break
            }
        }
        return Array(rest)
    }
}

/// Where to find the daemon; shared by every command that talks to it.
struct DaemonLocation: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The daemon's state folder (env VIGIL_STATE_DIR, default ./.vigil).",
                                            valueName: "dir"))
    var stateDir: String?

    var resolved: String {
        stateDir ?? ProcessInfo.processInfo.environment["VIGIL_STATE_DIR"] ?? "./.vigil"
    }

    /// Sends a request and returns its result, or exits with the daemon's error on stderr.
    func call(_ command: String, _ args: [String: JSONValue] = [:]) throws -> JSONValue {
        let client = ControlClient(stateDirectory: resolved)
        let response: ControlResponse
        do {
            response = try client.send(ControlRequest(command: command, args: args))
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
