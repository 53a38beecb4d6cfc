import Testing
import VigilCore
import VigilIncidents

@Suite struct LifecycleTests {
    static let forward: [IncidentState] = [.detected, .classified, .mobilised, .containing, .contained, .investigating,
                                           .remediating, .recovering, .validating, .resolved, .postMortem, .closed]

    @Test func theSeedFlowIsTheOnlyWayForward() {
        for (from, to) in zip(Self.forward, Self.forward.dropFirst()) {
            #expect(LifecycleFlow.next(from: from, postMortemRequired: true).first == to)
        }
        #expect(LifecycleFlow.next(from: .validating, postMortemRequired: true) == [.resolved, .investigating])
        #expect(LifecycleFlow.next(from: .resolved, postMortemRequired: true) == [.postMortem])
        #expect(LifecycleFlow.next(from: .resolved, postMortemRequired: false) == [.postMortem, .closed])
        #expect(LifecycleFlow.next(from: .closed, postMortemRequired: false).isEmpty)
    }

    @Test func everyIllegalPairIsRefusedListingTheAllowedOnes() {
        var refused = 0
        for from in IncidentState.allCases {
            let allowed = LifecycleFlow.next(from: from, postMortemRequired: true)
            for to in IncidentState.allCases where !allowed.contains(to) {
                do {
                    try LifecycleFlow.check("INC-2026-0001", from: from, to: to, postMortemRequired: true)
                    Issue.record("\(from) → \(to) was allowed")
                } catch {
                    #expect(error.allowed == allowed)
                    #expect(error.description.contains("cannot go from \(from) to \(to)"))
                    refused += 1
                }
            }
        }
        let allowedCount = IncidentState.allCases.map { LifecycleFlow.next(from: $0, postMortemRequired: true).count }.reduce(0, +)
        #expect(allowedCount == 12)
        #expect(refused == 12 * 12 - allowedCount)
    }

    @Test func refusalSaysTheWayThere() {
        #expect(throws: LifecycleError.self) {
            try LifecycleFlow.check("INC-2026-0001", from: .mobilised, to: .investigating, postMortemRequired: true)
        }
        do {
            try LifecycleFlow.check("INC-2026-0001", from: .mobilised, to: .investigating, postMortemRequired: true)
        } catch {
            #expect(error.description == "INC-2026-0001 cannot go from mobilised to investigating; allowed from mobilised: "
                + "containing (the way there is containing → contained → investigating)")
        }
    }

    /// Walks a P1 through the whole flow with the workflow, every step a timeline entry with actor and reason.
    @Test func walkTheWholeFlow() throws {
        let (w, clock) = workflow(try shippedPolicy())
        var timeline: [TimelineEntry] = []
        var incident = apply(try declare(w, ClassificationInput(title: "API down", severity: "P1")), to: &timeline)
        #expect(incident.state == .mobilised)
        for state: IncidentState in [.containing, .contained, .investigating, .remediating, .recovering, .validating] {
            clock.advance(by: minutes(5))
            incident = apply(try w.transition(incident, timeline: timeline, to: state, reason: "step \(state)", actor: "dave"),
                             to: &timeline)
        }
        // Not fully restored: back to investigating, with an escalation.
        let failed = try w.transition(incident, timeline: timeline, to: .investigating, reason: "errors persist", actor: "dave")
        #expect(failed.incident.escalationLevel == 1)
        #expect(failed.timeline.contains { $0.kind == .escalated && $0.data["reason"]?.contains("errors persist") == true })
        incident = apply(failed, to: &timeline)
        for state: IncidentState in [.remediating, .recovering, .validating] {
            incident = apply(try w.transition(incident, timeline: timeline, to: state, reason: "again", actor: "dave"),
                             to: &timeline)
        }
        #expect(throws: WorkflowError.self) {
            try w.transition(incident, timeline: timeline, to: .resolved, reason: "done", actor: "dave")
        }
        incident = apply(try w.resolve(incident, timeline: timeline,
                                       request: ResolutionRequest(verification: "500s at 0 for 30 min", summary: "rolled back"),
                                       actor: "dave"), to: &timeline)
        #expect(throws: WorkflowError.self) {
            try w.transition(incident, timeline: timeline, to: .closed, reason: "skip", actor: "dave")
        }
        incident = apply(try w.transition(incident, timeline: timeline, to: .postMortem, reason: "review", actor: "dave"),
                         to: &timeline)
        incident = apply(try w.transition(incident, timeline: timeline, to: .closed, reason: "actions tracked", actor: "dave"),
                         to: &timeline)
        #expect(incident.closedAt == clock.now())
        let transitions = timeline.filter { $0.kind == .transition || $0.kind == .resolved }
        #expect(transitions.allSatisfy { !$0.actor.isEmpty && $0.data["to"] != nil })
        #expect(transitions.compactMap { $0.data["to"] }.suffix(3) == ["resolved", "post-mortem", "closed"])
        // Reopen brings it back to investigating.
        let reopened = try w.reopen(incident, timeline: timeline, reason: "it came back", actor: "erin")
        #expect(reopened.incident.state == .investigating && reopened.incident.closedAt == nil)
        #expect(reopened.timeline.first?.kind == .reopened)
    }

    @Test func lowSeverityMayCloseWithoutPostMortem() throws {
        let (w, _) = workflow(try shippedPolicy())
        var incident = try declare(w, ClassificationInput(title: "x", severity: "P3")).incident
        incident.state = .validating
        incident = try w.resolve(incident, timeline: [], request: ResolutionRequest(verification: "v", summary: "s"),
                                 actor: "dave").incident
        #expect(incident.postMortemDueAt == nil)
        #expect(try w.transition(incident, timeline: [], to: .closed, reason: "done", actor: "dave").incident.state == .closed)
    }

    @Test func reasonIsRequired() throws {
        let (w, _) = workflow(try shippedPolicy())
        let incident = try declare(w, ClassificationInput(title: "x", severity: "P2")).incident
        #expect(throws: WorkflowError.invalidArgument(field: "reason", reason: "say why the state changes")) {
            try w.transition(incident, timeline: [], to: .containing, reason: "  ", actor: "dave")
        }
    }
}
