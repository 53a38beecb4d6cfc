import Foundation
import Testing
import VigilControl
import VigilCore
@testable import VigilDaemon
import VigilIncidents
import VigilStore
import VigilTestSupport

/// `report.response`: time to detect, acknowledge, contain and resolve per ISO week and
/// severity, SLA adherence, types and automated containment, from real incidents in SQLite.
@Suite struct ResponseReportTests {
    @Test func isoWeeksStartOnMondayAndTakeTheirThursdaysYear() {
        func week(_ text: String) -> String {
            guard let t = RFC3339.parse(text) else { return "?" }
            let monday = ResponseReport.weekStart(t)
            return "\(ResponseReport.label(weekStarting: monday)) \(monday.rfc3339)"
        }
        #expect(week("2026-03-02T10:00:00Z") == "2026-W10 2026-03-02T00:00:00.000Z")
        #expect(week("2026-03-08T23:59:59Z") == "2026-W10 2026-03-02T00:00:00.000Z")
        #expect(week("2026-01-01T00:00:00Z") == "2026-W01 2025-12-29T00:00:00.000Z")
        #expect(week("2027-01-01T12:00:00Z") == "2026-W53 2026-12-28T00:00:00.000Z")
        #expect(week("2024-12-30T00:00:00Z") == "2025-W01 2024-12-30T00:00:00.000Z")
        #expect(week("1969-12-31T23:00:00Z") == "1970-W01 1969-12-29T00:00:00.000Z")
    }

    @Test func percentilesAreNearestRank() {
        let s = ResponseReport.stats([10, 20, 30, 40, 50, 60, 70, 80, 90, 100])
        #expect(s == .init(count: 10, mean: 55, p50: 50, p90: 90))
        #expect(ResponseReport.stats([7]) == .init(count: 1, mean: 7, p50: 7, p90: 7))
        #expect(ResponseReport.stats([]) == .init(count: 0))
        #expect(ResponseReport.stats([1.23449, 3]).p50 == 1.234)
    }

    /// Two weeks of incidents, each reaching different milestones.
    static func seeded() async throws -> ControlRig {
        let rig = try await ControlRig()
        // Week 9: a P2 data corruption, acknowledged after 30 minutes (its SLA is an hour).
        rig.clock.set(monday - .seconds(7 * 86_400))
        let a = try await rig.service.declare(ClassificationInput(title: "Orders corrupted", severity: "P2",
                                                                  incidentType: "Data corruption"), actor: "bob")
        rig.clock.advance(by: minutes(30))
        _ = try await rig.service.acknowledge(a.id, actor: "bob", note: nil)
        // Week 10: two P1s at once; B acknowledged at 10 minutes, C never (breached at 15).
        rig.clock.set(monday)
        let b = try await rig.service.declare(ClassificationInput(title: "Checkout 502", severity: "P1", components: ["api"]),
                                              actor: "bob")
        let c = try await rig.service.declare(ClassificationInput(title: "Login errors", severity: "P1"), actor: "bob")
        rig.clock.set(monday + minutes(10))
        _ = try await rig.service.acknowledge(b.id, actor: "dave", note: nil)
        rig.clock.set(monday + minutes(16))
        await rig.service.tick()
        // B contained at 18 minutes and resolved at 23; an automated action succeeded at 14.
        try await rig.resolve(b.id)
        // D: a rule held for 5 minutes before it opened at 30 minutes; a person's action contained it at 31.
        let signal = RuleSignal(transition: .firing, ruleID: "queue_depth", expression: "queue_depth > 100 for 5 minutes",
                                labels: ["host": "mq-1"], fingerprint: "queue_depth{host=mq-1}", value: 140,
                                firstHeldAt: monday + minutes(25), at: monday + minutes(30), severity: "P3")
        rig.clock.set(monday + minutes(30))
        await rig.service.ingest([signal])
        let d = try #require(try await rig.store.openIncidents().first { $0.source == "rule:queue_depth" })
        try await rig.store.write { tx in
            func action(_ incident: String, _ state: ActionState, completed minute: Int, category: String?) throws {
                var r = ActionRecord(incidentID: incident, name: "isolate_affected_plugins", mode: "auto", state: state,
                                     dryRun: false, requestedAt: monday + minutes(minute - 1),
                                     params: .object(category.map { ["category": .string($0)] } ?? ["by": .string("bob")]))
                r.completedAt = (monday + minutes(minute)).nanoseconds
                try tx.save(&r)
            }
            try action(b.id, .succeeded, completed: 14, category: "security_breach")
            try action(c.id, .failed, completed: 14, category: "security_breach")
            try action(d.id, .succeeded, completed: 31, category: nil)
        }
        rig.clock.set(monday + minutes(120))
        return rig
    }

