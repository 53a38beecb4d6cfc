import Foundation
import GRDB
import Testing
import VigilCore
@testable import VigilStore

/// The columns response metrics are computed from, read without decoding incidents.
@Suite struct ResponseTimesQueryTests {
    static func minutes(_ m: Int) -> Duration { .seconds(m * 60) }

    @Test func containedIsTheFirstOfTheContainedStateAndASucceededAction() async throws {
        let store = try Store(path: try temporaryDatabase())
        func put(_ id: String, at minute: Int, type: String? = nil, component: String? = nil) async throws {
            var i = Incident(id: id, title: id, type: type, severity: Severity(code: "P1", rank: 0), source: "rule:x",
                             detectedAt: t0 + Self.minutes(minute), createdAt: t0 + Self.minutes(minute + 5),
                             responseDeadline: t0 + Self.minutes(minute + 20),
                             labels: component.map { ["component": $0] } ?? [:])
            i.acknowledgedAt = t0 + Self.minutes(minute + 10)
            let row = i
            try await store.write { tx in try IncidentRecord(row).insert(tx.db) }
        }
        try await put("A", at: 0, type: "Data corruption", component: "db")
        try await put("B", at: 100)
        try await put("C", at: 200)
        try await store.write { tx in
            // A: contained by a transition at +30, and an action succeeded earlier at +25.
            _ = try tx.record(StoreChange(incident: try #require(try tx.incident(id: "A")), timeline: [
                TimelineEntry(incidentID: "A", time: t0 + Self.minutes(30), actor: "bob", kind: .transition,
                              message: "containing → contained", data: ["from": "containing", "to": "contained"]),
                TimelineEntry(incidentID: "A", time: t0 + Self.minutes(40), actor: "bob", kind: .transition,
                              message: "again", data: ["from": "investigating", "to": "contained"]),
            ]))
            var acted = ActionRecord(incidentID: "A", name: "backup_current_state", mode: "auto", state: .succeeded,
                                     dryRun: false, requestedAt: t0 + Self.minutes(20),
                                     params: .object(["category": .string("data_corruption")]))
            acted.completedAt = (t0 + Self.minutes(25)).nanoseconds
            try tx.save(&acted)
            // B: only a dry run and a failure, which contain nothing; one of them was a person's.
            var dry = ActionRecord(incidentID: "B", name: "isolate", mode: "auto", state: .simulated, dryRun: true,
                                   requestedAt: t0 + Self.minutes(101), params: .object(["category": .string("security_breach")]))
            dry.completedAt = (t0 + Self.minutes(102)).nanoseconds
            try tx.save(&dry)
            var failed = ActionRecord(incidentID: "B", name: "isolate", mode: "auto", state: .failed, dryRun: false,
                                      requestedAt: t0 + Self.minutes(103), params: .object(["by": .string("bob")]))
            failed.completedAt = (t0 + Self.minutes(104)).nanoseconds
            try tx.save(&failed)
            // C: a transition that is not to contained.
            _ = try tx.record(StoreChange(incident: try #require(try tx.incident(id: "C")), timeline: [
                TimelineEntry(incidentID: "C", time: t0 + Self.minutes(230), actor: "bob", kind: .transition,
                              message: "x", data: ["from": "containing", "to": "investigating"]),
            ]))
        }
        let times = try await store.responseTimes(openedFrom: t0, until: t0 + Self.minutes(1000))
        #expect(times.map(\.containedAt) == [t0 + Self.minutes(25), nil, nil])
        #expect(times.first?.acknowledgedAt == t0 + Self.minutes(10) && times.first?.type == "Data corruption")
        // The window is on when the incident was opened, half-open.
        #expect(try await store.responseTimes(openedFrom: t0 + Self.minutes(105), until: t0 + Self.minutes(205)).count == 1)
        #expect(try await store.responseTimes(openedFrom: t0, until: t0 + Self.minutes(1000),
                                              matching: IncidentFilter(component: "DB")).count == 1)
        // Automated containment: the category's requests only, not a person's `actions run`.
        let outcomes = try await store.containmentOutcomes(requestedFrom: t0, until: t0 + Self.minutes(1000))
        #expect(outcomes.map(\.state) == ["succeeded", "simulated"])
        #expect(try await store.containmentOutcomes(requestedFrom: t0, until: t0 + Self.minutes(1000),
                                                    matching: IncidentFilter(type: "data corruption")).map(\.state) == ["succeeded"])
    }

    @Test func theContainedLookupUsesTheTimelinesIndex() async throws {
        let store = try Store(path: try temporaryDatabase())
        let plan = try await store.write { tx in
            try Row.fetchAll(tx.db, sql: """
                EXPLAIN QUERY PLAN SELECT MIN(t.time) FROM timeline t
                WHERE t.incidentID = 'A' AND t.kind = 'transition' AND json_extract(t.data, '$.to') = 'contained'
                """).map { ($0["detail"] as String?) ?? "" }.joined(separator: "; ")
        }
        #expect(plan.contains("timeline_contained"), "\(plan)")
    }
}
