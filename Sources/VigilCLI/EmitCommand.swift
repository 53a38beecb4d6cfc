import ArgumentParser
import Foundation
import VigilCore
import VigilControl

/// `vigil emit metric|signal`: put an event on the daemon's bus, as a detector would.
struct EmitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "emit", abstract: "Put a metric sample or a signal on the daemon's EventBus.",
        subcommands: [Metric.self, Signal.self])

    static func labels(_ pairs: [String]) throws -> [String: String] {
        var out: [String: String] = [:]
        for p in pairs {
            guard let eq = p.firstIndex(of: "="), eq != p.startIndex else {
                throw ValidationError("--label expects key=value, found \"\(p)\"")
            }
            out[String(p[..<eq])] = String(p[p.index(after: eq)...])
        }
        return out
    }

    static func lane(_ name: String?) throws -> Lane? {
        guard let name else { return nil }
        guard let lane = Lane(name: name) else {
            throw ValidationError("--lane must be security, incident or telemetry, found \"\(name)\"")
        }
        return lane
    }

    static func count(_ count: Int) throws -> Int {
        guard (1...1_000_000).contains(count) else { throw ValidationError("--count must be between 1 and 1000000, found \(count)") }
        return count
    }

    static func send(_ event: IngestEvent, count: Int = 1, location: DaemonLocation, json: Bool) throws {
        let result = try location.call("emit", ["event": try JSONValue.encoding(event), "count": .number(Double(count))])
        if json { try printJSON(result); return }
        let lane = result["lane"]?.stringValue ?? "?"
        let outcome = result["outcome"]?.stringValue ?? "?"
        print("\(event.name)" + (count > 1 ? " ×\(count)" : "") + " → \(lane) lane: \(outcome)")
    }

    struct Metric: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Emit one metric sample, e.g. `vigil emit metric cpu_usage 93 --unit %`.")
        @OptionGroup var location: DaemonLocation
        @Argument(help: "Metric name, e.g. cpu_usage.") var name: String
        @Argument(help: "The sample's value.") var value: Double
        @Option(help: "Unit: %, ms, s, bytes, messages, … (empty for plain numbers).") var unit: String = ""
        @Option(name: .customLong("label"), help: "A label key=value (repeatable).") var labels: [String] = []
        @Option(help: "Force a lane: security, incident or telemetry.") var lane: String?
        @Option(help: "How many copies to emit (default 1), e.g. to load-test the bus.") var count: Int = 1
        @Flag(help: "Print the JSON answer.") var json = false

        func run() throws {
            let event = IngestEvent(kind: .metric, name: name, value: value, unit: unit,
                                    labels: try EmitCommand.labels(labels), lane: try EmitCommand.lane(lane),
                                    source: "cli")
            try EmitCommand.send(event, count: try EmitCommand.count(count), location: location, json: json)
        }
    }

    struct Signal: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Emit one signal occurrence, e.g. `vigil emit signal authentication_failures --label user=bob`.")
        @OptionGroup var location: DaemonLocation
        @Argument(help: "Signal name.") var name: String
        @Option(name: .customLong("label"), help: "A label key=value (repeatable).") var labels: [String] = []
        @Option(help: "Force a lane: security, incident or telemetry.") var lane: String?
        @Option(help: "How many occurrences to emit (default 1).") var count: Int = 1
        @Flag(help: "Print the JSON answer.") var json = false

        func run() throws {
            let event = IngestEvent(kind: .signal, name: name, labels: try EmitCommand.labels(labels),
                                    lane: try EmitCommand.lane(lane), source: "cli")
            try EmitCommand.send(event, count: try EmitCommand.count(count), location: location, json: json)
        }
    }
}
