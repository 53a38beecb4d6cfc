import Testing
import VigilCore
import VigilIncidents

@Suite struct RosterTests {
    func roster() -> Roster {
        let start = Timestamp(nanoseconds: 1_767_603_600_000_000_000) // 2026-01-05T09:00:00Z
        return Roster(
            people: [Person(id: "alice", name: "Alice", contacts: ["email": "a@x"], skills: ["plugin system", "eventbus"]),
                     Person(id: "bob", name: "Bob", contacts: ["email": "b@x", "pager": "555"], skills: ["storage"]),
                     Person(id: "dave", name: "Dave", skills: ["websocket"]),
                     Person(id: "erin", name: "Erin", skills: ["plugin system"])],
            rotations: [Rotation(id: "primary", role: "on_call_engineer", members: ["alice", "bob", "dave"], start: start,
                                 period: .seconds(7 * 86_400)),
                        Rotation(id: "plugins", role: "on_call_engineer", components: ["Plugin System"],
                                 members: ["erin", "alice"], start: start, period: .seconds(86_400))],
            overrides: [RosterOverride(rotation: "primary", person: "dave", from: start + .seconds(86_400),
                                       until: start + .seconds(2 * 86_400))])
    }

    @Test func rotationCyclesWeekly() {
        let s = OnCallSchedule(roster: roster())
        let start = Timestamp(nanoseconds: 1_767_603_600_000_000_000)
        let week: Duration = .seconds(7 * 86_400)
        let names = (0..<6).map { s.shift(role: "on_call_engineer", component: nil, at: start + week * $0 + .seconds(3 * 86_400))?.person.id }
        #expect(names == ["alice", "bob", "dave", "alice", "bob", "dave"])
        #expect(s.shift(role: "on_call_engineer", component: nil, at: start - .seconds(1)) == nil)
    }

    @Test func overrideReplacesTheMemberAndEndsTheShiftEarly() {
        let s = OnCallSchedule(roster: roster())
        let start = Timestamp(nanoseconds: 1_767_603_600_000_000_000)
        let before = s.shift(role: "on_call_engineer", component: nil, at: start + .seconds(3600))
        #expect(before?.person.id == "alice")
        #expect(before?.until == start + .seconds(86_400))
        let during = s.shift(role: "on_call_engineer", component: nil, at: start + .seconds(86_400 + 3600))
        #expect(during?.person.id == "dave" && during?.isOverride == true)
        #expect(s.shift(role: "on_call_engineer", component: nil, at: start + .seconds(2 * 86_400))?.person.id == "alice")
    }

    @Test func aComponentRotationAnswersForItsComponent() {
        let s = OnCallSchedule(roster: roster())
        let start = Timestamp(nanoseconds: 1_767_603_600_000_000_000)
        // "Who is on call for the plugin system right now" has one answer: the plugins rotation.
        #expect(s.shift(role: "on_call_engineer", component: "plugin system", at: start + .seconds(3600))?.person.id == "erin")
        #expect(s.shift(role: "on_call_engineer", component: "plugin system", at: start + .seconds(86_400 + 60))?.person.id == "alice")
        #expect(s.shift(role: "on_call_engineer", component: "storage", at: start + .seconds(3600))?.rotation == "primary")
    }

    @Test func shippedRosterAnswersAtAFixedTime() throws {
        let s = OnCallSchedule(roster: try shippedPolicy().roster)
        let answer = s.shifts(at: monday, component: "plugin system").map { "\($0.role)=\($0.person.id)" }
        #expect(answer == ["on_call_engineer=dave", "security_engineer=carol", "communications_lead=bob",
                           "team_lead=dave", "engineering_manager=erin", "cto=frank"])
    }

    @Test func specialistsAndTechnicalLeadComeFromSkills() throws {
        var policy = try shippedPolicy()
        policy.roster = roster()
        let team = ResponseTeamSelector(policy: policy).select(
            mobilisation: .coreWithSpecialists, components: ["plugin system", "storage"], security: false,
            at: Timestamp(nanoseconds: 1_767_603_600_000_000_000) + .seconds(3600))
        let seats = Dictionary(uniqueKeysWithValues: team.map { ($0.role, $0.person.id) })
        // erin is on call for the plugin system (its own rotation) and knows it: commander and technical lead.
        #expect(seats["incident_commander"] == "erin")
        #expect(seats["technical_lead"] == "erin")
        #expect(seats["specialist:storage"] == "bob")
        #expect(seats["specialist:plugin system"] == nil)
    }

    @Test func pagesGoToTheMostImmediateContact() throws {
        var policy = try shippedPolicy()
        policy.roster = roster()
        let (w, _) = workflow(policy, at: Timestamp(nanoseconds: 1_767_603_600_000_000_000) + .seconds(8 * 86_400))
        let change = try declare(w, ClassificationInput(title: "x", severity: "P3"))
        // bob is on call that week and has a pager.
        #expect(change.notifications.first { $0.purpose == .page }?.channel == "pager")
        #expect(change.notifications.first { $0.purpose == .page }?.recipients == ["555"])
    }

    @Test func assignmentChecksRolesAndPeopleAndTransfersCommand() throws {
        let (w, _) = workflow(try shippedPolicy())
        let incident = try declare(w, ClassificationInput(title: "x", severity: "P2")).incident
        #expect(throws: WorkflowError.self) {
            try w.assign(incident, timeline: [], role: "boss", personID: "bob", reason: nil, actor: "dave")
        }
        #expect(throws: WorkflowError.self) {
            try w.assign(incident, timeline: [], role: "incident_commander", personID: "zed", reason: nil, actor: "dave")
        }
        let change = try w.assign(incident, timeline: [], role: "incident_commander", personID: "bob",
                                  reason: "handover at shift end", actor: "dave")
        #expect(change.incident.roles["incident_commander"] == "bob")
        #expect(change.timeline.first?.message == "Incident commander transferred from dave to bob (Bob Chen): handover at shift end")
        #expect(change.notifications.first?.body.contains("Timeline") == true)
    }
}
