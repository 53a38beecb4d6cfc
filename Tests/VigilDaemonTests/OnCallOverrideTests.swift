import Foundation
import Testing
import VigilControl
import VigilCore
@testable import VigilDaemon
import VigilIncidents
import VigilStore
import VigilTestSupport

/// Issue 19: on-call overrides made at run time apply wherever the roster is used — who is on
/// call, who is staffed and paged on a new incident, who an escalation reaches — at once, and
/// after a restart.
@Suite struct OnCallOverrideTests {
    @Test func anOverrideStaffsAndPagesTheNewPersonAtOnceAndSurvivesARestart() async throws {
        let rig = try await ControlRig()
        // Monday 2026-03-02: dave holds the primary rotation.
        let before = try await rig.service.declare(ClassificationInput(title: "Checkout 502", severity: "P2"), actor: "bob")
        #expect(before.roles["incident_commander"] == "dave")

        let made = try await rig.run("oncall.override", [
            "rotation": .string("primary"), "person": .string("erin"), "until": .string("2026-03-04T09:00:00Z"), "reason": .string("dave is at a wedding"),
        ]).decode(OnCallOverrideView.self)
        #expect(made.id == 1 && made.source == "runtime" && made.active)
        #expect(made.from == monday.rfc3339 && made.until == "2026-03-04T09:00:00.000Z")
        #expect(made.createdBy == "alice" && made.reason == "dave is at a wedding")
        #expect(made.role == "on_call_engineer" && made.roleName == "On-call Engineer" && made.personName == "Erin Walsh")

        let now = try await rig.run("oncall").decode(OnCallView.self)
        let primary = try #require(now.shifts.first { $0.rotation == "primary" })
        #expect(primary.person == "erin" && primary.override && primary.until == "2026-03-04T09:00:00.000Z")

        let after = try await rig.service.declare(ClassificationInput(title: "Login errors", severity: "P2"), actor: "bob")
        #expect(after.roles["incident_commander"] == "erin")
        let pages = try await rig.store.notifications(incidentID: after.id)
        #expect(pages.contains { $0.people.contains("erin") })
        #expect(!pages.contains { $0.people.contains("dave") })

        // A new service over the same file (a restarted daemon) reads it back before paging.
        let restarted = try await ControlRig(path: rig.path)
        let again = try await restarted.service.declare(ClassificationInput(title: "Disk full", severity: "P2"), actor: "bob")
        #expect(again.roles["incident_commander"] == "erin")

        // Removed, the pager goes back to dave from that moment.
        let removed = try await restarted.run("oncall.override.remove", ["id": .number(1)], as: .local("root")).decode(OnCallOverrideView.self)
        #expect(removed.removedBy == "root" && removed.removedAt == monday.rfc3339 && !removed.active)
        let last = try await restarted.service.declare(ClassificationInput(title: "Queue stuck", severity: "P2"), actor: "bob")
        #expect(last.roles["incident_commander"] == "dave")
        #expect(try await restarted.run("oncall.overrides").arrayValue?.isEmpty == true)
    }

    @Test func anEscalationDueAfterTheOverrideReachesTheOverridesPerson() async throws {
        let rig = try await ControlRig(ladder: "p0-p3")
        let id = try await rig.service.declare(ClassificationInput(title: "Everything is down", severity: "P0"), actor: "dave").id
        // Level 1 (team lead) is due at 15 minutes; dave leads this fortnight, alice covers from minute 5.
        rig.clock.set(monday + minutes(5))
        try await rig.run("oncall.override", ["rotation": .string("leads"), "person": .string("alice"), "until": .string("2026-03-03T10:00:00Z"),
                                              "reason": .string("dave on a plane")])
        for minute in 6...16 {
            rig.clock.set(monday + minutes(minute))
            await rig.service.tick()
        }
        let escalations = try await rig.store.timeline(incidentID: id).filter { $0.kind == .escalated }
        #expect(escalations.map { $0.data["person"] } == ["alice"])
        #expect(try await rig.store.incident(id: id)?.roles["team_lead"] == "alice")
    }

