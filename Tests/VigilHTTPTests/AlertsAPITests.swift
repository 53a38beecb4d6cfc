import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import VigilCore
import VigilHTTP

/// Records accepted alerts in memory; lists them as routed to one receiver.
actor RecordingIntake: AlertIntake {
    var accepted: [Alert] = []
    var failing = false
    let clock: any VigilClock

    init(clock: any VigilClock) { self.clock = clock }

    func accept(_ alerts: [Alert]) async throws {
        if failing { throw TestFailure("disk full") }
        accepted += alerts
    }

    func fail() { failing = true }

    func snapshot() async -> [AlertSnapshot] {
        let now = clock.now()
        var latest: [String: Alert] = [:]
        for a in accepted { latest[a.fingerprint] = a }
        return latest.values.filter { $0.isActive(at: now) }.map { a in
            AlertSnapshot(alert: a, receiver: "vigil", groupKey: "{}:{alertname=\"\(a.labels["alertname"] ?? "")\"}",
                          groupLabels: ["alertname": a.labels["alertname"] ?? ""],
                          inhibitedBy: a.labels["muted"] == "yes" ? ["0000000000000001"] : [])
        }
    }
}

@Suite struct AlertsAPITests {
    let clock = ManualClock(Timestamp(nanoseconds: 1_790_000_000_000_000_000))  // 2026-09-21T…Z

    func post(_ body: String, contentType: String? = "application/json", intake: RecordingIntake,
              check: @escaping @Sendable (TestResponse) async throws -> Void) async throws {
        let server = testServer(alerts: intake, clock: clock)
        try await Application(router: server.router()).test(.router) { client in
            var headers: HTTPFields = [:]
            if let contentType { headers[.contentType] = contentType }
            try await client.execute(uri: "/api/v2/alerts", method: .post, headers: headers,
                                     body: ByteBuffer(string: body)) { r in try await check(r) }
        }
    }

