import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import VigilCore
import VigilHTTP

/// The same `POST /api/v2/alerts` bodies sent to a real Alertmanager 0.25 and to Vigil's
/// server over real sockets: the status codes must be equal.
@Suite struct AlertmanagerParityTests {
    /// (what, content type, body). Left out on purpose: `[null]` (Alertmanager 0.25 drops the
    /// connection) and invalid UTF-8 (Alertmanager replaces it and answers 200; Vigil refuses
    /// it with 400 naming the problem).
    static let cases: [(String, String?, String)] = [
        ("one valid alert", "application/json", #"[{"labels":{"alertname":"Test","instance":"host1"}}]"#),
        ("empty list", "application/json", "[]"),
        ("null", "application/json", "null"),
        ("charset parameter", "application/json; charset=utf-8", #"[{"labels":{"a":"b"}}]"#),
        ("empty label set", "application/json", #"[{"labels":{}}]"#),
        ("only empty values", "application/json", #"[{"labels":{"a":""}}]"#),
        ("labels missing", "application/json", #"[{"annotations":{}}]"#),
        ("labels null", "application/json", #"[{"labels":null}]"#),
        ("invalid label name", "application/json", #"[{"labels":{"0bad":"x"}}]"#),
        ("non-ASCII label name", "application/json", #"[{"labels":{"ä":"b"}}]"#),
        ("valid and invalid mixed", "application/json", #"[{"labels":{"alertname":"good"}},{"labels":{"0bad":"x"}},{"labels":{}}]"#),
        ("end before start", "application/json",
         #"[{"labels":{"a":"b"},"startsAt":"2026-01-02T00:00:00Z","endsAt":"2026-01-01T00:00:00Z"}]"#),
        ("start equals end", "application/json",
         #"[{"labels":{"a":"b"},"startsAt":"2030-01-01T00:00:00Z","endsAt":"2030-01-01T00:00:00Z"}]"#),
        ("only a past end", "application/json", #"[{"labels":{"alertname":"Past"},"endsAt":"2020-01-01T00:00:00Z"}]"#),
        ("only a future start", "application/json", #"[{"labels":{"alertname":"F"},"startsAt":"2099-01-01T00:00:00Z"}]"#),
        ("fractional seconds and offset", "application/json",
         #"[{"labels":{"alertname":"N"},"startsAt":"2026-12-05T05:00:00.123456789+01:00"}]"#),
        ("time without zone", "application/json", #"[{"labels":{"alertname":"N"},"startsAt":"2026-12-05T05:00:00"}]"#),
        ("Go's zero time", "application/json", #"[{"labels":{"alertname":"Z"},"startsAt":"0001-01-01T00:00:00Z"}]"#),
        ("bad time", "application/json", #"[{"labels":{"a":"b"},"startsAt":"yesterday"}]"#),
        ("time with a space", "application/json", #"[{"labels":{"a":"b"},"startsAt":"2026-12-05 05:00:00Z"}]"#),
        ("truncated JSON", "application/json", #"[{"#),
        ("object instead of list", "application/json", #"{"labels":{"a":"b"}}"#),
        ("number as label value", "application/json", #"[{"labels":{"a":1}}]"#),
        ("list as labels", "application/json", #"[{"labels":["a"]}]"#),
        ("number as alert", "application/json", "[1]"),
        ("number as annotation", "application/json", #"[{"labels":{"a":"b"},"annotations":{"x":1}}]"#),
        ("invalid annotation name", "application/json", #"[{"labels":{"a":"b"},"annotations":{"0x":"y"}}]"#),
        ("generatorURL absolute", "application/json", #"[{"labels":{"a":"b"},"generatorURL":"http://prom:9090/graph?g0.expr=up"}]"#),
        ("generatorURL relative", "application/json", #"[{"labels":{"a":"b"},"generatorURL":"relative/path"}]"#),
        ("generatorURL empty", "application/json", #"[{"labels":{"a":"b"},"generatorURL":""}]"#),
        ("unknown field", "application/json", #"[{"labels":{"a":"b"},"foo":1}]"#),
        ("empty body", "application/json", ""),
        ("whitespace body", "application/json", "   "),
        ("no content type", nil, #"[{"labels":{"a":"b"}}]"#),
        ("text/plain", "text/plain", #"[{"labels":{"a":"b"}}]"#),
        ("form", "application/x-www-form-urlencoded", #"[{"labels":{"a":"b"}}]"#),
    ]

    @Test(.timeLimit(.minutes(2))) func statusCodesEqualAlertmanagers() async throws {
        let am = try RealAlertmanager()
        defer { am.stop() }
        try await am.waitUntilReady()
        let clock = SystemClock()
        let server = testServer(alerts: RecordingIntake(clock: clock), clock: clock)
        try await Application(router: server.router()).test(.live) { vigil in
            var mismatches: [String] = []
            for (what, contentType, body) in Self.cases {
                var fields: HTTPFields = [:]
                if let contentType { fields[.contentType] = contentType }
                let headers = fields
                let ours = try await vigil.execute(uri: "/api/v2/alerts", method: .post, headers: headers,
                                                   body: ByteBuffer(string: body)) { $0.status.code }
                let theirs = try await TestClient.withClient(host: "127.0.0.1", port: am.port) { c in
                    try await c.execute(.init("/api/v2/alerts", method: .post, authority: "127.0.0.1:\(am.port)",
                                              headers: headers, body: ByteBuffer(string: body))).status.code
                }
                if ours != theirs { mismatches.append("\(what): Alertmanager \(theirs), Vigil \(ours)") }
            }
            #expect(mismatches.isEmpty, "\(mismatches.joined(separator: "\n"))")
        }
    }
}
