import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Testing
import VigilCore
import VigilHTTP

/// `POST /api/v1/webhooks/{grafana,alertmanager,generic}` in-process, with payloads as the
/// senders write them.
@Suite struct WebhooksAPITests {
    let clock = ManualClock(Timestamp(nanoseconds: 1_790_000_000_000_000_000))  // 2026-09-21T…Z

    func post(_ path: String, _ body: String, contentType: String? = "application/json", maxBodyBytes: Int = 4 << 20,
              intake: RecordingIntake, check: @escaping @Sendable (TestResponse) async throws -> Void) async throws {
        var services = HTTPServices(clock: clock, version: "test", alerts: intake)
        services.webhookLease = .seconds(3600)
        let server = HTTPServer(settings: HTTPServerSettings(host: "127.0.0.1", port: 0, maxBodyBytes: maxBodyBytes),
                                services: services, logger: Logger(label: "test"))
        try await Application(router: server.router()).test(.router) { client in
            var headers: HTTPFields = [:]
            if let contentType { headers[.contentType] = contentType }
            try await client.execute(uri: "/api/v1/webhooks/\(path)", method: .post, headers: headers,
                                     body: ByteBuffer(string: body)) { r in try await check(r) }
        }
    }

    /// A Grafana 11 unified alerting webhook notification (one firing, one resolved alert).
    static let grafana = """
        {"receiver":"vigil","status":"firing","orgId":1,
         "alerts":[
          {"status":"firing","labels":{"alertname":"HighCPU","grafana_folder":"Infra","instance":"web-1"},
           "annotations":{"summary":"CPU above 90% on web-1"},"startsAt":"2026-09-21T13:50:00Z",
           "endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://grafana:3000/alerting/grafana/abc/view",
           "fingerprint":"c6eadffa33fcdf37","silenceURL":"http://grafana:3000/alerting/silence/new",
           "dashboardURL":"http://grafana:3000/d/xyz","panelURL":"http://grafana:3000/d/xyz?viewPanel=2",
           "values":{"B":93.5,"C":1},"valueString":"[ var='B' labels={instance=web-1} value=93.5 ]"},
          {"status":"resolved","labels":{"alertname":"DiskFull","instance":"db-1"},"annotations":{},
           "startsAt":"2026-09-21T12:00:00Z","endsAt":"2026-09-21T13:00:00Z","generatorURL":"","fingerprint":"x",
           "values":null,"valueString":""}],
         "groupLabels":{"alertname":"HighCPU"},"commonLabels":{"alertname":"HighCPU"},"commonAnnotations":{},
         "externalURL":"http://grafana:3000/","version":"1","groupKey":"{}:{alertname=\\"HighCPU\\"}",
         "truncatedAlerts":0,"title":"[FIRING:1] HighCPU","state":"alerting","message":"…"}
        """

    @Test func grafanaFiringHoldsALeaseAndResolvedEnds() async throws {
        let intake = RecordingIntake(clock: clock)
        try await post("grafana", Self.grafana, intake: intake) { r in
            #expect(r.status == .ok)
            #expect((try? json(r.body))?["accepted"] as? Int == 2)
        }
        let accepted = await intake.accepted
        let cpu = try #require(accepted.first { $0.labels["alertname"] == "HighCPU" })
        #expect(cpu.labels == ["alertname": "HighCPU", "grafana_folder": "Infra", "instance": "web-1"])
        #expect(cpu.endsAt == clock.now() + .seconds(3600))  // the webhook lease, not Grafana's zero time
        #expect(cpu.startsAt == RFC3339.parse("2026-09-21T13:50:00Z"))
        #expect(cpu.generatorURL == "http://grafana:3000/alerting/grafana/abc/view")
        #expect(cpu.annotations["summary"] == "CPU above 90% on web-1")
        #expect(cpu.annotations["dashboard_url"] == "http://grafana:3000/d/xyz")
        #expect(cpu.annotations["value_string"]?.contains("93.5") == true)
        let disk = try #require(accepted.first { $0.labels["alertname"] == "DiskFull" })
        #expect(!disk.isActive(at: clock.now()) && disk.endsAt == RFC3339.parse("2026-09-21T13:00:00Z"))
    }

