import Testing
import VigilCore
import VigilIncidents

/// Seed 000 "Escalation Paths", every cell, on both ladders.
@Suite struct EscalationPathTableTests {
    static let table: [(responder: String, cells: [String])] = [
        ("on_call_engineer", ["Team Lead -> Engineering Manager -> CTO", "Team Lead -> Engineering Manager", "Team Lead",
                              "Add to Backlog"]),
        ("team_lead", ["Engineering Manager -> CTO", "Engineering Manager", "Assign to Team", "Add to Backlog"]),
        ("engineering_manager", ["CTO", "CTO", "Assign to Team", "Add to Backlog"]),
    ]

    @Test(arguments: ["p1-p4", "p0-p3"])
    func everyCell(ladder: String) throws {
        let policy = try shippedPolicy(ladder: ladder)
        for row in Self.table {
            for (rank, cell) in row.cells.enumerated() {
                let severity = policy.ladder.severities[rank]
                let plan = EscalationPlan(policy: policy, responder: row.responder, severity: severity)
                #expect(plan.describe(policy: policy) == cell, "\(row.responder) × \(severity.code) on \(ladder)")
                #expect(plan.goesToBacklog == (cell == "Add to Backlog"))
            }
        }
    }

    /// Unacknowledged: level 1 when the response SLA is breached, then one level per step interval.
    @Test(arguments: [
        ("p1-p4", "P1", [15, 30, 45]), ("p1-p4", "P2", [60, 120]), ("p1-p4", "P3", [240]), ("p1-p4", "P4", []),
        ("p0-p3", "P0", [15, 30, 45]), ("p0-p3", "P1", [30, 90]), ("p0-p3", "P2", [120]), ("p0-p3", "P3", []),
    ])
    func escalationMinutes(ladder: String, code: String, expected: [Int]) throws {
        let (w, _) = workflow(try shippedPolicy(ladder: ladder))
        let incident = try declare(w, ClassificationInput(title: "x", severity: code)).incident
        let upcoming = EscalationPlan(policy: w.policy, incident: incident).upcoming(for: incident)
        #expect(upcoming.map { Int(($0.due - incident.createdAt).inSeconds / 60) } == expected)
    }

    @Test func teamLeadRowAssignsMediumToTheTeam() throws {
        let (w, clock) = workflow(try shippedPolicy())
        let opened = try declare(w, ClassificationInput(title: "x", severity: "P3"), responder: "Team Lead")
        #expect(opened.incident.responderRole == "team_lead")
        clock.advance(by: .seconds(4 * 3600))
        let change = try #require(w.tick(opened.incident, timeline: opened.timeline))
        #expect(change.incident.escalationLevel == 1)
        #expect(change.timeline.contains { $0.kind == .escalated && $0.message.hasPrefix("Escalation path says Assign to Team") })
        clock.advance(by: .seconds(24 * 3600))
        let later = w.tick(change.incident, timeline: [])
        #expect(later?.timeline.contains { $0.kind == .escalated } == false)
        #expect(later?.incident.escalationLevel == 1)
    }
}

/// A P0 nobody acknowledges, driven by a manual clock (the daemon test repeats this over SQLite
/// with a restart in the middle).
@Suite struct UnacknowledgedP0Tests {
    func run(ackAt: Int? = nil) throws -> (Incident, [TimelineEntry], [(minute: Int, level: Int, person: String?)]) {
        let (w, clock) = workflow(try shippedPolicy(ladder: "p0-p3"))
        var timeline: [TimelineEntry] = []
        var incident = apply(try declare(w, ClassificationInput(title: "Everything is down", severity: "P0")), to: &timeline)
        var seen: [(Int, Int, String?)] = []
        for minute in 1...90 {
            clock.set(monday + minutes(minute))
            if minute == ackAt { incident = apply(try w.acknowledge(incident, actor: "dave"), to: &timeline) }
            if let change = w.tick(incident, timeline: timeline) {
                incident = apply(change, to: &timeline)
                for e in change.timeline where e.kind == .escalated {
                    seen.append((minute, Int(e.data["level"] ?? "") ?? -1, e.data["person"]))
                }
            }
        }
        return (incident, timeline, seen)
    }

    @Test func escalatesTeamLeadEngineeringManagerCTOAtFifteenThirtyFortyFive() throws {
        let (incident, timeline, seen) = try run()
        #expect(seen.map(\.minute) == [15, 30, 45])
        #expect(seen.map(\.level) == [1, 2, 3])
        #expect(seen.map(\.person) == ["dave", "erin", "frank"])
        #expect(incident.slaBreachedAt == monday + minutes(15))
        #expect(incident.roles["incident_commander"] == "frank")
        #expect(timeline.filter { $0.kind == .slaBreached }.count == 1)
        // Each level was told with the context and timeline (knowledge transfer).
        let escalations = timeline.filter { $0.kind == .notification && $0.data["purpose"] == "escalation" }
        #expect(escalations.map { $0.data["person"] } == ["dave", "erin", "frank"])
    }

    @Test func acknowledgingStopsIt() throws {
        let (incident, _, seen) = try run(ackAt: 20)
        #expect(seen.map(\.minute) == [15])
        #expect(incident.escalationLevel == 1)
        #expect(incident.acknowledgedAt == monday + minutes(20))
    }

    @Test func aLateTickCatchesUpWithoutShiftingTheSchedule() throws {
        let (w, clock) = workflow(try shippedPolicy(ladder: "p0-p3"))
        let opened = try declare(w, ClassificationInput(title: "x", severity: "P0"))
        clock.set(monday + minutes(37))
        let change = try #require(w.tick(opened.incident, timeline: opened.timeline))
        #expect(change.incident.escalationLevel == 2)
        #expect(change.incident.escalatedAt == monday + minutes(30))
        clock.set(monday + minutes(45))
        #expect(w.tick(change.incident, timeline: [])?.incident.escalationLevel == 3)
    }

    @Test func manualEscalationTakesTheNextStepAndRefusesPastTheTop() throws {
        let (w, _) = workflow(try shippedPolicy())
        var incident = try declare(w, ClassificationInput(title: "x", severity: "P2")).incident
        incident = try w.escalate(incident, timeline: [], reason: "need a decision", actor: "dave", transferCommand: true).incident
        #expect(incident.roles["team_lead"] == "dave" && incident.roles["incident_commander"] == "dave")
        incident = try w.escalate(incident, timeline: [], reason: "still stuck", actor: "dave").incident
        #expect(incident.roles["engineering_manager"] == "erin")
        #expect(incident.roles["incident_commander"] == "dave")
        #expect(throws: WorkflowError.topOfEscalationPath(id: "INC-2026-0001", path: "Team Lead -> Engineering Manager")) {
            try w.escalate(incident, timeline: [], reason: "more", actor: "dave")
        }
    }

    @Test func lowSeverityGoesToTheBacklogAndIsNeverPaged() throws {
        let (w, clock) = workflow(try shippedPolicy())
        let opened = try declare(w, ClassificationInput(title: "Button misaligned", incidentType: "Minor UI issues"))
        #expect(opened.incident.backlog)
        #expect(opened.followUps.map(\.kind) == ["backlog"])
        #expect(!opened.notifications.contains { $0.purpose == .page })
        clock.advance(by: .seconds(7 * 86_400))
        #expect(w.tick(opened.incident, timeline: opened.timeline) == nil)
    }
}
