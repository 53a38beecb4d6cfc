import ArgumentParser
import Foundation
import VigilConfig
import VigilCore
import VigilPluginHost
import VigilControl

struct PluginsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plugins", abstract: "List, inspect, enable, disable and restart plugins.",
        subcommands: [List.self, Show.self, Enable.self, Disable.self, Restart.self, Check.self])

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

extension PluginsCommand {
    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate plugin folders offline: each plugin.yaml, the sandbox profile it names, and what it asks beyond the plugin policy.",
            discussion: """
                A folder holding a plugin.yaml is one plugin; otherwise each subfolder holding one is checked. \
                The policy is plugins.policy of the configuration (Docs/configuration.md); everything a manifest \
                asks beyond it is listed field by field, and such a plugin counts as refused (vigild would not start it).
                """)
        @Argument(help: "Plugin folders, or folders of plugin folders.") var folders: [String] = ["Plugins"]
        @Option(help: "The folder of sandbox profiles (default: the configuration's plugins.sandbox_profiles, else ./Sandbox).")
        var profiles: String?
        @Option(help: "The configuration whose plugin policy applies (default Config/vigil.yaml when it exists, else the built-in policy).")
        var config: String?

        func run() throws {
            let launchGuard = try policy()
            let profiles = profilesFolder()
            var failures = 0
            var checked = 0
            for folder in folders {
                let plugin = (folder as NSString).appendingPathComponent("plugin.yaml")
                let candidates = FileManager.default.fileExists(atPath: plugin) ? [folder]
                    : ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
                        .map { (folder as NSString).appendingPathComponent($0) }
                        .filter { FileManager.default.fileExists(atPath: ($0 as NSString).appendingPathComponent("plugin.yaml")) }
                for candidate in candidates {
                    checked += 1
                    if !check(candidate, launchGuard: launchGuard, profiles: profiles) { failures += 1 }
                }
            }
            if checked == 0 { printError("no plugin.yaml found in \(folders.joined(separator: ", "))"); throw ExitCode(1) }
            if failures > 0 { printError("\(failures) of \(checked) plugin(s) refused"); throw ExitCode(1) }
        }

        /// The policy of `--config` (or of Config/vigil.yaml), with its state folder and plugin folders.
        func policy() throws -> PluginLaunchGuard {
            let path = config ?? (FileManager.default.fileExists(atPath: "Config/vigil.yaml") ? "Config/vigil.yaml" : nil)
            guard let path else {
                return PluginLaunchGuard(policy: .builtIn, stateDirectory: "/var/lib/vigil", pluginDirectories: [])
            }
            do {
                let c = try ConfigLoader.load(path: path)
                let dirs = c.plugins.directories.flatMap { dir in
                    ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).map { (dir as NSString).appendingPathComponent($0) }
                        .filter { FileManager.default.fileExists(atPath: ($0 as NSString).appendingPathComponent("plugin.yaml")) }
                        .compactMap { PolicyPath.normalize(ConfigLoader.absolute($0)) }
                }
                return PluginLaunchGuard(policy: c.plugins.policy, stateDirectory: ConfigLoader.absolute(c.stateDirectory),
                                         pluginDirectories: dirs)
            } catch {
                for e in error.errors { printError(e.description) }
                throw ExitCode(1)
            }
        }

        /// `--profiles`, or the configuration's `plugins.sandbox_profiles`, or `Sandbox`.
        func profilesFolder() -> String {
            if let profiles { return profiles }
            let path = config ?? (FileManager.default.fileExists(atPath: "Config/vigil.yaml") ? "Config/vigil.yaml" : nil)
            if let path, let c = try? ConfigLoader.load(path: path), let folder = c.plugins.sandboxDirectory { return folder }
            return "Sandbox"
        }

        /// Checks one plugin folder; false when vigild would refuse it.
        func check(_ candidate: String, launchGuard: PluginLaunchGuard, profiles: String) -> Bool {
            let manifest: PluginManifest
            do { manifest = try PluginManifestFile.load(directory: candidate) } catch {
                for e in error.errors { printError(e.description) }
                return false
            }
            let profile = manifest.sandbox.profile ?? manifest.kind.rawValue
            let loaded: SandboxProfile
            do { loaded = try SandboxProfile.load(named: profile, from: URL(fileURLWithPath: profiles)) } catch {
                printError("\(error)")
                return false
            }
            var others = launchGuard
            others.pluginDirectories.append(contentsOf: folders.compactMap { PolicyPath.normalize(ConfigLoader.absolute($0)) }
                .filter { FileManager.default.fileExists(atPath: ($0 as NSString).appendingPathComponent("plugin.yaml")) })
            var beyond = others.violations(of: manifest)
            beyond += loaded.unsafeAdditions(of: manifest).filter { v in !beyond.contains { $0.field == v.field && $0.asked == v.asked } }
            var missing: [String] = []
            let needs = manifest.sandbox
            for (field, paths) in [("sandbox.read_paths", needs.readPaths), ("sandbox.write_paths", needs.writePaths),
                                   ("sandbox.executables", needs.executables)] {
                for path in paths {
                    guard let problem = PluginLaunchGuard.pathProblem(path) else { continue }
                    if problem.missing { missing.append("\(field) \(path) \(problem.reason)") } else {
                        beyond.append(PolicyViolation(plugin: manifest.name, field: field, asked: path, allowed: "no path that \(problem.reason)"))
                    }
                }
            }
            var absent: [AbsentOptionalItem] = []
            do { absent = try OptionalSandboxNeeds.resolve(manifest).absent } catch {
                beyond.append(PolicyViolation(plugin: manifest.name, field: error.field, asked: error.path, allowed: "no item that \(error.reason)"))
            }
            guard beyond.isEmpty else {
                print("\(candidate): refused (\(manifest.name)): it asks beyond the plugin policy")
                var t = TextTable("FIELD", "ASKS FOR", "THE POLICY ALLOWS")
                for v in beyond { t.add([v.field, v.asked, v.allowed]) }
                print(t.render())
                return false
            }
            for line in missing { print("\(candidate): warning: \(line) (vigild will not start it until it does)") }
            for item in absent { print("\(candidate): note: optional \(item); vigild starts the plugin without it") }
            if !FileManager.default.isExecutableFile(atPath: manifest.executable) {
                print("\(candidate): ok, but \(manifest.executable) is not an executable file yet (build it first)")
            } else {
                print("\(candidate): ok (\(manifest.name), \(manifest.kind.rawValue), profile \(profile), network \(manifest.sandbox.network.rawValue))")
            }
            return true
        }
    }
}