    /// Alertmanager 0.25's webhook (`webhook_configs`), version 4.
    @Test func alertmanagerForwardingIsAccepted() async throws {
        let intake = RecordingIntake(clock: clock)
        let body = """
            {"receiver":"vigil","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"Watchdog","severity":"none"},
             "annotations":{},"startsAt":"2026-09-21T13:00:00.123456789Z","endsAt":"0001-01-01T00:00:00Z",
             "generatorURL":"http://prometheus:9090/graph?g0.expr=vector%281%29","fingerprint":"e5b5a4a2b3c1d0f9"}],
             "groupLabels":{},"commonLabels":{"alertname":"Watchdog"},"commonAnnotations":{},
             "externalURL":"http://am:9093","version":"4","groupKey":"{}:{}","truncatedAlerts":0}
            """
        try await post("alertmanager", body, intake: intake) { r in #expect(r.status == .ok) }
        let a = try #require(await intake.accepted.first)
        #expect(a.labels == ["alertname": "Watchdog", "severity": "none"])
        #expect(a.isActive(at: clock.now()))
        // Grafana's payload is version 1: the Alertmanager route says which it expected.
        try await post("alertmanager", Self.grafana, intake: intake) { r in
            #expect(r.status == .badRequest)
            #expect((try? json(r.body))?["message"] as? String
                == #"parsing the alertmanager webhook body failed, because version "1" is not Alertmanager's webhook payload version 4"#)
        }
    }

    @Test func genericShapeDedupsByKeyOrTitle() async throws {
        let intake = RecordingIntake(clock: clock)
        try await post("generic", #"{"title":"Disk 91% full on db-1","severity":"critical","dedup_key":"db-1-disk","labels":{"host":"db-1"},"description":"only 4 GiB left","source_url":"https://backup.example/jobs/7"}"#,
                       intake: intake) { r in #expect(r.status == .ok) }
        try await post("generic", #"[{"title":"Disk 95% full on db-1","dedup_key":"db-1-disk","labels":{"host":"db-1"},"severity":"critical"},{"title":"Cron job late","status":"resolved"}]"#,
                       intake: intake) { r in #expect(r.status == .ok) }
        let accepted = await intake.accepted
        #expect(accepted.count == 3)
        #expect(accepted[0].labels == ["alertname": "db-1-disk", "host": "db-1", "severity": "critical"])
        #expect(accepted[0].fingerprint == accepted[1].fingerprint)  // same dedup key: the same alert
        #expect(accepted[1].annotations["summary"] == "Disk 95% full on db-1")
        #expect(accepted[0].annotations["description"] == "only 4 GiB left")
        #expect(accepted[0].generatorURL == "https://backup.example/jobs/7")
        #expect(accepted[2].labels == ["alertname": "Cron job late"] && !accepted[2].isActive(at: clock.now()))
    }

    @Test func badAlertsAreNamedAndGoodOnesKept() async throws {
        let intake = RecordingIntake(clock: clock)
        let body = #"{"version":"1","alerts":[{"status":"firing","labels":{"alertname":"Good"}},{"status":"pending","labels":{"a":"b"}},{"status":"firing","labels":{"n":1}},{"status":"firing","labels":{"0bad":"x"}},{"status":"firing"},"nope"]}"#
        try await post("grafana", body, intake: intake) { r in
            #expect(r.status == .badRequest)
            let message = try JSONDecoder().decode(String.self, from: Data(r.body.readableBytesView))
            #expect(message == #"1 of 6 alerts accepted; refused: alerts[1].status "pending" is not firing or resolved; "#
                + #"alerts[2].labels.n is a number or boolean, expected a string; alerts[3].labels: invalid name "0bad"; "#
                + "alerts[4].labels is required; alerts[5] is a string, expected an object")
        }
        #expect(await intake.accepted.map(\.labels) == [["alertname": "Good"]])
        try await post("generic", #"[{"title":"ok"},{"titel":"typo"},{"title":""},{"title":"x","source_url":"not a url"}]"#,
                       intake: intake) { r in
            #expect(r.status == .badRequest)
            let message = try JSONDecoder().decode(String.self, from: Data(r.body.readableBytesView))
            #expect(message.hasPrefix("1 of 4 alerts accepted; refused: [1].titel is not a field of the generic shape"))
            #expect(message.contains("[2].title is required"))
            #expect(message.contains(#"[3].source_url "not a url" is not an absolute URL or path"#))
        }
    }

    @Test(arguments: [
        ("grafana", "", "parsing the grafana webhook body failed, because the body is empty; expected Grafana's webhook payload"),
        ("grafana", "[]", "parsing the grafana webhook body failed, because the body is a list, expected an object (Grafana's webhook payload)"),
        ("grafana", #"{"version":"1"}"#, "parsing the grafana webhook body failed, because alerts is required"),
        ("grafana", #"{"alerts":{}}"#, "parsing the grafana webhook body failed, because alerts is an object, expected a list"),
        ("alertmanager", "{\"alerts\":[", "parsing the alertmanager webhook body failed, because the body is not valid JSON (UTF-8)"),
        ("generic", "42", "parsing the generic webhook body failed, because the body is a number or boolean, expected an object or a list of objects (Vigil's generic webhook shape)"),
    ])
    func wholeBodyRefusals(path: String, body: String, message: String) async throws {
        let intake = RecordingIntake(clock: clock)
        try await post(path, body, intake: intake) { r in
            #expect(r.status == .badRequest)
            #expect(((try? json(r.body))?["message"] as? String)?.hasPrefix(message) == true)
        }
        #expect(await intake.accepted.isEmpty)
    }

    @Test func invalidUTF8IsRefusedNamingTheBody() async throws {
        let intake = RecordingIntake(clock: clock)
        let headers: HTTPFields = [.contentType: "application/json"]
        let server = HTTPServer(settings: HTTPServerSettings(port: 0), services: HTTPServices(clock: clock, version: "t", alerts: intake),
                                logger: Logger(label: "test"))
        try await Application(router: server.router()).test(.router) { client in
            var body = ByteBuffer(string: #"{"title":""#)
            body.writeBytes([0xff, 0xfe])
            body.writeString(#""}"#)
            try await client.execute(uri: "/api/v1/webhooks/generic", method: .post, headers: headers, body: body) { r in
                #expect(r.status == .badRequest)
                #expect(((try? json(r.body))?["message"] as? String)?.contains("not valid JSON (UTF-8)") == true)
            }
        }
        #expect(await intake.accepted.isEmpty)
    }

    @Test func nonJSONIs415AndOversizeIs413() async throws {
        let intake = RecordingIntake(clock: clock)
        try await post("generic", #"{"title":"x"}"#, contentType: "text/plain", intake: intake) { r in
            #expect(r.status == .unsupportedMediaType)
        }
        try await post("generic", #"{"title":""# + String(repeating: "x", count: 5000) + #""}"#, maxBodyBytes: 4096,
                       intake: intake) { r in
            #expect(r.status == .contentTooLarge)
            #expect(((try? json(r.body))?["message"] as? String)?.contains("4096") == true)
        }
        #expect(await intake.accepted.isEmpty)
    }

    @Test func storageFailureIs500() async throws {
        let intake = RecordingIntake(clock: clock)
        await intake.fail()
        try await post("generic", #"{"title":"x"}"#, intake: intake) { r in #expect(r.status == .internalServerError) }
    }
}