    @Test func validAlertsAreAcceptedWithAlertmanagersDefaults() async throws {
        let intake = RecordingIntake(clock: clock)
        try await post(#"[{"labels":{"alertname":"Test","instance":"host1","empty":""},"annotations":{"summary":"s"}}]"#,
                       intake: intake) { r in #expect(r.status == .ok) }
        let a = try #require(await intake.accepted.first)
        #expect(a.labels == ["alertname": "Test", "instance": "host1"])  // empty-valued labels dropped
        #expect(a.startsAt == clock.now())
        #expect(a.endsAt == clock.now() + .seconds(300))  // resolve_timeout
        #expect(a.fingerprint == "779d94b5fcb93aa2")
    }

    @Test func onlyEndsAtMeansStartedThen() async throws {
        let intake = RecordingIntake(clock: clock)
        try await post(#"[{"labels":{"alertname":"Past"},"endsAt":"2020-01-01T00:00:00Z"}]"#, intake: intake) { r in
            #expect(r.status == .ok)
        }
        let a = try #require(await intake.accepted.first)
        #expect(a.startsAt == a.endsAt)
        #expect(!a.isActive(at: clock.now()))
    }

    @Test func invalidAlertsAreNamedAndValidOnesKept() async throws {
        let intake = RecordingIntake(clock: clock)
        try await post(#"[{"labels":{"alertname":"good"}},{"labels":{"0bad":"x"}},{"labels":{}}]"#, intake: intake) { r in
            #expect(r.status == .badRequest)
            #expect(String(buffer: r.body) == #""invalid label set: invalid name \"0bad\"; at least one label pair required""# + "\n")
        }
        #expect(await intake.accepted.map(\.labels) == [["alertname": "good"]])
    }

    /// Status and body per case, as the real Alertmanager 0.25 answers them (probed on this box;
    /// the parity test re-checks the codes against a running one).
    @Test(arguments: [
        (#"[{"annotations":{}}]"#, 422, #"{"code":602,"message":"0.labels in body is required"}"#),
        ("", 422, #"{"code":602,"message":"alerts in body is required"}"#),
        (#"[{"labels":{"a":"b"},"generatorURL":"relative/path"}]"#, 422,
         #"{"code":601,"message":"0.generatorURL in body must be of type uri: \"relative/path\""}"#),
        (#"[{"labels":{"a":"b"},"startsAt":"2026-01-02T00:00:00Z","endsAt":"2026-01-01T00:00:00Z"}]"#, 400,
         #""start time must be before end time""#),
        (#"[{"labels":{"a":"b"},"annotations":{"0x":"y"}}]"#, 400, #""invalid annotations: invalid name \"0x\"""#),
    ])
    func statusCodesAndMessages(body: String, status: Int, expected: String) async throws {
        let intake = RecordingIntake(clock: clock)
        try await post(body, intake: intake) { r in
            #expect(r.status.code == status)
            #expect(String(buffer: r.body).trimmingCharacters(in: .newlines) == expected)
        }
    }

    @Test(arguments: [#"[{"#, #"{"labels":{"a":"b"}}"#, #"[{"labels":{"a":1}}]"#, #"[{"labels":{"a":"b"},"startsAt":"yesterday"}]"#,
                      #"[{"labels":["a"]}]"#, "[1]", #"[{"labels":{"a":"b"},"annotations":{"x":1}}]"#])
    func malformedBodiesAre400NamingTheField(body: String) async throws {
        let intake = RecordingIntake(clock: clock)
        try await post(body, intake: intake) { r in
            #expect(r.status == .badRequest)
            let message = try json(r.body)["message"] as? String ?? ""
            #expect(message.hasPrefix("parsing alerts body failed, because"))
        }
        #expect(await intake.accepted.isEmpty)
    }

    @Test(arguments: [nil, "text/plain", "application/x-www-form-urlencoded", "application/vnd.api+json"])
    func nonJSONIs415(contentType: String?) async throws {
        let intake = RecordingIntake(clock: clock)
        try await post(#"[{"labels":{"a":"b"}}]"#, contentType: contentType, intake: intake) { r in
            #expect(r.status == .unsupportedMediaType)
            let message = try json(r.body)["message"] as? String
            #expect(message?.contains("only [application/json] are allowed") == true)
        }
        #expect(await intake.accepted.isEmpty)
    }

    @Test func storageFailureIs500() async throws {
        let intake = RecordingIntake(clock: clock)
        await intake.fail()
        try await post(#"[{"labels":{"a":"b"}}]"#, intake: intake) { r in #expect(r.status == .internalServerError) }
    }

    @Test func listingFiltersAndFlags() async throws {
        let intake = RecordingIntake(clock: clock)
        try await intake.accept([
            Alert(labels: ["alertname": "A", "team": "db"], startsAt: clock.now(), endsAt: clock.now() + .seconds(60),
                  updatedAt: clock.now(), generatorURL: "http://prom/graph"),
            Alert(labels: ["alertname": "B", "muted": "yes"], startsAt: clock.now(), endsAt: clock.now() + .seconds(60),
                  updatedAt: clock.now()),
            Alert(labels: ["alertname": "Gone"], startsAt: clock.now() - .seconds(60), endsAt: clock.now() - .seconds(1),
                  updatedAt: clock.now()),
        ])
        let server = testServer(alerts: intake, clock: clock)
        try await Application(router: server.router()).test(.router) { client in
            func names(_ query: String) async throws -> [String] {
                try await client.execute(uri: "/api/v2/alerts" + query, method: .get) { r in
                    #expect(r.status == .ok)
                    let list = try JSONSerialization.jsonObject(with: Data(r.body.readableBytesView)) as? [[String: Any]] ?? []
                    return list.compactMap { ($0["labels"] as? [String: String])?["alertname"] }
                }
            }
            #expect(try await names("").sorted() == ["A", "B"])
            #expect(try await names("?filter=team%3D%22db%22") == ["A"])
            #expect(try await names("?inhibited=false") == ["A"])
            #expect(try await names("?active=false") == ["B"])
            try await client.execute(uri: "/api/v2/alerts?filter=foo", method: .get) { r in
                #expect(r.status == .badRequest)
                #expect(String(buffer: r.body).hasPrefix(#""bad matcher format: foo""#))
            }
            try await client.execute(uri: "/api/v2/alerts", method: .get) { r in
                let list = try JSONSerialization.jsonObject(with: Data(r.body.readableBytesView)) as? [[String: Any]] ?? []
                let a = try #require(list.first { ($0["labels"] as? [String: String])?["alertname"] == "A" })
                #expect(a["fingerprint"] as? String == AlertFingerprint.hex(["alertname": "A", "team": "db"]))
                #expect(a["generatorURL"] as? String == "http://prom/graph")
                #expect((a["receivers"] as? [[String: String]]) == [["name": "vigil"]])
                let status = a["status"] as? [String: Any]
                #expect(status?["state"] as? String == "active")
                #expect((status?["silencedBy"] as? [String]) == [])
                #expect(a["startsAt"] as? String == RFC3339.format(clock.now()))
            }
            try await client.execute(uri: "/api/v2/alerts/groups", method: .get) { r in
                let groups = try JSONSerialization.jsonObject(with: Data(r.body.readableBytesView)) as? [[String: Any]] ?? []
                #expect(groups.count == 2)
                #expect((groups.first?["receiver"] as? [String: String]) == ["name": "vigil"])
                #expect((groups.first?["labels"] as? [String: String]) == ["alertname": "A"])
            }
        }
    }
}

/// Hostile bodies: refused with a message naming the problem, never a crash, nothing stored.
@Suite struct HostileAlertBodyTests {
    let clock = ManualClock()

    func post(_ body: ByteBuffer, intake: RecordingIntake) async throws -> (Int, String) {
        let server = testServer(alerts: intake, clock: clock)
        return try await Application(router: server.router()).test(.router) { client in
            try await client.execute(uri: "/api/v2/alerts", method: .post, headers: [.contentType: "application/json"],
                                     body: body) { ($0.status.code, String(buffer: $0.body)) }
        }
    }

    @Test func invalidUTF8Is400() async throws {
        let intake = RecordingIntake(clock: clock)
        var body = ByteBuffer(string: #"[{"labels":{"a":""#)
        body.writeBytes([0xff, 0xfe])
        body.writeString(#""}}]"#)
        let (code, text) = try await post(body, intake: intake)
        #expect(code == 400)
        #expect(text.contains("not valid JSON (UTF-8)"))
        #expect(await intake.accepted.isEmpty)
    }

    @Test func hugeLabelSetIsRefusedByName() async throws {
        let intake = RecordingIntake(clock: clock)
        let labels = (0..<300).map { "\"l\($0)\":\"v\"" }.joined(separator: ",")
        let (code, text) = try await post(ByteBuffer(string: "[{\"labels\":{\(labels)}},{\"labels\":{\"alertname\":\"ok\"}}]"),
                                          intake: intake)
        #expect(code == 400)
        #expect(text.contains("too many labels: 300, at most 256"))
        #expect(await intake.accepted.map(\.labels) == [["alertname": "ok"]])
    }

    @Test func deepNestingIsRefusedWithoutCrashing() async throws {
        let intake = RecordingIntake(clock: clock)
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let (code, _) = try await post(ByteBuffer(string: deep), intake: intake)
        #expect(code == 400)
        let deepObject = "[{\"labels\":" + String(repeating: "{\"a\":", count: 50_000) + "\"x\"" + String(repeating: "}", count: 50_000) + "}]"
        let (code2, _) = try await post(ByteBuffer(string: deepObject), intake: intake)
        #expect(code2 == 400)
        #expect(await intake.accepted.isEmpty)
    }

    @Test func hugeNumbersAndOddTimesAreRefused() async throws {
        let intake = RecordingIntake(clock: clock)
        for body in [#"[{"labels":{"a":"b"},"startsAt":"99999-01-01T00:00:00Z"}]"#,
                     #"[{"labels":{"a":"b"},"endsAt":"2026-13-45T99:99:99Z"}]"#,
                     #"[{"labels":{"a":"b"},"startsAt":"1e999"}]"#,
                     #"[{"labels":{"a":"b"},"startsAt":1e999}]"#] {
            let (code, text) = try await post(ByteBuffer(string: body), intake: intake)
            #expect(code == 400, "\(body): \(text)")
        }
        #expect(await intake.accepted.isEmpty)
    }
}
