import VigilCore

extension IncidentWorkflow {
    /// Changes an open incident's severity by hand: new response deadline (from the opening
    /// time) if it is not yet acknowledged, new status-update cadence, and the reason added to
    /// the classification rationale.
    public func reclassify(_ incident: Incident, severity text: String, reason: String,
                           actor: String) throws(WorkflowError) -> IncidentChange {
        guard incident.state.isOpen else { throw .notOpen(id: incident.id, state: incident.state, action: "reclassify") }
        let reason = reason.trimmingWhitespace()
        guard !reason.isEmpty else { throw .invalidArgument(field: "reason", reason: "say why the severity changes") }
        guard let level = ladder.level(named: text), let rank = ladder.levels.firstIndex(of: level) else {
            throw .unknownSeverity(found: text, ladder: ladder.name, known: ladder.levels.map { "\($0.code) (\($0.name))" })
        }
        let severity = Severity(code: level.code, rank: rank)
        guard severity != incident.severity else {
            throw .invalidArgument(field: "severity", reason: "\(incident.id) is already \(label(severity))")
        }
        let now = clock.now()
        var change = IncidentChange(incident: incident)
        change.incident.severity = severity
        change.incident.updatedAt = now
        if incident.acknowledgedAt == nil {
            change.incident.responseDeadline = level.responseTime.map { incident.createdAt + $0 }
            if let d = change.incident.responseDeadline, d > now { change.incident.slaBreachedAt = nil }
        }
        if !incident.backlog {
            change.incident.nextStatusUpdateAt = level.statusUpdateInterval.map { now + $0 }
        }
        let sentence = "Reclassified \(label(incident.severity)) → \(label(severity)) by \(actor): \(reason)."
        change.incident.classification?.rationale.append(sentence)
        change.incident.classification?.mobilisation = TeamMobilisation(level: level, rank: rank).description
        change.record(.classified, at: now, by: actor, sentence,
                      ["from_severity": incident.severity.code, "severity": severity.code, "reason": reason])
        return change
    }
}
