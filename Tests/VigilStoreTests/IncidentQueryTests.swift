import Foundation
import GRDB
import Testing
import VigilCore
@testable import VigilStore

/// The incident search the console pages through: filters, order and paging done by SQLite.
@Suite struct IncidentQueryTests {
    /// Stores an incident opened `minute` minutes after `t0`, with the id given.
    static func put(_ store: Store, _ id: String, title: String, summary: String = "", severity: String = "P2",
                    rank: Int = 1, type: String? = nil, state: IncidentState = .mobilised, minute: Int,
                    labels: [String: String] = [:], components: [String] = []) async throws {
        let at = t0 + .seconds(minute * 60)
        var incident = Incident(id: id, title: title, summary: summary, type: type,
                                severity: Severity(code: severity, rank: rank), state: state, source: "user-report",
                                detectedAt: at, labels: labels)
        if !components.isEmpty { incident.classification = Classification(affectedComponents: components) }
        let row = incident
        try await store.write { tx in try IncidentRecord(row).insert(tx.db) }
    }

    static func seeded() async throws -> Store {
        let store = try Store(path: try temporaryDatabase())
        try await put(store, "INC-1", title: "Disk full on db-1", severity: "P1", rank: 0, type: "Disk space", state: .resolved,
                      minute: 1, labels: ["component": "Database"])
        try await put(store, "INC-2", title: "CPU at 100%", summary: "batch job_runner spinning", type: "High CPU utilization",
                      minute: 2, components: ["eventbus", "plugin system"])
        try await put(store, "INC-3", title: "Login errors", severity: "P3", rank: 2, state: .closed, minute: 3)
        try await put(store, "INC-4", title: "Checkout 502", summary: "ÜBERLAST in checkout", severity: "P1", rank: 0,
                      type: "Disk space", minute: 4, components: ["API"])
        try await put(store, "INC-5", title: "50% packet loss", minute: 5, labels: ["component": "network"])
        return store
    }

    func ids(_ store: Store, _ filter: IncidentFilter, order: IncidentOrder = .newest, limit: Int = 100,
             offset: Int = 0) async throws -> [String] {
        try await store.incidents(matching: filter, order: order, limit: limit, offset: offset).map(\.id)
    }

    @Test func eachFilterSelectsInSQLAndTheyCombine() async throws {
        let store = try await Self.seeded()
        #expect(try await ids(store, IncidentFilter()) == ["INC-5", "INC-4", "INC-3", "INC-2", "INC-1"])
        #expect(try await ids(store, IncidentFilter(severities: ["p1"])) == ["INC-4", "INC-1"])
        #expect(try await ids(store, IncidentFilter(severities: ["P1", "P3"])) == ["INC-4", "INC-3", "INC-1"])
        #expect(try await ids(store, IncidentFilter(type: "disk SPACE")) == ["INC-4", "INC-1"])
        // The component label, or one of the classified components, in any case.
        #expect(try await ids(store, IncidentFilter(component: "database")) == ["INC-1"])
        #expect(try await ids(store, IncidentFilter(component: "Plugin System")) == ["INC-2"])
        #expect(try await ids(store, IncidentFilter(component: "api")) == ["INC-4"])
        #expect(try await ids(store, IncidentFilter(component: "plugin")) == [])
        // Id, title or summary, any ASCII case.
        #expect(try await ids(store, IncidentFilter(text: "inc-3")) == ["INC-3"])
        #expect(try await ids(store, IncidentFilter(text: "CHECKOUT")) == ["INC-4"])
        #expect(try await ids(store, IncidentFilter(text: "job_run")) == ["INC-2"])
        #expect(try await ids(store, IncidentFilter(states: [.resolved, .closed], severities: ["P1"])) == ["INC-1"])
        #expect(try await ids(store, IncidentFilter(states: [])) == [])
        #expect(try await store.countIncidents(matching: IncidentFilter(type: "Disk space", text: "disk")) == 1)
        #expect(try await store.countIncidents(matching: IncidentFilter()) == 5)
    }

    @Test func likeWildcardsInTheTextAreMatchedLiterally() async throws {
        let store = try await Self.seeded()
        // `%` and `_` would match anything unescaped; here they are characters.
        #expect(try await ids(store, IncidentFilter(text: "%")) == ["INC-5", "INC-2"])
        #expect(try await ids(store, IncidentFilter(text: "b_")) == ["INC-2"])
        #expect(try await ids(store, IncidentFilter(text: "_")) == ["INC-2"])
        #expect(try await ids(store, IncidentFilter(text: "\\")) == [])
        #expect(try await ids(store, IncidentFilter(text: "' OR 1=1 --")) == [])
    }

    @Test func openFirstListsOpenIncidentsThenTheRestEachNewestFirst() async throws {
        let store = try await Self.seeded()
        #expect(try await ids(store, IncidentFilter(), order: .openFirst) == ["INC-5", "INC-4", "INC-2", "INC-3", "INC-1"])
    }

    @Test func pagesFollowEachOtherWithoutGapsOrRepeats() async throws {
        let store = try await Self.seeded()
        var seen: [String] = []
        for offset in stride(from: 0, to: 6, by: 2) {
            seen += try await ids(store, IncidentFilter(), order: .openFirst, limit: 2, offset: offset)
        }
        #expect(seen == ["INC-5", "INC-4", "INC-2", "INC-3", "INC-1"])
        #expect(try await ids(store, IncidentFilter(), limit: 2, offset: 100) == [])
        #expect(try await ids(store, IncidentFilter(), limit: 0) == [])
    }

    @Test func thePageIsFoundThroughTheIndexesNotASortOfEveryRow() async throws {
        let store = try await Self.seeded()
        let plan = try await store.write { tx in
            try Row.fetchAll(tx.db, sql: "EXPLAIN QUERY PLAN SELECT incident.id FROM incident ORDER BY \(IncidentOrder.newest.sql()) LIMIT 50")
                .map { ($0["detail"] as String?) ?? "" }.joined(separator: "; ")
        }
        #expect(plan.contains("incident_created"), "\(plan)")
        #expect(!plan.contains("TEMP B-TREE"), "\(plan)")
    }
}
