import Foundation
import Testing
import VigilControl
import VigilCore
@testable import VigilDaemon
import VigilIncidents
import VigilStore
import VigilTestSupport

/// Seed 004 Phase 5's action items through the control commands (what the CLI and the HTTP API
/// run), over a real SQLite file: lifecycle, owners, due dates, categories, success criteria,
/// dependencies, tracker links, the list across incidents, and bad input refused with nothing stored.
@Suite struct ActionItemTests {
    typealias Item = IncidentView.ActionItemView

    static func rig() async throws -> (ControlRig, String) {
        let rig = try await ControlRig()
        let i = try await rig.service.declare(ClassificationInput(title: "Disk full on db-1", severity: "P2"), actor: "bob")
        return (rig, i.id)
    }

    static func add(_ rig: ControlRig, _ incident: String, _ args: [String: JSONValue]) async throws -> Item {
        try await rig.run("actionitems.add", args.merging(["incident": .string(incident)]) { $1 }).decode(Item.self)
    }

    static func update(_ rig: ControlRig, _ id: Int64?, _ args: [String: JSONValue]) async throws -> Item {
        try await rig.run("actionitems.update", args.merging(["id": .number(Double(id ?? 0))]) { $1 }).decode(Item.self)
    }

    @Test func anItemIsTrackedFromOpenToVerifiedOnTheIncidentsTimeline() async throws {
        let (rig, incident) = try await Self.rig()
        let item = try await Self.add(rig, incident, [
            "title": .string("Alert on disk at 80% before it fills"), "owner": .string("Carol Diaz"),
            "due": .string("in 14 days"), "category": .string("Detect"),
            "success_criteria": .string("a disk at 80% pages within 5 minutes"),
            "tracker_url": .string("https://tracker.example.org/OPS-42"),
        ])
        #expect(item.state == "open" && item.owner == "carol" && item.category == "detect" && item.incident == incident)
        #expect(item.dueAt == (monday + .seconds(14 * 86_400)).rfc3339 && item.overdue == false)
        #expect(item.trackerUrl == "https://tracker.example.org/OPS-42")
        rig.clock.advance(by: .seconds(3600))
        _ = try await Self.update(rig, item.id, ["state": .string("in-progress")])
        _ = try await Self.update(rig, item.id, ["state": .string("done")])
        let verified = try await Self.update(rig, item.id, ["state": .string("verified"), "note": .string("paged in 2 minutes in a drill")])
        #expect(verified.state == "verified" && verified.updatedBy == "alice" && verified.note == "paged in 2 minutes in a drill")
        // Verified is final.
        let again = await rig.refusal("actionitems.update", ["id": .number(Double(item.id ?? 0)), "state": .string("open")])
        #expect(again?.kind == .conflict && again?.description.contains("cannot go from verified to open; it is final") == true)
        let lines = try await rig.store.timeline(incidentID: incident).filter { $0.data["action_item"] == "\(item.id ?? 0)" }
        #expect(lines.map(\.message) == [
            "Action item #\(item.id ?? 0) added: Alert on disk at 80% before it fills (owner carol, due \(item.dueAt ?? ""), detect)",
            "Action item #\(item.id ?? 0) Alert on disk at 80% before it fills: open → in-progress",
            "Action item #\(item.id ?? 0) Alert on disk at 80% before it fills: in-progress → done",
            "Action item #\(item.id ?? 0) Alert on disk at 80% before it fills: done → verified — paged in 2 minutes in a drill",
        ])
        #expect(lines.allSatisfy { $0.actor == "alice" })
    }

    @Test func dependenciesHoldItemsBackAndMayNotCycle() async throws {
        let (rig, incident) = try await Self.rig()
        let a = try await Self.add(rig, incident, ["title": .string("Move the WAL to its own volume")])
        let b = try await Self.add(rig, incident, ["title": .string("Size the volume"), "depends_on": .array([.number(Double(a.id ?? 0))])])
        let c = try await Self.add(rig, incident, ["title": .string("Document it"), "depends_on": .string("#\(b.id ?? 0)")])
        #expect(c.dependsOn == [b.id ?? 0])
        let early = await rig.refusal("actionitems.update", ["id": .number(Double(b.id ?? 0)), "state": .string("done")])
        #expect(early?.kind == .conflict)
        #expect(early?.description == "state: action item #\(b.id ?? 0) depends on #\(a.id ?? 0) (open), not done yet")
        let cycle = await rig.refusal("actionitems.update", ["id": .number(Double(a.id ?? 0)), "depends_on": .array([.number(Double(c.id ?? 0))])])
        #expect(cycle?.description == "depends_on: that would make a cycle: #\(a.id ?? 0) → #\(c.id ?? 0) → #\(b.id ?? 0) → #\(a.id ?? 0)")
        let itself = await rig.refusal("actionitems.update", ["id": .number(Double(a.id ?? 0)), "depends_on": .array([.number(Double(a.id ?? 0))])])
        #expect(itself?.description == "depends_on: that would make a cycle: #\(a.id ?? 0) → #\(a.id ?? 0)")
        #expect(await rig.refusal("actionitems.add", ["incident": .string(incident), "title": .string("x"),
                                                      "depends_on": .array([.number(999)])])?.description == "depends_on: no action item 999")
        // Dropped (with a reason) settles it as done does.
        _ = try await Self.update(rig, a.id, ["state": .string("dropped"), "note": .string("the volume is enough")])
        #expect(try await Self.update(rig, b.id, ["state": .string("done")]).state == "done")
        #expect(try await rig.store.actionItems(incidentID: incident).first { $0.id == a.id }?.dependsOn == [])
    }

    @Test func theListIsAcrossIncidentsOverdueFirstAndExportsAsAnImport() async throws {
        let (rig, first) = try await Self.rig()
        let second = try await rig.service.declare(ClassificationInput(title: "Login errors", severity: "P1"), actor: "bob").id
        let late = try await Self.add(rig, first, ["title": .string("Late one"), "owner": .string("bob"), "due": .string("in 1 day")])
        let later = try await Self.add(rig, second, ["title": .string("Due next month"), "owner": .string("bob"), "due": .string("in 30 days")])
        let undated = try await Self.add(rig, second, ["title": .string("Someday"), "owner": .string("carol")])
        let done = try await Self.add(rig, first, ["title": .string("Done and late"), "owner": .string("bob"), "due": .string("in 2 hours")])
        _ = try await Self.update(rig, done.id, ["state": .string("done")])
        rig.clock.advance(by: .seconds(2 * 86_400))
        let all = try await rig.run("actionitems.list").decode([Item].self)
        #expect(all.map(\.id) == [late.id, done.id, later.id, undated.id])
        #expect(all.map(\.overdue) == [true, false, false, false])
        let bobs = try await rig.run("actionitems.list", ["owner": .string("bob"), "state": .string("open")]).decode([Item].self)
        #expect(bobs.map(\.id) == [late.id, later.id])
        let overdue = try await rig.run("actionitems.list", ["overdue": .string("true")]).decode([Item].self)
        #expect(overdue.map(\.title) == ["Late one"])
        let mine = try await rig.run("actionitems.list", ["incident": .string(second)]).decode([Item].self)
        #expect(Set(mine.map(\.id)) == [later.id, undated.id])
        // The incident's own view lists them too.
        let view = try await rig.run("incidents.show", ["id": .string(second)]).decode(IncidentView.self)
        #expect(view.actionItems?.contains { $0.title == "Someday" } == true)
        #expect(await rig.refusal("actionitems.list", ["state": .string("closed")])?.description.hasPrefix("state: \"closed\" is not one of") == true)
    }

    @Test func badInputIsRefusedWithNothingStored() async throws {
        let (rig, incident) = try await Self.rig()
        let base: [String: JSONValue] = ["incident": .string(incident), "title": .string("Add a runbook")]
        func refusal(_ extra: [String: JSONValue]) async -> String? {
            await rig.refusal("actionitems.add", base.merging(extra) { $1 })?.description
        }
        #expect(await refusal(["owner": .string("mallory")])?.hasPrefix("owner: unknown person \"mallory\"; the roster has alice, bob") == true)
        #expect(await refusal(["due": .string("2026-02-30T00:00:00Z")])?.hasPrefix("due \"2026-02-30T00:00:00Z\": expected now, an RFC 3339 time") == true)
        #expect(await refusal(["due": .string("2020-01-01T00:00:00Z")]) == "due: 2020-01-01T00:00:00.000Z is already past")
        #expect(await refusal(["due": .string("in 4000 days")])?.hasSuffix("is not a plausible due date (more than ten years away)") == true)
        #expect(await refusal(["category": .string("blame")]) == "category: \"blame\" is not one of prevent, detect, mitigate, process")
        #expect(await refusal(["tracker_url": .string("javascript:alert(1)")]) == "tracker_url: \"javascript:alert(1)\" is not an http(s) link")
        #expect(await refusal(["title": .string("   ")]) == "title: say what is to be done")
        #expect(await refusal(["title": .string("a\u{1B}[31mred")]) == "title: contains control characters")
        #expect(await refusal(["depends_on": .string("1, two")]) == "depends_on: \" two\" is not an action item number")
        #expect(await rig.refusal("actionitems.add", base.merging(["incident": .string("INC-2026-9999")]) { $1 })?.kind == .notFound)
        let item = try await Self.add(rig, incident, ["title": .string("Add a runbook")])
        #expect(await rig.refusal("actionitems.update", ["id": .number(Double(item.id ?? 0)), "state": .string("dropped")])?
            .description == "note: say why it is dropped")
        #expect(await rig.refusal("actionitems.update", ["id": .number(Double(item.id ?? 0)), "state": .string("done")]) == nil)
        #expect(await rig.refusal("actionitems.update", ["id": .number(Double(item.id ?? 0)), "state": .string("verified")])?
            .description == "state: give success_criteria before verifying (what was checked)")
        #expect(await rig.refusal("actionitems.update", ["id": .number(424242), "state": .string("done")])?.kind == .notFound)
        // Only the one good item was stored, and a viewer may list but not change.
        #expect(try await rig.store.actionItems(incidentID: incident).filter { $0.kind == "improvement" }.count == 1)
        _ = try await rig.run("actionitems.list", as: .http(person: "vic", role: "viewer"))
    }

    /// A day before its due date the owner is reminded; once overdue the owner and the incident
    /// commander are told; each once, and a new due date starts over. Settled items are left alone.
    @Test func ownersAreRemindedAndOverdueItemsEscalatedOnce() async throws {
        let (rig, incident) = try await Self.rig()
        let item = try await Self.add(rig, incident, ["title": .string("Add a disk alert"), "owner": .string("carol"),
                                                      "due": .string("in 3 days")])
        let settled = try await Self.add(rig, incident, ["title": .string("Already done"), "owner": .string("bob"), "due": .string("in 1 hour")])
        _ = try await Self.update(rig, settled.id, ["state": .string("done")])
        func notices() async throws -> [NotificationRecord] {
            try await rig.store.notifications(incidentID: incident).filter { $0.purpose == "action-item" }
        }
        await rig.service.tick()
        #expect(try await notices().isEmpty)
        rig.clock.advance(by: .seconds(2 * 86_400 + 60))  // within a day of the due date
        await rig.service.tick()
        var sent = try await notices()
        #expect(sent.map(\.people) == [["carol"]])
        #expect(sent.first?.subject == "Action item #\(item.id ?? 0) due soon: Add a disk alert")
        rig.clock.advance(by: .seconds(120))
        await rig.service.tick()
        #expect(try await notices().count == 1, "reminded once")
        rig.clock.advance(by: .seconds(86_400))  // overdue
        await rig.service.tick()
        // Its commander now (escalations may have handed command over while it stayed unacknowledged).
        let commander = try #require(try await rig.store.incident(id: incident)?.roles["incident_commander"])
        sent = try await notices()
        #expect(sent.count == 1 + Set(["carol", commander]).count)
        #expect(sent.dropFirst().allSatisfy { $0.subject == "Action item #\(item.id ?? 0) overdue: Add a disk alert" })
        #expect(Set(sent.dropFirst().flatMap(\.people)) == Set(["carol", commander]))
        rig.clock.advance(by: .seconds(3600))
        await rig.service.tick()
        #expect(try await notices().count == sent.count, "escalated once")
        let lines = try await rig.store.timeline(incidentID: incident).filter { $0.data["action_item"] != nil && $0.data["reminder"] != nil }
        #expect(lines.map { $0.data["reminder"] } == ["due-soon", "overdue"])
        // A new date starts over: reminded again a day before it.
        _ = try await Self.update(rig, item.id, ["due": .string("in 2 days")])
        rig.clock.advance(by: .seconds(86_400 + 60))
        await rig.service.tick()
        #expect(try await notices().count == sent.count + 1)
        #expect(try await notices().allSatisfy { !$0.subject.contains("Already done") })
    }

    /// The post-mortem item of a P1 reminds its owner before the review is due; once the incident
    /// is closed it is settled, not escalated.
    @Test func thePostMortemItemIsSettledWhenItsIncidentCloses() async throws {
        let rig = try await ControlRig()
        let i = try await rig.service.declare(ClassificationInput(title: "Checkout down", severity: "P1"), actor: "bob")
        _ = try await rig.service.acknowledge(i.id, actor: "bob", note: nil)
        try await rig.resolve(i.id)
        let item = try #require(try await rig.store.actionItems(incidentID: i.id).first { $0.kind == "post-mortem" })
        #expect(item.state == "open" && item.dueAt != nil)
        rig.clock.advance(by: .seconds(30 * 3600))  // within a day of the 48-hour review
        await rig.service.tick()
        let reminded = try await rig.store.notifications(incidentID: i.id).filter { $0.purpose == "action-item" }
        #expect(reminded.count == 1 && reminded.first?.subject.contains("due soon: Post-mortem for \(i.id)") == true)
        _ = try await rig.service.transition(i.id, to: .postMortem, reason: "review held", actor: "bob")
        _ = try await rig.service.editPostMortem(i.id, sections: [:], redraft: false, note: nil, actor: "bob")
        _ = try await rig.service.reviewPostMortem(i.id, .submit, note: nil, actor: "bob")
        _ = try await rig.service.reviewPostMortem(i.id, .approve, note: nil, actor: "alice")
        _ = try await rig.service.transition(i.id, to: .closed, reason: "published", actor: "bob")
        rig.clock.advance(by: .seconds(30 * 3600))  // past due
        await rig.service.tick()
        #expect(try await rig.store.notifications(incidentID: i.id).filter { $0.purpose == "action-item" }.count == 1)
        #expect(try await rig.store.actionItems(incidentID: i.id).first { $0.kind == "post-mortem" }?.state == "done")
    }

    @Test func cyclesAreFoundWithoutRecursion() {
        // A chain of 100,000 items: the walk is iterative.
        var edges: [Int64: [Int64]] = [:]
        for i in Int64(2)...100_000 { edges[i] = [i - 1] }
        #expect(ActionItemGraph.cycle(item: 1, dependsOn: [100_000], edges: edges)?.count == 100_001)
        #expect(ActionItemGraph.cycle(item: 100_001, dependsOn: [100_000], edges: edges) == nil)
    }
}
