import ArgumentParser
import Foundation
import VigilConfig
import VigilControl
import VigilCore
import VigilRules

extension RulesCommand {
    /// `vigil rules suggest RULE`: threshold and `for`/window changes from the rule's false positives,
    /// each judged by replaying the samples the daemon recorded around every past incident of the rule.
    struct Suggest: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Propose threshold or for/window changes to a rule from its false positives, judged by replaying its past incidents.",
            discussion: """
                False positives are the rule's incidents dismissed with `vigil incidents dismiss ID --reason`; the \
                others, once resolved or closed, are real. For each candidate, the samples the daemon recorded \
                around every past incident (rules.recording) are replayed through the changed rule: it shows which \
                false positives it would have avoided and which real incidents it would have missed. Candidates \
                that miss no real incident come first. Needs the running daemon.
                """)
        @Argument(help: "The rule id (see `vigil rules check --list`).") var rule: String
        @Option(parsing: .upToNextOption, help: "Rule files; default: those of the configuration.") var rules: [String] = []
        @Option(help: "The configuration (default Config/vigil.yaml).") var config: String?
        @Option(help: "At most this many of the rule's incidents, newest first (1-200).") var limit: Int = 200
        @Flag(help: "Print the report as JSON.") var json = false
        @OptionGroup var location: DaemonLocation

        func validate() throws {
            guard (1...200).contains(limit) else { throw ValidationError("--limit must be from 1 to 200") }
            guard RuleIdentifiers.isValid(rule), rule.utf8.count <= 200 else {
                throw ValidationError("\"\(rule)\" is not a rule id (letters, digits, '_', '-', '.' and ':')")
            }
        }

        func run() throws {
            let set: RuleSet
            do {
                set = try RulesCommand.load(files: rules, config: config)
            } catch {
                throw RulesCommand.report(error, what: rules.isEmpty ? (config ?? "Config/vigil.yaml") : rules.joined(separator: ", "))
            }
            guard let current = set.rule(id: rule) else {
                let near = set.rules.map(\.id).filter { $0.contains(rule) || rule.contains($0) }.prefix(5)
                printError("vigil: no rule \(rule) in the loaded rules" + (near.isEmpty ? "" : "; did you mean \(near.joined(separator: ", "))?"))
                throw ExitCode(1)
            }
            let view = try location.call("rules.samples", ["rule": .string(rule), "limit": .number(Double(limit))])
                .decode(RuleSamplesView.self)
            var history: [IncidentSamples] = []
            for i in view.incidents {
                let (samples, errors) = SampleRecording.incident(id: i.id, title: i.title, state: i.state,
                                                                 falsePositive: i.falsePositive, finished: i.finished,
                                                                 end: i.end, truncated: i.truncated, lines: i.samples)
                for e in errors.prefix(3) { printError("vigil: recorded sample skipped: \(e)") }
                history.append(samples)
            }
            if view.truncated { printError("vigil: the recordings are larger than one answer holds; the newest incidents' samples were cut") }
            let report = RuleSuggestion.suggest(rule: current, in: set, incidents: history)
            let byID = Dictionary(history.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
            if json {
                try printJSON(SuggestionView(report, incidents: byID))
                return
            }
            // The alert each incident is (`{host="web-1"}`): the fingerprint without the rule id.
            let alerts = Dictionary(view.incidents.map { ($0.id, String(($0.fingerprint ?? "").dropFirst(rule.count))) },
                                    uniquingKeysWith: { a, _ in a })
            print(Self.render(report, incidents: byID, alerts: alerts))
        }

        static func render(_ report: RuleSuggestionReport, incidents: [String: IncidentSamples],
                           alerts: [String: String] = [:]) -> String {
            var out: [String] = []
            let r = report.rule
            out.append("rule \(r.id): \(r.expression.description)" + (r.location.map { " (\($0.file):\($0.line))" } ?? ""))
            func name(_ id: String) -> String {
                guard let i = incidents[id] else { return id }
                return "\(id)\((alerts[id]).map { $0.isEmpty ? "" : " \($0)" } ?? "") \"\(i.title)\""
                    + (i.falsePositive.map { " (false positive: \($0))" } ?? "")
            }
            out.append("history: \(report.falsePositives.count) false positive(s) and \(report.real.count) real incident(s) "
                       + "replayed from their recorded samples" + (report.notJudged.isEmpty ? "" : "; \(report.notJudged.count) not judged"))
            for id in report.falsePositives { out.append("  false positive  \(name(id))") }
            for id in report.real { out.append("  real            \(name(id))") }
            for (id, why) in report.notJudged.sorted(by: { $0.key < $1.key }) { out.append("  not judged      \(name(id)): \(why)") }
            if report.falsePositives.isEmpty {
                out.append("no false positives to avoid: nothing to suggest "
                           + "(dismiss one with `vigil incidents dismiss ID --reason …`)")
                return out.joined(separator: "\n")
            }
            if report.candidates.isEmpty {
                out.append("no threshold or for/window change of this rule avoids its false positives")
                return out.joined(separator: "\n")
            }
            out.append("")
            out.append("candidates, best first (replayed over \(report.falsePositives.count + report.real.count) incident(s)):")
            for (n, c) in report.candidates.enumerated() {
                let verdict = c.missed.isEmpty ? "misses no real incident" : "MISSES \(c.missed.count) REAL INCIDENT(S)"
                out.append("\(n + 1). \(c.change): avoids \(c.avoided.count) of \(report.falsePositives.count) false positive(s), \(verdict)")
                for id in c.avoided { out.append("     avoids        \(name(id))") }
                for id in c.stillRaised { out.append("     still raises  \(name(id))") }
                for id in c.missed { out.append("     would miss    \(name(id))") }
                out.append("     rule: \(c.text)")
            }
            return out.joined(separator: "\n")
        }
    }
}

/// `vigil rules suggest --json`.
struct SuggestionView: Encodable {
    struct IncidentRef: Encodable {
        var id: String
        var title: String
        var falsePositive: String?
    }

    struct Candidate: Encodable {
        var change: String
        var rule: String
        var missesRealIncidents: Bool
        var avoided: [IncidentRef]
        var stillRaised: [IncidentRef]
        var caught: [IncidentRef]
        var missed: [IncidentRef]
    }

    var rule: String
    var text: String
    var falsePositives: [IncidentRef]
    var real: [IncidentRef]
    var notJudged: [String: String]
    var candidates: [Candidate]

    init(_ r: RuleSuggestionReport, incidents: [String: IncidentSamples]) {
        func refs(_ ids: [String]) -> [IncidentRef] {
            ids.map { IncidentRef(id: $0, title: incidents[$0]?.title ?? "", falsePositive: incidents[$0]?.falsePositive) }
        }
        rule = r.rule.id
        text = r.rule.expression.description
        falsePositives = refs(r.falsePositives)
        real = refs(r.real)
        notJudged = r.notJudged
        candidates = r.candidates.map {
            Candidate(change: $0.change, rule: $0.text, missesRealIncidents: !$0.missed.isEmpty, avoided: refs($0.avoided),
                      stillRaised: refs($0.stillRaised), caught: refs($0.caught), missed: refs($0.missed))
        }
    }
}