    @Test func badOverridesAreRefusedNamingTheArgument() async throws {
        let rig = try await ControlRig()
        let good: [String: JSONValue] = ["rotation": .string("primary"), "person": .string("erin"), "until": .string("2026-03-04T09:00:00Z"),
                                         "reason": .string("swap")]
        func refusal(_ change: (inout [String: JSONValue]) -> Void) async -> String? {
            var args = good
            change(&args)
            return await rig.refusal("oncall.override", args)?.description
        }
        #expect(await refusal { $0["rotation"] = nil } == "rotation: missing; the id of a rotation (known: primary, "
            + "security, communications, leads, management, executive)")
        #expect(await refusal { $0["rotation"] = .string("nightly") }?.hasPrefix("rotation: no rotation \"nightly\"") == true)
        #expect(await refusal { $0["rotation"] = .number(3) } == "rotation: expected text")
        #expect(await refusal { $0["person"] = .string("mallory") }?.hasPrefix("person: \"mallory\" is not a person in the roster") == true)
        #expect(await refusal { $0["person"] = nil }?.hasPrefix("person: missing") == true)
        #expect(await refusal { $0["until"] = .string("tomorrow") } == "until: expected an RFC 3339 time like 2026-03-02T09:00:00Z, found \"tomorrow\"")
        #expect(await refusal { $0["until"] = nil }?.hasPrefix("until: missing") == true)
        #expect(await refusal { $0["until"] = .string("2026-03-01T09:00:00Z") }?.hasPrefix("until: 2026-03-01T09:00:00.000Z is not in the future") == true)
        #expect(await refusal { $0["until"] = .string("2026-07-01T09:00:00Z") }?.contains("is 121.0 days after from (2026-03-02T10:00:00.000Z); an override lasts at most 90 days") == true)
        #expect(await refusal { $0["until"] = .string("9999-12-31T23:59:59Z") }?.hasPrefix("until: expected an RFC 3339 time") == true)
        #expect(await refusal { $0["from"] = .string("2026-03-05T09:00:00Z") }?.hasPrefix("from: 2026-03-05T09:00:00.000Z is not before until") == true)
        #expect(await refusal { $0["reason"] = nil }?.hasPrefix("reason: missing") == true)
        #expect(await refusal { $0["reason"] = .array([]) } == "reason: expected text")
        #expect(await refusal { $0["reason"] = .string("line\nbreak") }?.hasPrefix("reason: contains control characters") == true)
        // `as` is the socket's; over HTTP the token's person is the actor.
        #expect(await refusal { $0["as"] = .string("bob") }?.hasPrefix("as: not accepted over HTTP") == true)
        let refused = await rig.refusal("oncall.override", ["rotation": .string("nightly"), "person": .string("erin"), "until": .string("2026-03-04T09:00:00Z"),
                                                             "reason": .string("x")])
        #expect(refused?.kind == .invalid)
        #expect(try await rig.store.onCallOverrides(endingAfter: monday).isEmpty)
    }

    @Test func removalIsRefusedForUnknownRemovedOrEndedOverrides() async throws {
        let rig = try await ControlRig()
        try await rig.run("oncall.override", ["rotation": .string("primary"), "person": .string("erin"), "until": .string("2026-03-02T12:00:00Z"),
                                              "reason": .string("two hours")])
        #expect(await rig.refusal("oncall.override.remove", ["id": .number(7)])?.kind == .notFound)
        #expect(await rig.refusal("oncall.override.remove", [:])?.description.hasPrefix("id: missing") == true)
        #expect(await rig.refusal("oncall.override.remove", ["id": .string("x")])?.description.hasPrefix("id: expected a whole number") == true)
        #expect(await rig.refusal("oncall.override.remove", ["id": .number(1.5)])?.kind == .invalid)
        #expect(await rig.refusal("oncall.override.remove", ["id": .number(-1)])?.kind == .invalid)
        rig.clock.set(monday + minutes(180))
        let ended = await rig.refusal("oncall.override.remove", ["id": .number(1)])
        #expect(ended?.kind == .conflict && ended?.description == "on-call override 1 already ended at 2026-03-02T12:00:00.000Z")

        try await rig.run("oncall.override", ["rotation": .string("primary"), "person": .string("erin"), "until": .string("2026-03-03T12:00:00Z"),
                                              "reason": .string("again")])
        try await rig.run("oncall.override.remove", ["id": .string("2")], as: .local("root"))
        let twice = await rig.refusal("oncall.override.remove", ["id": .number(2)])
        #expect(twice?.kind == .conflict && twice?.description.hasPrefix("on-call override 2 was already removed at") == true)
    }

    @Test func theListShowsConfiguredAndRunTimeOverridesByStart() async throws {
        let path = try temporaryDatabasePath()
        let store = try Store(path: path)
        let clock = ManualClock(monday)
        var policy = try shippedPolicy()
        policy.roster.overrides = [
            RosterOverride(rotation: "leads", person: "alice", from: monday + minutes(600), until: monday + minutes(900)),
            RosterOverride(rotation: "leads", person: "bob", from: monday - minutes(900), until: monday - minutes(600)),
        ]
        let service = IncidentService(store: store, policy: policy, clock: clock, logger: quietLogger)
        let control = IncidentControl(service: service, store: store, clock: clock)
        func run(_ command: String, _ args: [String: JSONValue]) async throws -> JSONValue {
            try await control.handle(ControlRequest(command: command, args: args), user: .local("root"))
        }
        _ = try await run("oncall.override", ["rotation": .string("primary"), "person": .string("bob"), "from": .string("2026-03-02T12:00:00Z"),
                                              "until": .string("2026-03-02T14:00:00Z"), "reason": .string("dentist"), "as": .string("dave")])
        let list = try await run("oncall.overrides", [:]).decode([OnCallOverrideView].self)
        #expect(list.map { "\($0.source) \($0.rotation) \($0.person) \($0.active)" } == [
            "runtime primary bob false", "configuration leads alice false"])
        #expect(list.first?.createdBy == "dave via root" && list.last?.id == nil)
        #expect(try await run("oncall.overrides", ["rotation": .string("leads")]).arrayValue?.count == 1)
        // A reload keeps the run-time overrides in force beside the new configuration's.
        await service.replace(policy: try shippedPolicy(), templates: .builtIn)
        let at = try await run("oncall", ["at": .string("2026-03-02T13:00:00Z")]).decode(OnCallView.self)
        #expect(at.shifts.first { $0.rotation == "primary" }?.person == "bob")
    }

    @Test func theScheduleCutsAtHandoversAndOverrides() async throws {
        let rig = try await ControlRig()
        try await rig.run("oncall.override", ["rotation": .string("primary"), "person": .string("erin"), "from": .string("2026-03-03T09:00:00Z"),
                                              "until": .string("2026-03-04T09:00:00Z"), "reason": .string("swap")])
        let view = try await rig.run("oncall.schedule", ["days": .string("14")]).decode(OnCallScheduleView.self)
        #expect(view.from == monday.rfc3339 && view.until == "2026-03-16T10:00:00.000Z")
        let primary = try #require(view.roles.first { $0.role == "on_call_engineer" })
        #expect(primary.rotation == "primary" && !primary.truncated)
        #expect(primary.segments.map { "\($0.person)\($0.override ? "*" : "") \($0.from)" } == [
            "dave 2026-03-02T10:00:00.000Z", "erin* 2026-03-03T09:00:00.000Z", "dave 2026-03-04T09:00:00.000Z",
            "alice 2026-03-09T09:00:00.000Z", "bob 2026-03-16T09:00:00.000Z"])
        #expect(primary.segments.last?.until == "2026-03-16T10:00:00.000Z")
        #expect(primary.segments.allSatisfy { $0.roleName == "On-call Engineer" })
        #expect(view.roles.map(\.role) == ["on_call_engineer", "security_engineer", "communications_lead", "team_lead",
                                           "engineering_manager", "cto"])
        let from = try await rig.run("oncall.schedule", ["from": .string("in 2 days"), "days": .number(1)]).decode(OnCallScheduleView.self)
        #expect(from.from == "2026-03-04T10:00:00.000Z")
        #expect(await rig.refusal("oncall.schedule", ["days": .number(0)])?.description == "days: 0 is out of range; expected 1 to 31")
        #expect(await rig.refusal("oncall.schedule", ["days": .number(32)])?.kind == .invalid)
        #expect(await rig.refusal("oncall.schedule", ["from": .string("soonish")])?.description.hasPrefix("from \"soonish\"") == true)
        #expect(await rig.refusal("oncall.schedule", ["from": .string("+12400 weeks")])?.kind == .invalid)
        #expect(await rig.refusal("oncall", ["at": .string("+12400 weeks")])?.description.hasSuffix("too far from now") == true)
    }
}
