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
        // A rule that held 90 s before its incident opened; walked to contained 10 minutes later.
        let signal = RuleSignal(transition: .firing, ruleID: "queue_depth", expression: "queue_depth > 100 for 90 seconds",
                                labels: ["host": "mq-1"], fingerprint: "queue_depth{host=mq-1}", value: 140,
                                firstHeldAt: clock.now() - .seconds(90), at: clock.now(), severity: "P2")
        await service.ingest([signal])
        let ruled = try #require(try await store.openIncidents().first { $0.source == "rule:queue_depth" }).id
        let flow: [IncidentState] = [.classified, .mobilised, .containing, .contained]
        let current = try #require(try await store.incident(id: ruled)).state
        for state in flow[((flow.firstIndex(of: current) ?? -1) + 1)...] {
            clock.advance(by: .seconds(150))
            _ = try await service.transition(ruled, to: state, reason: "step", actor: "alice")
        }
        let contained = try #require(try await store.timeline(incidentID: ruled).first { $0.data["to"] == "contained" }).time
        let containedAfter = contained - (try #require(try await store.incident(id: ruled))).detectedAt
        let dismissed = try await service.declare(ClassificationInput(title: "Staging noise", severity: "P3"), actor: "dave").id
        _ = try await service.dismiss(dismissed, reason: "staging", actor: "dave")
        let text = String(decoding: await metrics.scrape(), as: UTF8.self)
        for line in [#"vigil_incidents_opened_total{severity="P1"} 1"#, #"vigil_incidents_opened_total{severity="P3"} 2"#,
                     #"vigil_time_to_acknowledge_seconds_bucket{severity="P1",le="300.0"} 0"#,
                     #"vigil_time_to_acknowledge_seconds_bucket{severity="P1",le="900.0"} 1"#,
                     #"vigil_time_to_acknowledge_seconds_sum{severity="P1"} 420.0"#,
                     #"vigil_time_to_detect_seconds_bucket{severity="P2",le="60.0"} 0"#,
                     #"vigil_time_to_detect_seconds_bucket{severity="P2",le="120.0"} 1"#,
                     #"vigil_time_to_detect_seconds_bucket{severity="P1",le="10.0"} 1"#,
                     #"vigil_incidents_false_positive_total{severity="P3"} 1"#,
                     "vigil_time_to_contain_seconds_sum{severity=\"P2\"} \(containedAfter.inSeconds)",
                     #"vigil_eventbus_queue_depth{lane="incident"} 2.0"#, #"vigil_eventbus_stalls_total{lane="incident"} 1"#] {
            #expect(text.contains(line + "\n"), "missing \(line) in:\n\(text)")
        }
        let open = try await store.openIncidentCounts()
        #expect(open.map(\.count).reduce(0, +) == 3)
        for o in open {
            #expect(text.contains("vigil_incidents_open{severity=\"\(o.severity)\",state=\"\(o.state)\"} \(o.count).0\n"))
        }
    }
}
