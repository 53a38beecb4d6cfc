import VigilCore
import VigilIncidents
import VigilStore

/// Root-cause help: what preceded an incident, gathered for the post-mortem draft's
/// `possible_causes` section, and people's verdicts on each hypothesis (Docs/root-cause.md).
extension IncidentService {
    /// Changes, containment actions (of other incidents) and other incidents in the `lookback`
    /// before `incident` was detected, as candidates for ``CauseRanking``.
    static func causeCandidates(_ tx: StoreTransaction, before incident: Incident, lookback: Duration) throws -> [CauseCandidate] {
        let found = try tx.causeCandidates(from: incident.detectedAt - lookback, to: incident.detectedAt)
        var out = found.changes.map(CauseCandidate.init)
        for (action, owner) in found.actions where action.incidentID != incident.id {
            out.append(CauseCandidate(reference: "action \(action.id ?? 0)", origin: .containment(for: action.incidentID),
                                      time: Timestamp(nanoseconds: action.requestedAt),
                                      components: owner.map(CauseRanking.components(of:)) ?? [],
                                      subject: action.name + (action.actionState == .failed ? " (failed)" : "")))
        }
        for other in found.incidents where other.id != incident.id {
            out.append(CauseCandidate(reference: "incident \(other.id)", origin: .incident(severity: other.severity.code),
                                      time: other.detectedAt, components: CauseRanking.components(of: other),
                                      subject: other.title))
        }
        return out
    }

    /// A new version with hypothesis `number` of `possible_causes` confirmed, rejected or opened
    /// again, and a line on the timeline. An approved document is not changed: reopen it first.
    public func judgeHypothesis(_ incidentID: String, number: Int, verdict: CauseHypothesesSection.Verdict, note: String?,
                                actor: String) async throws -> PostMortem {
        let now = clock.now()
        return try await itemWrite { tx in
            guard let incident = try tx.incident(id: incidentID) else { throw IncidentServiceError.notFound(incidentID) }
            guard let latest = try tx.postMortem(incidentID: incidentID) else {
                throw ActionItemError.conflict("\(incidentID) has no post-mortem yet; draft it with vigil postmortem edit \(incidentID)")
            }
            guard latest.state != .approved else {
                throw ActionItemError.conflict("\(incidentID)'s post-mortem v\(latest.version) is approved; reopen it "
                    + "(vigil postmortem reopen \(incidentID)) before judging a hypothesis")
            }
            let marked: String
            do {
                marked = try CauseHypothesesSection.mark(latest.sections["possible_causes"] ?? "", number: number, verdict: verdict,
                                                         actor: actor, at: now, note: note)
            } catch {
                throw ActionItemError.invalid(String(describing: error))
            }
            var doc = latest
            doc.version += 1
            doc.state = .draft
            doc.sections["possible_causes"] = marked
            doc.author = actor
            doc.updatedAt = now
            doc.approvedBy = nil
            doc.note = note
            try tx.insert(doc)
            var change = IncidentChange(incident: incident)
            change.record(.postMortem, at: now, by: actor,
                          "Post-mortem v\(doc.version): hypothesis \(number) \(verdict == .open ? "opened again" : verdict.rawValue) by \(actor)"
                              + (note.map { ": \($0)" } ?? ""),
                          ["version": "\(doc.version)", "state": doc.state.rawValue, "hypothesis": "\(number)", "verdict": verdict.rawValue])
            _ = try tx.commit(StoreChange(change))
            return doc
        }
    }
}
