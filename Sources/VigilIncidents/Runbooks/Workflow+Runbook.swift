import VigilCore

/// Where an incident stands in its runbook: the latest tick of each step, read from the timeline
/// (so it survives restarts and shows who did what, when).
public struct RunbookProgress: Sendable, Equatable {
    public struct Tick: Sendable, Equatable {
        public var done: Bool
        public var actor: String
        public var time: Timestamp
        public var note: String?
    }

    public var runbook: Runbook
    /// Step number (1-based) → its latest tick.
    public var ticks: [Int: Tick]

    public init(runbook: Runbook, timeline: [TimelineEntry]) {
        self.runbook = runbook
        var ticks: [Int: Tick] = [:]
        for e in timeline where e.kind == .runbook && e.data["runbook"] == runbook.name {
            guard let n = e.data["step"].flatMap({ Int($0) }) else { continue }
            ticks[n] = Tick(done: e.data["done"] == "true", actor: e.actor, time: e.time,
                            note: e.data["note"].flatMap { $0.isEmpty ? nil : $0 })
        }
        self.ticks = ticks
    }

    /// Steps done, of all steps.
    public var doneCount: Int { ticks.values.filter(\.done).count }

    /// The first step not done yet (1-based), nil when all are done.
    public var nextStep: Int? { runbook.steps.indices.map { $0 + 1 }.first { ticks[$0]?.done != true } }
}

extension IncidentWorkflow {
    /// The runbook an incident follows: its own, else its incident type's.
    public func runbook(for incident: Incident) -> Runbook? {
        let name = incident.runbook ?? incident.type.flatMap { policy.incidentType(named: $0)?.runbook }
        return name.flatMap { policy.runbooks[$0] }
    }

    /// Ticks step `step` (1-based) of the incident's runbook off as done (or not done), with a
    /// note: one `runbook` timeline entry saying who, when and what.
    public func runbookStep(_ incident: Incident, timeline: [TimelineEntry], step: Int, done: Bool, note: String?,
                            actor: String) throws(WorkflowError) -> IncidentChange {
        guard let runbook = runbook(for: incident) else {
            let named = incident.runbook.map { "names runbook \"\($0)\", which is not loaded" } ?? "has no runbook"
            throw .invalidArgument(field: "id", reason: "\(incident.id) \(named) (runbooks: "
                + "\(policy.runbooks.keys.sorted().joined(separator: ", ")))")
        }
        guard step >= 1, step <= runbook.steps.count else {
            throw .invalidArgument(field: "step", reason: "runbook \(runbook.name) has steps 1 to \(runbook.steps.count), not \(step)")
        }
        let note = note?.trimmingWhitespace()
        let now = clock.now()
        var change = IncidentChange(incident: incident)
        change.incident.updatedAt = now
        let text = runbook.steps[step - 1].text
        let progress = RunbookProgress(runbook: runbook, timeline: timeline)
        let count = progress.doneCount + (done ? 1 : 0) - (progress.ticks[step]?.done == true ? 1 : 0)
        change.record(.runbook, at: now, by: actor,
                      "Runbook \(runbook.name) step \(step)/\(runbook.steps.count) \(done ? "done" : "not done"): \(text)"
                          + (note.map { $0.isEmpty ? "" : " — \($0)" } ?? "") + " (\(count) of \(runbook.steps.count) done)",
                      ["runbook": runbook.name, "step": "\(step)", "done": done ? "true" : "false", "note": note ?? ""])
        return change
    }
}
