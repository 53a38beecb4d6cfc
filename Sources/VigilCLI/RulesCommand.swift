import ArgumentParser
import Foundation
import VigilConfig
import VigilControl
import VigilCore
import VigilRules

/// `vigil rules check|test`: validate rule files and dry-run them on recorded samples, offline.
struct RulesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules", abstract: "Validate detection rules and replay recorded samples through them.",
        subcommands: [Check.self, Test.self, Suggest.self])

    /// Rules from explicit files (checked against `--config` when given) or from the configuration's own files.
    static func load(files: [String], config: String?) throws(ConfigErrors) -> RuleSet {
        let path = config ?? "Config/vigil.yaml"
        if files.isEmpty { return try ConfigLoader.load(path: path).rules }
        guard let config else { return try RuleFileLoader.load(paths: files) }
        var c = try ConfigLoader.load(path: config)
        c.ruleFiles = files
        return try RuleFileLoader.load(configuration: c)
    }

    static func report(_ error: ConfigErrors, what: String) -> ExitCode {
        for e in error.errors { printError(e.description) }
        printError("\(what): \(error.errors.count) error(s)")
        return ExitCode(1)
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate rule files; exit 1 with every error located at file:line:column.",
            discussion: "Without FILES, checks the rule files named by the configuration (rules.files).")
        @Argument(help: "Rule files (YAML).") var files: [String] = []
        @Option(help: "The configuration whose severities, incident types and durations apply (default Config/vigil.yaml when no FILES are given).")
        var config: String?
        @Flag(help: "List every rule with its id, canonical text, what feeds it and when the running daemon last saw a sample.")
        var list = false
        @Flag(help: "With --list: print the list as JSON.") var json = false
        @OptionGroup var location: DaemonLocation

        func run() throws {
            let set: RuleSet
            do {
                set = try RulesCommand.load(files: files, config: config)
            } catch {
                throw RulesCommand.report(error, what: files.isEmpty ? (config ?? "Config/vigil.yaml") : files.joined(separator: ", "))
            }
            if list {
                let (views, live) = RulesCommand.sources(set, configPath: config ?? "Config/vigil.yaml", location: location)
                if !live {
                    printError("vigil: vigild is not answering at \(location.remoteURL ?? location.resolved); "
                        + "FED BY comes from the plugin manifests, and no samples are known")
                }
                if json { try printJSON(views); return }
                var t = TextTable("ID", "KIND", "RULE", "FED BY", "LAST SAMPLE")
                for v in views {
                    let fed = v.fedBy.isEmpty ? "nothing loaded sends \(v.event)" : v.fedBy.joined(separator: ", ")
                    let last = v.lastSample.map { "\($0) from \(v.lastSource ?? "?")" } ?? "none seen"
                    t.add([v.id, v.kind, v.rule, fed, last])
                }
                print(t.render())
            }
            print("ok: \(set.rules.count) rule(s); consistently = \(DurationText.format(set.consistently)), "
                  + "stale after \(DurationText.format(set.staleAfter))")
        }
    }

    /// What feeds each rule: from the running daemon when it answers (its loaded plugins with
    /// their state, and the last sample it saw), otherwise from the plugin manifests the
    /// configuration's plugin folders hold (`not running`, no samples).
    static func sources(_ set: RuleSet, configPath: String, location: DaemonLocation) -> (views: [RuleSourceView], live: Bool) {
        let rules = set.rules.map {
            RuleSources.Rule(id: $0.id, kind: $0.expression.kind.rawValue, text: $0.expression.description,
                             event: $0.expression.selector.name)
        }
        if let transport = try? location.transport(),
           let response = try? transport.send(ControlRequest(command: "rules.sources")), response.ok,
           let live = try? response.result?.decode([RuleSourceView].self) {
            let byEvent = Dictionary(live.map { ($0.event, $0) }, uniquingKeysWith: { a, _ in a })
            let offline = RuleSources.views(rules: rules, plugins: [], samples: [:])
            return (offline.map { v in
                guard let seen = byEvent[v.event] else { return v }
                var out = v
                out.fedBy = seen.fedBy
                out.lastSample = seen.lastSample
                out.lastSource = seen.lastSource
                return out
            }, true)
        }
        var plugins: [RuleSources.Plugin] = []
        let directories = (try? ConfigLoader.load(path: configPath).plugins.directories) ?? []
        for directory in directories {
            let here = (directory as NSString).appendingPathComponent("plugin.yaml")
            let candidates = FileManager.default.fileExists(atPath: here) ? [directory]
                : ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
                    .map { (directory as NSString).appendingPathComponent($0) }
            for candidate in candidates {
                guard let m = try? PluginManifestFile.load(directory: candidate), m.kind == .detector else { continue }
                plugins.append(RuleSources.Plugin(name: m.name, state: "not running", emits: m.emits.map(\.name)))
            }
        }
        return (RuleSources.views(rules: rules, plugins: plugins, samples: [:]), false)
    }

    struct Test: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replay recorded samples (NDJSON) through rules on their own clock and print every transition.",
            discussion: """
                Each line of the output is one transition: its time (RFC 3339), pending, firing, resolved or \
                inactive (a pending rule that stopped holding), the rule id with the series, and the value. \
                A bad line is reported as FILE:LINE: what is wrong, and the rest still runs; the exit status \
                is then 1. The format is in Docs/rules.md.
                """)
        @Option(help: "The recorded samples, one JSON event per line; or incident:ID for the samples the daemon recorded around that incident.")
        var replay: String
        @Option(parsing: .upToNextOption, help: "Rule files; default: those of the configuration.") var rules: [String] = []
        @Option(help: "The configuration (default Config/vigil.yaml).") var config: String?
        @Option(help: "Keep the clock running until this time (RFC 3339), so timers after the last sample run too.")
        var until: String?
        @Flag(help: "Print each transition as a JSON line.") var json = false
        @OptionGroup var location: DaemonLocation

        func run() throws {
            let set: RuleSet
            do {
                set = try RulesCommand.load(files: rules, config: config)
            } catch {
                throw RulesCommand.report(error, what: rules.isEmpty ? (config ?? "Config/vigil.yaml") : rules.joined(separator: ", "))
            }
            var end: Timestamp?
            if let until {
                guard let t = RFC3339.parse(until) else {
                    throw ValidationError("--until must be an RFC 3339 time like 2026-01-05T09:00:00Z, found \"\(until)\"")
                }
                end = t
            }
            let text: String
            if replay.hasPrefix("incident:") {
                let id = String(replay.dropFirst("incident:".count))
                guard !id.isEmpty else { throw ValidationError("--replay incident:ID needs an incident id, e.g. incident:INC-2026-0001") }
                let view = try location.call("rules.samples", ["incident": .string(id)]).decode(RuleSamplesView.self)
                guard let incident = view.incidents.first else { throw ValidationError("no recording for incident \(id)") }
                if incident.samples.isEmpty {
                    printError("vigil: no samples are recorded for \(id) (it was not opened by a detection rule on samples, it was opened before recording began, or rules.recording is off)")
                }
                if incident.truncated { printError("vigil: the recording of \(id) is truncated (rules.recording.per_incident)") }
                if end == nil, let e = incident.end { end = RFC3339.parse(e) }
                text = incident.samples.joined(separator: "\n")
            } else {
                do {
                    text = try String(contentsOfFile: replay, encoding: .utf8)
                } catch {
                    printError("vigil: cannot read \(replay): \(error.localizedDescription)")
                    throw ExitCode(66)
                }
            }
            var engine = RuleReplay(rules: set)
            var bad = 0
            var samples = 0
            var transitions = 0
            var lineNumber = 0
            for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
                lineNumber += 1
                guard let parsed = SampleRecording.parse(line: line, number: lineNumber, file: replay) else { continue }
                switch parsed {
                case .failure(let e):
                    printError(e.description)
                    bad += 1
                case .success(let sample):
                    if let last = engine.lastTime, sample.time < last {
                        printError("\(replay):\(lineNumber): time \(sample.time.rfc3339) is before the previous sample's "
                                   + "\(last.rfc3339); samples must be in time order (line skipped)")
                        bad += 1
                        continue
                    }
                    samples += 1
                    let out = engine.feed(sample)
                    transitions += out.count
                    try emit(out)
                }
            }
            let tail = engine.finish(at: end)
            transitions += tail.count
            try emit(tail)
            printError("replayed \(samples) sample(s) through \(set.rules.count) rule(s): \(transitions) transition(s)"
                       + (bad > 0 ? ", \(bad) bad line(s)" : ""))
            if bad > 0 { throw ExitCode(1) }
        }

        func emit(_ transitions: [RuleTransition]) throws {
            for t in transitions {
                if json {
                    let view = TransitionView(time: t.at.rfc3339, transition: t.kind.rawValue, rule: t.ruleID, series: t.series,
                                              value: t.value, unit: t.unit, firstHeldAt: t.firstHeldAt.rfc3339,
                                              cause: t.cause.rawValue)
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                    encoder.keyEncodingStrategy = .convertToSnakeCase
                    printJSONData(try encoder.encode(view))
                } else {
                    print(t.description)
                }
            }
        }
    }
}

/// One replayed transition as `vigil rules test --json` prints it.
struct TransitionView: Encodable {
    var time: String
    var transition: String
    var rule: String
    var series: [String: String]
    var value: Double
    var unit: String
    var firstHeldAt: String
    var cause: String
}
