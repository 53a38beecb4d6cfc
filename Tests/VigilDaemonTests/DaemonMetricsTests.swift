import VigilControl
import Foundation
import Testing
import VigilCore
import VigilDaemon
import VigilIncidents
import VigilStore
import VigilTestSupport

/// `/metrics` fed by the real incident service and store: what the daemon does shows up as counters.
@Suite struct DaemonMetricsTests {
    @Test func incidentWorkIsCountedFromTheStoreCommits() async throws {
        let store = try Store(path: try temporaryDatabasePath())
        let clock = ManualClock(monday)
        let service = IncidentService(store: store, policy: try shippedPolicy(), clock: clock, logger: quietLogger)
        let metrics = DaemonMetrics(store: store, lanes: {
            [StatusView.LaneView(lane: "incident", depth: 2, capacity: 1024, published: 40, shed: 0, stalls: 1)]
        }, plugins: { [] })
        let id = try await service.declare(ClassificationInput(title: "Checkout down", severity: "P1"), actor: "dave").id
        _ = try await service.declare(ClassificationInput(title: "Disk at 85%", severity: "P3"), actor: "dave")
        clock.advance(by: .seconds(420))
        _ = try await service.acknowledge(id, actor: "alice", note: nil)
        let text = String(decoding: await metrics.scrape(), as: UTF8.self)
        for line in [#"vigil_incidents_opened_total{severity="P1"} 1"#, #"vigil_incidents_opened_total{severity="P3"} 1"#,
                     #"vigil_time_to_acknowledge_seconds_bucket{severity="P1",le="300.0"} 0"#,
                     #"vigil_time_to_acknowledge_seconds_bucket{severity="P1",le="900.0"} 1"#,
                     #"vigil_time_to_acknowledge_seconds_sum{severity="P1"} 420.0"#,
                     #"vigil_eventbus_queue_depth{lane="incident"} 2.0"#, #"vigil_eventbus_stalls_total{lane="incident"} 1"#] {
            #expect(text.contains(line + "\n"), "missing \(line) in:\n\(text)")
        }
        let open = try await store.openIncidentCounts()
        #expect(open.map(\.count).reduce(0, +) == 2)
        for o in open {
            #expect(text.contains("vigil_incidents_open{severity=\"\(o.severity)\",state=\"\(o.state)\"} \(o.count).0\n"))
        }
    }
}
