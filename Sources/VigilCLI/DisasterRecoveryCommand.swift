import ArgumentParser
import Foundation
import VigilControl
import VigilCore

/// `vigil dr`: disaster recovery for an incident (Docs/disaster-recovery.md) — assess, start a
/// plan, take its steps, watch the RTO/RPO clocks, complete with a report.
struct DisasterRecoveryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dr",
        abstract: "Disaster recovery: assess an incident, run a recovery plan step by step against its RTO/RPO, report.",
        subcommands: [Plans.self, Assess.self, Start.self, Status.self, Step.self, RunStep.self, Complete.self])

    struct Plans: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The criteria (RTO, RPO, severity threshold per tier) and the plans.")
        @OptionGroup var location: DaemonLocation
        @Flag(help: "Print the documented JSON form.") var json = false

        func run() throws {
            let view = try location.call("dr.plans").decode(RecoveryPlansView.self)
            if json { try printJSON(view); return }
            print("Tiers (most critical first):")
            for t in view.tiers {
                print("  \(t.name): RTO \(seconds(t.rtoSeconds)), RPO \(seconds(t.rpoSeconds)), DR considered at \(t.severityThreshold) or worse")
            }
            if !view.components.isEmpty {
                let pairs: [String] = view.components.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
                var line = "Components: " + pairs.joined(separator: ", ")
                if let d = view.defaultTier { line += " (otherwise \(d))" }
                print(line)
            }
            print("RTO warning \(seconds(view.warnBeforeSeconds)) before it runs out.")
            for p in view.plans {
                var applies: [String] = []
                if !p.tiers.isEmpty { applies.append("tiers " + p.tiers.joined(separator: ", ")) }
                if !p.types.isEmpty { applies.append("types " + p.types.joined(separator: ", ")) }
                if !p.components.isEmpty { applies.append("components " + p.components.joined(separator: ", ")) }
                var line = "\nPlan \(p.name): \(p.title)"
                if !applies.isEmpty { line += " [" + applies.joined(separator: "; ") + "]" }
                if p.failover { line += " [failover]" }
                if p.restoresData { line += " [restores data]" }
                line += " — expected " + seconds(p.expectedSeconds)
                print(line)
                for (i, s) in p.steps.enumerated() {
                    var step = "  \(i + 1). " + s.title
                    if let a = s.action { step += " (action " + a + ")" }
                    if let e = s.expectedSeconds { step += ", ~" + seconds(e) }
                    print(step)
                }
            }
        }
    }

    struct Assess: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Assess whether an incident needs disaster recovery: Yes or No, with every reason (stored on the timeline).",
            discussion: "vigil dr assess INC-2026-0042 --estimate \"3 hours\" --recovery-point 2026-12-07T09:00:00Z")
        @OptionGroup var location: DaemonLocation
        @Argument(help: "The incident id.") var id: String
        @Option(help: ArgumentHelp("Time still needed to recover with standard procedures.", valueName: "duration")) var estimate: String?
        @Option(name: .customLong("data-loss"), help: ArgumentHelp("Data lost, as time before the outage.", valueName: "duration"))
        var dataLoss: String?
        @Option(name: .customLong("recovery-point"), help: ArgumentHelp("The last good backup or checkpoint before the outage.", valueName: "rfc3339"))
        var recoveryPoint: String?
        @Option(name: .customLong("as"), help: "Act as this roster person.") var asPerson: String?
        @Flag(help: "Print the documented JSON form.") var json = false

        func run() throws {
            var args: [String: JSONValue] = ["id": .string(id)]
            if let estimate { args["estimate"] = .string(estimate) }
            if let dataLoss { args["data_loss"] = .string(dataLoss) }
            if let recoveryPoint { args["recovery_point"] = .string(recoveryPoint) }
            if let asPerson { args["as"] = .string(asPerson) }
            let view = try location.call("dr.assess", args).decode(RecoveryAssessmentView.self)
            if json { try printJSON(view); return }
            print("\(view.incident): disaster recovery \(view.recommend ? "RECOMMENDED (Yes)" : "not recommended (No)")")
            var line = "Severity " + view.severity
            line += view.tier.map { ", tier " + $0 } ?? ", no tier"
            if let rto = view.rtoSeconds { line += ", RTO " + seconds(rto) }
            if let rpo = view.rpoSeconds { line += ", RPO " + seconds(rpo) }
            line += ", down " + seconds(view.elapsedSeconds) + " since " + view.outageStart
            print(line)
            for (i, r) in view.reasons.enumerated() { print("  \(i + 1). \(r)") }
        }
    }

    struct Start: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start a recovery plan for the incident (without --plan, the best matching one, saying why).")
        @OptionGroup var location: DaemonLocation
        @Argument(help: "The incident id.") var id: String
        @Option(help: "The plan's name (vigil dr plans).") var plan: String?
        @Option(name: .customLong("data-loss"), help: ArgumentHelp("Data lost (default: the latest assessment's estimate).", valueName: "duration"))
        var dataLoss: String?
        @Option(name: .customLong("as"), help: "Act as this roster person.") var asPerson: String?
        @Flag(help: "Print the documented JSON form.") var json = false

        func run() throws {
            var args: [String: JSONValue] = ["id": .string(id)]
            if let plan { args["plan"] = .string(plan) }
            if let dataLoss { args["data_loss"] = .string(dataLoss) }
            if let asPerson { args["as"] = .string(asPerson) }
            let view = try location.call("dr.start", args).decode(RecoveryStatusView.self)
            if json { try printJSON(view); return }
            print("\(view.incident): recovery started with plan \(view.plan) (\(view.selection))")
            printStatus(view)
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The recovery's steps with their times and the RTO/RPO clocks.")
        @OptionGroup var location: DaemonLocation
        @Argument(help: "The incident id.") var id: String
        @Flag(help: "Print the documented JSON form.") var json = false

        func run() throws {
            let view = try location.call("dr.status", ["id": .string(id)]).decode(RecoveryStatusView.self)
            if json { try printJSON(view); return }
            printStatus(view)
            if let report = view.report { print(""); print(report.text) }
        }
    }

    struct Step: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Tick the current step done, or skip it with a note (steps are taken in order).",
            discussion: "vigil dr step INC-2026-0042 2 --done --note \"standby promoted\"")
        @OptionGroup var location: DaemonLocation
        @Argument(help: "The incident id.") var id: String
        @Argument(help: "The step's number.") var step: Int
        @Flag(help: "The step is done.") var done = false
        @Flag(help: "The step is skipped (say why with --note).") var skip = false
        @Option(help: "What was done or found.") var note: String?
        @Option(name: .customLong("as"), help: "Act as this roster person.") var asPerson: String?
        @Flag(help: "Print the documented JSON form.") var json = false

        func validate() throws {
            guard done != skip else { throw ValidationError("give --done or --skip") }
            guard step >= 1 else { throw ValidationError("the step number starts at 1") }
        }

        func run() throws {
            var args: [String: JSONValue] = ["id": .string(id), "step": .number(Double(step)), "mark": .string(done ? "done" : "skip")]
            if let note { args["note"] = .string(note) }
            if let asPerson { args["as"] = .string(asPerson) }
            let view = try location.call("dr.step", args).decode(RecoveryStatusView.self)
            if json { try printJSON(view); return }
            printStatus(view)
        }
    }

    struct RunStep: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run-step",
            abstract: "Run the current step's action now, as vigil actions run does (running the step is the decision).")
        @OptionGroup var location: DaemonLocation
        @Argument(help: "The incident id.") var id: String
        @Argument(help: "The step's number.") var step: Int
        @Option(name: .customLong("as"), help: "Act as this roster person.") var asPerson: String?
        @Flag(help: "Print the documented JSON form.") var json = false

        func run() throws {
            var args: [String: JSONValue] = ["id": .string(id), "step": .number(Double(step))]
            if let asPerson { args["as"] = .string(asPerson) }
            let view = try location.call("dr.run-step", args).decode(RecoveryStatusView.self)
            if json { try printJSON(view); return }
            if let s = view.steps.first(where: { $0.number == step }), let a = s.actionId {
                print("Step \(step) requested action \(s.action ?? "?") as #\(a) (\(s.actionState ?? "?")); "
                      + "tick it with vigil dr step \(view.incident) \(step) --done once it succeeded")
            }
            printStatus(view)
        }
    }

    struct Complete: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Complete the recovery once every step is done or skipped; prints the report (actual RTO/RPO, step timings).")
        @OptionGroup var location: DaemonLocation
        @Argument(help: "The incident id.") var id: String
        @Option(help: "How the recovered system was checked.") var verification: String
        @Option(name: .customLong("as"), help: "Act as this roster person.") var asPerson: String?
        @Flag(help: "Print the documented JSON form.") var json = false

        func run() throws {
            var args: [String: JSONValue] = ["id": .string(id), "verification": .string(verification)]
            if let asPerson { args["as"] = .string(asPerson) }
            let view = try location.call("dr.complete", args).decode(RecoveryStatusView.self)
            if json { try printJSON(view); return }
            print(view.report?.text ?? "completed")
        }
    }
}