    @Test func figuresPerWeekAndSeverity() async throws {
        let rig = try await Self.seeded()
        let report = try await rig.run("report.response", ["weeks": .number(2)]).decode(ResponseReportView.self)
        #expect(report.from == "2026-02-23T00:00:00.000Z" && report.until == "2026-03-02T12:00:00.000Z")
        #expect(report.weeks.map(\.week) == ["2026-W09", "2026-W10"])
        #expect(report.weeks.map(\.count) == [1, 3] && report.totals.count == 4)
        // Every level of the ladder in every week, so chart series line up.
        #expect(report.weeks.allSatisfy { $0.severities.map(\.severity) == ["P1", "P2", "P3", "P4"] })

        let w9 = try #require(report.weeks.first?.severities.first { $0.severity == "P2" })
        #expect(w9.count == 1 && w9.severityName == "High")
        #expect(w9.acknowledge == .init(count: 1, mean: 1800, p50: 1800, p90: 1800))
        #expect(w9.sla == .init(met: 1, breached: 0, running: 0, adherence: 1))
        #expect(report.weeks.first?.types == [.init(type: "Data corruption", count: 1)])

        let w10 = try #require(report.weeks.last)
        let p1 = try #require(w10.severities.first { $0.severity == "P1" })
        #expect(p1.count == 2)
        #expect(p1.detect == .init(count: 2, mean: 0, p50: 0, p90: 0))
        #expect(p1.acknowledge == .init(count: 1, mean: 600, p50: 600, p90: 600))
        #expect(p1.contain == .init(count: 1, mean: 840, p50: 840, p90: 840))
        #expect(p1.resolve == .init(count: 1, mean: 1380, p50: 1380, p90: 1380))
        #expect(p1.sla == .init(met: 1, breached: 1, running: 0, adherence: 0.5))
        let p3 = try #require(w10.severities.first { $0.severity == "P3" })
        #expect(p3.detect == .init(count: 1, mean: 300, p50: 300, p90: 300))
        #expect(p3.contain == .init(count: 1, mean: 360, p50: 360, p90: 360))
        #expect(p3.sla == .init(met: 0, breached: 0, running: 1, adherence: nil))
        #expect(w10.severities.first { $0.severity == "P4" }?.acknowledge == .init(count: 0))
        // Automated containment only: the person's action is not an outcome of it.
        #expect(w10.containment == [.init(outcome: "succeeded", count: 1), .init(outcome: "failed", count: 1)])
        #expect(report.totals.types.first == .init(type: nil, count: 3))
    }

    @Test func filtersNarrowTheIncidentsAndTheirActions() async throws {
        let rig = try await Self.seeded()
        let p1 = try await rig.run("report.response", ["weeks": .number(2), "severity": .string("critical")])
            .decode(ResponseReportView.self)
        #expect(p1.totals.count == 2 && p1.severity == "P1")
        let api = try await rig.run("report.response", ["component": .string("API")]).decode(ResponseReportView.self)
        #expect(api.totals.count == 1 && api.totals.containment == [.init(outcome: "succeeded", count: 1)])
        #expect(api.weeks.count == 12 && api.weeks.last?.week == "2026-W10")
        let typed = try await rig.run("report.response", ["type": .string("data corruption"), "weeks": .string("104")])
            .decode(ResponseReportView.self)
        #expect(typed.totals.count == 1 && typed.weeks.count == 104)
        // Only last week: week 9's incident is outside.
        let one = try await rig.run("report.response", ["weeks": .number(1)]).decode(ResponseReportView.self)
        #expect(one.totals.count == 3)
        #expect(await rig.refusal("report.response", ["weeks": .number(0)])?.description == "weeks: 0 is out of range; expected 1 to 104")
        #expect(await rig.refusal("report.response", ["weeks": .number(105)])?.kind == .invalid)
        #expect(await rig.refusal("report.response", ["severity": .string("urgent")])?.description.hasPrefix("severity:") == true)
        #expect(await rig.refusal("report.response", ["component": .array([])])?.description == "component: expected text")
    }
}
