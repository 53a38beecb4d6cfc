import VigilControl
import ArgumentParser
import Foundation
import Logging
import VigilDaemon

/// `vigild`: the Vigil incident-response daemon.
@main
struct VigilDaemonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vigild",
        abstract: "The Vigil incident-response daemon.",
        discussion: """
            Runs in the foreground until SIGTERM or SIGINT. SIGHUP reloads the configuration; \
            a configuration with errors is refused and the running one stays in force.
            """,
        version: VigilVersion.current)

    @Option(name: .long, help: "The configuration file.")
    var config: String = "Config/vigil.yaml"

    @Option(name: .long, help: "Where the database, control socket and lock live (default: the config's state_dir).")
    var stateDir: String?

    @Option(name: .long, help: "A folder of plugin folders to load, in addition to the config's (repeatable).")
    var pluginDir: [String] = []

    @Option(name: .long, help: "Where the HTTP server listens, HOST:PORT (default: the config's http.listen; port 0 picks a free one).")
    var httpListen: String?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical (default: the config's).")
    var logLevel: String?

    mutating func run() async throws {
        let options = DaemonOptions(configPath: config, stateDirectory: stateDir, pluginDirectories: pluginDir,
                                    httpListen: httpListen)
        let level: Logger.Level
        do {
            let cfg = try Daemon.loadConfiguration(config)
            level = Logger.Level(rawValue: logLevel ?? cfg.logLevel) ?? .info
        } catch {
            FileHandle.standardError.write(Data("vigild: \(error)\n".utf8))
            throw ExitCode(error.exitCode)
        }
        // The level can change while the daemon runs (the enable_enhanced_logging action).
        AdjustableLogLevel.shared.level = level
        LoggingSystem.bootstrap { label in AdjustableLogHandler(label: label) }
        let logger = Logger(label: "vigild")
        do {
            try await Daemon(options: options, logger: logger).run()
        } catch let error as DaemonStartError {
            logger.critical("\(error)")
            throw ExitCode(error.exitCode)
        }
    }
}
