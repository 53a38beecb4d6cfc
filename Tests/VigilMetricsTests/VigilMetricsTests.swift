import Foundation
import Testing
import VigilCore
import VigilMetrics

/// `/metrics`' text: the families and values it promises, and `promtool check metrics` (the
/// Prometheus project's own linter, Debian package `prometheus`) finds nothing to say about it.
@Suite struct VigilMetricsTests {
    static let t0 = Timestamp(nanoseconds: 1_790_000_000_000_000_000)

    static func incident(_ id: String, severity: String = "P1") -> Incident {
        Incident(id: id, title: "down", severity: Severity(code: severity, rank: 0), source: "test", detectedAt: t0)
    }

    static func populated() -> (VigilMetrics, String) {
        let m = VigilMetrics()
        m.alertsReceived(firing: 3, resolved: 1)
        m.alertsRefused(2)
        let i = incident("INC-1")
        func entry(_ kind: TimelineKind, _ after: Int64, _ data: [String: String] = [:]) -> TimelineEntry {
            TimelineEntry(incidentID: i.id, time: t0 + .seconds(after), actor: "vigild", kind: kind, message: "", data: data)
        }
        m.observe(i, [entry(.detected, 0), entry(.escalated, 900), entry(.slaBreached, 900)])
        m.observe(i, [entry(.notification, 1, ["channel": "email", "state": "sent"]),
                      entry(.notification, 2, ["channel": "sms \"pager\"", "state": "failed"]),
                      entry(.notification, 2, ["channel": "email", "state": "pending"])])
        m.observe(i, [entry(.action, 5, ["state": "queued"]), entry(.action, 6, ["state": "succeeded"]),
                      entry(.action, 7, ["state": "denied"])])
        m.observe(i, [entry(.acknowledged, 1200)])
        m.observe(i, [entry(.resolved, 5400)])
        let snapshot = MetricsSnapshot(
            lanes: [.init(lane: "security", depth: 0, capacity: 4096, published: 10, shed: 0, stalls: 0),
                    .init(lane: "telemetry", depth: 17, capacity: 65536, published: 9000, shed: 12, stalls: 3)],
            plugins: [.init(name: "system-metrics", state: "running", restarts: 2, failures: 3, breaches: 1, failureRate: 0.25)],
            openIncidents: [.init(severity: "P1", state: "investigating", count: 2)])
        return (m, String(decoding: m.render(snapshot), as: UTF8.self))
    }

    @Test func familiesAndValues() {
        let (m, text) = Self.populated()
        for line in [
            #"alertmanager_alerts_received_total{status="firing",version="v2"} 3"#,
            #"alertmanager_alerts_received_total{status="resolved",version="v2"} 1"#,
            #"alertmanager_alerts_invalid_total{version="v2"} 2"#,
            #"vigil_escalations_total{severity="P1"} 1"#, #"vigil_sla_breaches_total{severity="P1"} 1"#,
            #"vigil_incidents_opened_total{severity="P1"} 1"#,
            #"vigil_notifications_sent_total{channel="email"} 1"#,
            #"vigil_notifications_failed_total{channel="sms \"pager\""} 1"#,
            #"vigil_containment_actions_total{outcome="succeeded"} 1"#, #"vigil_containment_actions_total{outcome="denied"} 1"#,
            #"vigil_eventbus_queue_depth{lane="telemetry"} 17.0"#, #"vigil_eventbus_published_total{lane="telemetry"} 9000"#,
            #"vigil_eventbus_shed_total{lane="telemetry"} 12"#, #"vigil_eventbus_stalls_total{lane="telemetry"} 3"#,
            #"vigil_plugin_state{plugin="system-metrics",state="running"} 1.0"#,
            #"vigil_plugin_state{plugin="system-metrics",state="quarantined"} 0.0"#,
            #"vigil_plugin_restarts_total{plugin="system-metrics"} 2"#, #"vigil_plugin_failure_rate{plugin="system-metrics"} 0.25"#,
            #"vigil_incidents_open{severity="P1",state="investigating"} 2.0"#,
            #"vigil_time_to_acknowledge_seconds_bucket{severity="P1",le="1800.0"} 1"#,
            #"vigil_time_to_acknowledge_seconds_bucket{severity="P1",le="900.0"} 0"#,
            #"vigil_time_to_acknowledge_seconds_sum{severity="P1"} 1200.0"#,
            #"vigil_time_to_resolve_seconds_count{severity="P1"} 1"#,
        ] {
            #expect(text.contains(line + "\n"), "missing \(line) in:\n\(text)")
        }
        #expect(!text.contains(#"outcome="queued""#), "unsettled actions are not outcomes")
        // Totals read from status sources advance by their difference; series that went away read 0 (gauges print as floats).
        let again = String(decoding: m.render(MetricsSnapshot(
            lanes: [.init(lane: "telemetry", depth: 0, capacity: 65536, published: 9500, shed: 12, stalls: 3)])), as: UTF8.self)
        #expect(again.contains(#"vigil_eventbus_published_total{lane="telemetry"} 9500"# + "\n"))
        #expect(again.contains(#"vigil_incidents_open{severity="P1",state="investigating"} 0.0"# + "\n"))
        #expect(again.contains(#"vigil_plugin_state{plugin="system-metrics",state="running"} 0.0"# + "\n"))
    }

    @Test(.timeLimit(.minutes(1))) func promtoolFindsNothingToSay() throws {
        let (_, text) = Self.populated()
        let promtool = "/usr/bin/promtool"
        guard FileManager.default.isExecutableFile(atPath: promtool) else {
            Issue.record("promtool is missing: install the Debian package prometheus (make deps does)")
            return
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: promtool)
        p.arguments = ["check", "metrics"]
        let input = Pipe(), output = Pipe()
        p.standardInput = input
        p.standardOutput = output
        p.standardError = output
        try p.run()
        input.fileHandleForWriting.write(Data(text.utf8))
        try input.fileHandleForWriting.close()
        let said = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "promtool exited \(p.terminationStatus): \(said)\n\(text)")
        #expect(said.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "promtool: \(said)")
    }
}