private func percent(_ rate: Double) -> String {
    let p = rate * 100
    return p == p.rounded() ? "\(Int(p))%" : String(format: "%.1f%%", p)
}

private func show(_ v: PluginView) {
    print("\(v.name)  \(v.kind)\(v.critical ? ", critical" : "")"
        + (v.version.isEmpty ? "" : ", version \(TerminalText.cell(v.version))"))
    if !v.description.isEmpty { print(TerminalText.cell(v.description)) }
    var facts = TextTable("FIELD", "VALUE")
    facts.add(["state", v.state + (v.restartAt.map { ", restarts at \($0)" } ?? "")])
    facts.add(["cause", v.cause ?? "-"])
    facts.add(["since", v.since])
    facts.add(["pid", v.pid.map { "\($0)" } ?? "-"])
    facts.add(["uid", v.uid.map { "\($0)" } ?? "-"])
    facts.add(["sandbox", "profile \(v.profile), network \(v.network)"])
    facts.add(["folder", v.directory])
    if let data = v.dataFolder { facts.add(["data folder", data]) }
    facts.add(["starts", "\(v.starts) (restarts \(v.restarts), exits \(v.exits))"])
    facts.add(["failures", "\(v.failures)" + (v.failuresByCause.isEmpty ? "" : " (" + v.failuresByCause.sorted { $0.key < $1.key }
        .map { "\($0.key) \($0.value)" }.joined(separator: ", ") + ")")])
    facts.add(["failure rate", percent(v.failureRate) + " of attempts in the window"])
    facts.add(["timeouts", "\(v.timeouts)"])
    facts.add(["protocol violations", "\(v.protocolViolations)"])
    facts.add(["breaches", "\(v.breaches)"])
    facts.add(["events received", "\(v.eventsReceived)" + (v.eventsRefused > 0 ? " (\(v.eventsRefused) refused)" : "")])
    print(facts.render().split(separator: "\n").dropFirst().joined(separator: "\n"))
    if let warning = v.dataWarning { print("warning: \(warning)") }
    if !v.syscalls.isEmpty {
        print("\nWATCHED SYSCALLS")
        var t = TextTable("SYSCALL", "COUNT")
        for (name, count) in v.syscalls.sorted(by: { $0.value > $1.value }) { t.add([name, "\(count)"]) }
        print(t.render())
    }
}