/// The status as the terminal shows it: the clocks, then each step.
private func printStatus(_ view: RecoveryStatusView) {
    print("\(view.incident) — plan \(view.plan): \(view.planTitle) [\(view.status), \(view.percentComplete)% done]")
    print("Clocks: \(view.clocks)")
    if view.status == "in-progress" {
        var line = "Remaining steps expected to take \(seconds(view.expectedRemainingSeconds))"
        if let fits = view.fitsRTO { line += fits ? " — fits in the RTO" : " — does NOT fit in the RTO" }
        print(line)
    }
    for s in view.steps {
        let mark = switch s.state {
        case "done": "[x]"
        case "skipped": "[-]"
        case "running": "[>]"
        default: s.number == view.currentStep ? "[ ]*" : "[ ]"
        }
        var line = "  \(mark) \(s.number). \(s.title)"
        if let a = s.action {
            line += " (action " + a
            if let id = s.actionId { line += " #\(id) " + (s.actionState ?? "") }
            line += ")"
        }
        if let took = s.tookSeconds { line += " — took \(seconds(took))" } else if let e = s.expectedSeconds { line += " — expected \(seconds(e))" }
        if let by = s.by, s.finishedAt != nil { line += ", \(by)" }
        if let n = s.note { line += ": \(n)" }
        print(line)
    }
}

/// `1h 05m`, `12m 30s`, `40s`.
private func seconds(_ s: Int) -> String {
    let a = abs(s)
    func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
    var text: String
    if a >= 3600 {
        text = "\(a / 3600)h \(two(a % 3600 / 60))m"
    } else if a >= 60 {
        text = "\(a / 60)m"
        if a % 60 != 0 { text += " \(two(a % 60))s" }
    } else {
        text = "\(a)s"
    }
    return s < 0 ? "-" + text : text
}
