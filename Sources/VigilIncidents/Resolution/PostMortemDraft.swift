import VigilCore

/// The sections of a post-mortem Vigil writes from its own records (seed 000 `conduct_postmortem`:
/// "gather all incident timeline data, calculate impact metrics, identify response effectiveness"):
/// the summary, the impact, the timeline, the response times against the SLA, what the responders
/// wrote, the root cause as recorded at resolution, and the possible causes: what preceded the
/// incident, ranked (``CauseRanking``), as hypotheses for people to confirm or reject. People
/// fill the rest.
public struct PostMortemDraft: Sendable {
    let policy: IncidentPolicy

    public init(policy: IncidentPolicy) { self.policy = policy }

    /// The timeline kinds a post-mortem retells (notifications and occurrences are in the record).
    static let retold: Set<TimelineKind> = [.detected, .declared, .classified, .transition, .acknowledged, .assigned,
                                            .escalated, .slaBreached, .action, .verification, .resolved, .reopened,
                                            .statusUpdate, .recoveryWatch]

    /// - Parameter causes: what preceded the incident (changes, containment actions, other
    ///   incidents), ranked here into the `possible_causes` section.
    public func sections(_ incident: Incident, timeline: [TimelineEntry], causes: [CauseCandidate] = [],
                         now: Timestamp) -> [String: String] {
        var out: [String: String] = [:]
        let level = policy.ladder.level(of: incident.severity)
        let severity = incident.severity.code + (level.map { " \($0.name)" } ?? "")
        let end = incident.resolvedAt ?? incident.closedAt ?? now
        out["summary"] = [
            "\(incident.title) (\(severity)\(incident.type.map { ", \($0)" } ?? "")).",
            incident.summary.isEmpty ? nil : incident.summary,
            incident.resolution.map { "Resolved: \($0.summary) (verified: \($0.verification))." },
        ].compactMap { $0 }.joined(separator: "\n\n")
        var impact = ["- Duration: \(KnowledgeTransfer.span(end - incident.detectedAt)) from detection "
                      + "(\(incident.detectedAt.rfc3339)) to \(incident.resolvedAt == nil ? "now" : "resolution") (\(end.rfc3339))",
                      "- Severity: \(severity)"]
        let components = ([incident.labels["component"]].compactMap { $0 } + (incident.classification?.affectedComponents ?? []))
        if !components.isEmpty { impact.append("- Components: " + Array(Set(components)).sorted().joined(separator: ", ")) }
        if let c = incident.classification {
            let parts = [c.impact.map { "impact \($0)" }, c.userScope.map { "users: \($0)" }, c.serviceImpact.map { "service: \($0)" }]
                .compactMap { $0 }
            if !parts.isEmpty { impact.append("- " + parts.joined(separator: "; ")) }
        }
        impact.append("- Signals and alerts absorbed: \(incident.occurrences)" + (incident.flapCount > 0 ? ", flapped \(incident.flapCount) time(s)" : ""))
        impact.append("- Escalation level reached: \(incident.escalationLevel)")
        out["impact"] = impact.joined(separator: "\n")
        out["timeline"] = timeline.filter { Self.retold.contains($0.kind) }.prefix(500)
            .map { "- \($0.time.rfc3339) \($0.actor): \(Self.oneLine($0.message))" }.joined(separator: "\n")
        func since(_ t: Timestamp?) -> String { t.map { KnowledgeTransfer.span($0 - incident.detectedAt) } ?? "not reached" }
        let contained = timeline.first { $0.kind == .transition && $0.data["to"] == IncidentState.contained.rawValue }?.time
        let clock = ResponseClock(incident, now: now)
        out["response_times"] = [
            "- Time to detect (detection → opened): \(since(incident.createdAt))",
            "- Time to acknowledge: \(since(incident.acknowledgedAt))"
                + (incident.responseDeadline.map { " (SLA: acknowledge by \($0.rfc3339); \(clock.state.rawValue))" } ?? ""),
            "- Time to contain: \(since(contained))",
            "- Time to resolve: \(since(incident.resolvedAt))",
        ].joined(separator: "\n")
        let words = timeline.filter { $0.kind == .comment || $0.kind == .statusUpdate }
            .prefix(200).map { "- \($0.time.rfc3339) \($0.actor): \(Self.oneLine($0.message))" }
        out["responders_notes"] = words.joined(separator: "\n")
        if let cause = incident.resolution?.rootCause { out["root_cause"] = cause }
        out["possible_causes"] = CauseHypothesesSection.draft(CauseRanking(map: policy.components).rank(incident, candidates: causes),
                                                              incidentID: incident.id, lookback: policy.components.lookback)
        return out.mapValues { Self.bounded($0) }
    }

    static func oneLine(_ text: String) -> String {
        String(text.map { $0.isNewline ? " " : $0 }.prefix(1000))
    }

    /// A section within ``PostMortem/maximumSectionBytes``, cut at a line.
    static func bounded(_ text: String) -> String {
        guard text.utf8.count > PostMortem.maximumSectionBytes else { return text }
        var out = ""
        for line in text.split(separator: "\n") {
            guard out.utf8.count + line.utf8.count + 40 < PostMortem.maximumSectionBytes else { break }
            out += line + "\n"
        }
        return out + "- … (cut; the full record is in the incident's timeline)"
    }
}
