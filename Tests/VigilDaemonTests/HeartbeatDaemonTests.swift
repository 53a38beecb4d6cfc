import Foundation
import Testing
import VigilCore
import VigilTestSupport

/// Heartbeats and webhook intakes in a real vigild: a missed heartbeat opens an incident, the
/// next beat resolves it, a restart remembers the last beat; a Grafana webhook opens an incident.
@Suite(.serialized) struct HeartbeatDaemonTests {
    @Test(.timeLimit(.minutes(2))) func missedHeartbeatOpensAnIncidentAndTheNextBeatResolvesIt() throws {
        let d = try DaemonProcess(config: try alertingConfig("""
            heartbeats:
              daemon-test:
                interval: 2 seconds
                severity: P2
                component: backups
            """))
        defer { d.stop() }
        let base = "http://" + (try d.httpAddress())
        let beat = try curl("POST", base + "/api/v1/heartbeats/daemon-test")
        #expect(beat.code == 200, "\(beat.body)")
        #expect(beat.body.contains(#""state":"ok""#), "\(beat.body)")
        #expect(try curl("POST", base + "/api/v1/heartbeats/unknown").code == 404)
        let key = "heartbeat:daemon-test"
        func incident() throws -> JSONValue? { try incidentList(d).first { $0["fingerprint"]?.stringValue == key } }
        #expect(try eventually(20) { try incident() != nil }, "no incident for the missed heartbeat")
        #expect(try incident()?["severity"]?.stringValue == "P2")
        let token = try apiToken(d)
        #expect(try curl("GET", base + "/api/v1/heartbeats", token: token).body.contains(#""state":"missed""#))
        // A restart neither forgets the last beat nor opens a second incident.
        d.killHard()
        try d.start()
        let base2 = "http://" + (try d.httpAddress())
        let listed = try curl("GET", base2 + "/api/v1/heartbeats", token: try apiToken(d))
        #expect(listed.body.contains(#""state":"missed""#) && listed.body.contains("lastBeatAt"), "\(listed.body)")
        #expect(try incidentList(d).count { $0["fingerprint"]?.stringValue == key } == 1)
        #expect(try curl("POST", base2 + "/api/v1/heartbeats/daemon-test", json: #"{"ok":true}"#).code == 200)
        #expect(try eventually(20) { try incident()?["state"]?.stringValue == "resolved" },
                "\(String(describing: try? incident()))")
    }

    @Test(.timeLimit(.minutes(1))) func grafanaAndGenericWebhooksOpenIncidents() throws {
        let d = try DaemonProcess(config: try alertingConfig())
        defer { d.stop() }
        let base = "http://" + (try d.httpAddress())
        let grafana = """
            {"receiver":"vigil","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"GrafanaCPU","instance":"web-1","severity":"critical"},
             "annotations":{"summary":"CPU above 90%"},"startsAt":"2026-09-21T13:50:00Z","endsAt":"0001-01-01T00:00:00Z",
             "generatorURL":"http://grafana:3000/alerting/abc/view","fingerprint":"c6","values":{"B":93.5}}],
             "groupLabels":{},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://grafana:3000/","version":"1"}
            """
        let posted = try curl("POST", base + "/api/v1/webhooks/grafana", json: grafana)
        #expect(posted.code == 200, "\(posted.body)")
        let key = "alertmanager:{}:{alertname=\"GrafanaCPU\"}"
        func incident() throws -> JSONValue? { try incidentList(d).first { $0["fingerprint"]?.stringValue == key } }
        #expect(try eventually(20) { try incident()?["severity"]?.stringValue == "P1" }, "\((try? incidentList(d)) ?? [])")
        let resolved = grafana.replacingOccurrences(of: #""status":"firing""#, with: #""status":"resolved""#)
        #expect(try curl("POST", base + "/api/v1/webhooks/grafana", json: resolved).code == 200)
        #expect(try eventually(20) { try incident()?["state"]?.stringValue == "resolved" })
        let generic = try curl("POST", base + "/api/v1/webhooks/generic", json: #"{"title":"Backup job failed","dedup_key":"backup-db-1"}"#)
        #expect(generic.code == 200, "\(generic.body)")
        #expect(try eventually(20) {
            try incidentList(d).contains { $0["fingerprint"]?.stringValue == "alertmanager:{}:{alertname=\"backup-db-1\"}" }
        })
    }

    /// `config.original` is the configuration loaded at start, secrets redacted, not the file now.
    @Test(.timeLimit(.minutes(1))) func statusShowsTheLoadedConfigurationRedacted() throws {
        let path = try alertingConfig()
        let d = try DaemonProcess(config: path)
        defer { d.stop() }
        try "replaced after the start\n".write(toFile: path, atomically: true, encoding: .utf8)
        let status = try curl("GET", "http://" + (try d.httpAddress()) + "/api/v2/status", token: try apiToken(d))
        let original = try JSONDecoder().decode(JSONValue.self, from: Data(status.body.utf8))["config"]?["original"]?.stringValue
        #expect(original?.contains("roster:") == true && original?.contains("email: <secret>") == true)
        #expect(original?.contains("@example.org") == false)
        #expect(original?.contains("replaced after the start") == false)
    }
}
