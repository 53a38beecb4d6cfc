import VigilCore

/// The brief an escalation target or a new role holder receives (seed 000 `escalate_incident`
/// steps 4 and 7): the incident's context, current status and a summary of its timeline.
public struct KnowledgeTransfer: Sendable {
    public let policy: IncidentPolicy
    /// How many of the latest timeline entries the summary keeps.
    public var timelineLimit = 12

    public init(policy: IncidentPolicy) { self.policy = policy }

    public func brief(for incident: Incident, timeline: [TimelineEntry], headline: String, now: Timestamp) -> String {
        let level = policy.ladder.level(of: incident.severity)
        var lines: [String] = []
        lines.append("\(incident.id) — \(incident.severity.code)" + (level.map { " (\($0.name))" } ?? "")
            + " — \(incident.title)")
        lines.append(headline)
        lines.append("")
        var status = "State: \(incident.state) · open for \(Self.span(now - incident.createdAt))"
        if let ack = incident.acknowledgedAt {
            status += " · acknowledged \(ack.rfc3339)"
        } else {
            status += " · NOT acknowledged"
        }
        if let breached = incident.slaBreachedAt { status += " · response SLA breached at \(breached.rfc3339)" }
        lines.append(status)
        if let channel = incident.channel { lines.append("Channel: \(channel)") }
        if let runbook = incident.runbook { lines.append("Runbook: \(runbook)") }
        if !incident.summary.isEmpty { lines.append("Summary: \(incident.summary)") }
        if incident.occurrences > 1 { lines.append("Signals: \(incident.occurrences), last \(incident.lastSeenAt.rfc3339)") }
        let roles = incident.roles.sorted { $0.key < $1.key }.map { role, person in
            "\(RoleNames.display(role, policy: policy)): \(OnCallSchedule(roster: policy.roster).person(person)?.name ?? person)"
        }
        if !roles.isEmpty { lines.append("Roles: " + roles.joined(separator: "; ")) }
        if let rationale = incident.classification?.rationale, !rationale.isEmpty {
            lines.append("")
            lines.append("Why this severity:")
            lines += rationale.map { "  - \($0)" }
        }
        let relevant = timeline.filter { $0.kind != .notification }
        if !relevant.isEmpty {
            lines.append("")
            let shown = relevant.suffix(timelineLimit)
            lines.append("Timeline (\(shown.count == relevant.count ? "all \(relevant.count)" : "last \(shown.count) of \(relevant.count)") entries):")
            for e in shown { lines.append("  \(e.time.rfc3339)  \(e.actor)  \(e.kind.rawValue): \(e.message)") }
        }
        return lines.joined(separator: "\n")
    }

    /// `1h12m`, `15m`, `40s`.
    public static func span(_ d: Duration) -> String {
        let s = max(0, Int(d.inSeconds.rounded(.down)))
        if s >= 86_400 { return "\(s / 86_400)d\(s % 86_400 / 3600)h" }
        if s >= 3600 { return "\(s / 3600)h\(s % 3600 / 60)m" }
        if s >= 60 { return "\(s / 60)m" + (s % 60 == 0 ? "" : "\(s % 60)s") }
        return "\(s)s"
    }
}
