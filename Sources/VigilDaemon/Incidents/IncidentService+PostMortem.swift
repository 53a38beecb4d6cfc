import Foundation
import VigilCore
import VigilIncidents
import VigilStore

/// Post-mortem documents: drafted by Vigil from its records, edited by people (every edit a new
/// version), submitted for review and approved; the `post-mortem → closed` step needs the
/// approved one. Every change is a line on the incident's timeline.
extension IncidentService {
    public enum PostMortemReview: String, Sendable, CaseIterable {
        /// draft → in review
        case submit
        /// in review → approved
        case approve
        /// in review or approved → draft (more to write)
        case reopen
    }

    /// The current document; nil when nobody drafted one yet.
    public func postMortem(_ incidentID: String, version: Int? = nil) async throws -> PostMortem? {
        guard try await store.incident(id: incidentID) != nil else { throw IncidentServiceError.notFound(incidentID) }
        return try await store.postMortem(incidentID: incidentID, version: version)
    }

    /// A new version with `sections` replaced (the first one starts from Vigil's draft); with
    /// `redraft` the sections Vigil writes are written again from the records as they are now.
    /// An approved document is not edited: reopen it first.
    public func editPostMortem(_ incidentID: String, sections: [String: String], redraft: Bool, note: String?,
                               actor: String) async throws -> PostMortem {
        for (key, text) in sections {
            guard PostMortem.sectionKeys.contains(key) else {
                throw ActionItemError.invalid("sections: \"\(key.prefix(60))\" is not a section; the sections are "
                    + PostMortem.sectionKeys.joined(separator: ", "))
            }
            guard text.utf8.count <= PostMortem.maximumSectionBytes else {
                throw ActionItemError.invalid("sections.\(key): \(text.utf8.count) bytes; at most \(PostMortem.maximumSectionBytes)")
            }
            guard !text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control && $0 != "\n" && $0 != "\t" }) else {
                throw ActionItemError.invalid("sections.\(key): contains control characters")
            }
        }
        let now = clock.now()
        let drafter = PostMortemDraft(policy: workflow.policy)
        let lookback = workflow.policy.components.lookback
        return try await itemWrite { tx in
            guard let incident = try tx.incident(id: incidentID) else { throw IncidentServiceError.notFound(incidentID) }
            let latest = try tx.postMortem(incidentID: incidentID)
            if let latest, latest.state == .approved {
                throw ActionItemError.conflict("\(incidentID)'s post-mortem v\(latest.version) is approved; reopen it "
                    + "(vigil postmortem reopen \(incidentID)) before editing")
            }
            var text = latest?.sections ?? [:]
            if latest == nil || redraft {
                let drafted = drafter.sections(incident, timeline: try tx.timeline(incidentID: incidentID),
                                               causes: try Self.causeCandidates(tx, before: incident, lookback: lookback), now: now)
                for s in PostMortem.sections where s.drafted { text[s.key] = drafted[s.key] ?? text[s.key] }
                // A redraft ranks again; what people already confirmed or rejected stays decided.
                if let old = latest?.sections["possible_causes"], let new = text["possible_causes"] {
                    text["possible_causes"] = CauseHypothesesSection.carryVerdicts(from: old, into: new)
                }
            }
            for (key, value) in sections { text[key] = value.trimmingWhitespace().isEmpty ? nil : value }
            let doc = PostMortem(incidentID: incidentID, version: (latest?.version ?? 0) + 1, state: .draft, sections: text,
                                 author: actor, updatedAt: now, note: note)
            try tx.insert(doc)
            var change = IncidentChange(incident: incident)
            let what = latest == nil ? "drafted" : (sections.isEmpty ? "redrafted" : "edited (" + sections.keys.sorted().joined(separator: ", ") + ")")
            change.record(.postMortem, at: now, by: actor, "Post-mortem v\(doc.version) \(what)" + (note.map { ": \($0)" } ?? ""),
                          ["version": "\(doc.version)", "state": doc.state.rawValue])
            _ = try tx.commit(StoreChange(change))
            return doc
        }
    }

    public func reviewPostMortem(_ incidentID: String, _ review: PostMortemReview, note: String?, actor: String) async throws -> PostMortem {
        let now = clock.now()
        let selfApproval = workflow.policy.handling.postMortemSelfApproval
        return try await itemWrite { tx in
            guard let incident = try tx.incident(id: incidentID) else { throw IncidentServiceError.notFound(incidentID) }
            guard let latest = try tx.postMortem(incidentID: incidentID) else {
                throw ActionItemError.conflict("\(incidentID) has no post-mortem yet; draft it with vigil postmortem edit \(incidentID)")
            }
            let target: PostMortem.State
            switch (review, latest.state) {
            case (.submit, .draft): target = .inReview
            case (.approve, .inReview): target = .approved
            case (.reopen, .inReview), (.reopen, .approved): target = .draft
            default:
                throw ActionItemError.conflict("\(incidentID)'s post-mortem v\(latest.version) is \(latest.state.rawValue); "
                    + "it cannot be \(review == .submit ? "submitted" : review == .approve ? "approved" : "reopened") "
                    + "(draft → submit → in review → approve → approved; reopen goes back to draft)")
            }
            // Four eyes: whoever submitted it for review does not approve it too.
            if target == .approved, !selfApproval, Self.person(latest.author) == Self.person(actor) {
                throw ActionItemError.conflict("\(Self.person(actor)) submitted \(incidentID)'s post-mortem for review, so "
                    + "another person approves it (incidents.post_mortem.self_approval: true allows the submitter to)")
            }
            var doc = latest
            doc.version += 1
            doc.state = target
            doc.updatedAt = now
            doc.author = actor
            doc.note = note
            doc.approvedBy = target == .approved ? actor : nil
            try tx.insert(doc)
            var change = IncidentChange(incident: incident)
            let verb = switch review {
            case .submit: "submitted for review"
            case .approve: "approved"
            case .reopen: "reopened for editing"
            }
            change.record(.postMortem, at: now, by: actor, "Post-mortem v\(doc.version) \(verb) by \(actor)" + (note.map { ": \($0)" } ?? ""),
                          ["version": "\(doc.version)", "state": doc.state.rawValue])
            _ = try tx.commit(StoreChange(change))
            return doc
        }
    }

    /// `post-mortem → closed` needs the approved document when the severity requires one.
    func checkPostMortemGate(_ id: String, to state: IncidentState) async throws {
        guard state == .closed, let current = try await store.incident(id: id), current.state == .postMortem,
              workflow.postMortemRequired(current.severity) else { return }
        let doc = try await store.postMortem(incidentID: id)
        guard doc?.state == .approved else {
            throw IncidentServiceError.refused(.illegalTransition(LifecycleError(
                incidentID: id, from: current.state, to: .closed, allowed: [.closed],
                hint: doc == nil ? "its post-mortem is not written yet: vigil postmortem edit \(id)"
                    : "its post-mortem v\(doc?.version ?? 0) is \(doc?.state.rawValue ?? "?"), not approved: vigil postmortem approve \(id)")))
        }
    }

    /// The person behind an actor: `alice` for `alice` and for `alice via root` (a root shell
    /// acting as alice).
    static func person(_ actor: String) -> String {
        actor.components(separatedBy: " via ").first ?? actor
    }
}
