import VigilControl
import Foundation
import Testing
import VigilCore
@testable import VigilDaemon
import VigilSilences
import VigilStore
import VigilTestSupport

/// Issue 17: for a table of silence bodies, Vigil's status codes equal the real Alertmanager's.
@Suite(.serialized) struct SilenceParityTests {
    static func time(_ offset: Int) -> String { Timestamp(seconds: Date().timeIntervalSince1970 + Double(offset)).rfc3339 }
    static let m = #"[{"name":"alertname","value":"Disk","isRegex":false}]"#

    static func body(matchers: String? = m, startsAt: String? = time(0), endsAt: String? = time(3600),
                     createdBy: String? = "ana", comment: String? = "swap", id: String? = nil) -> String {
        var parts: [String] = []
        if let id { parts.append(#""id":"\#(id)""#) }
        if let matchers { parts.append(#""matchers":\#(matchers)"#) }
        if let startsAt { parts.append(#""startsAt":"\#(startsAt)""#) }
        if let endsAt { parts.append(#""endsAt":"\#(endsAt)""#) }
        if let createdBy { parts.append(#""createdBy":"\#(createdBy)""#) }
        if let comment { parts.append(#""comment":"\#(comment)""#) }
        return "{" + parts.joined(separator: ",") + "}"
    }

    /// (what, body): the statuses must agree.
    static let table: [(String, String)] = [
        ("valid", body()),
        ("empty createdBy", body(createdBy: "")),
        ("missing createdBy", body(createdBy: nil)),
        ("missing comment", body(comment: nil)),
        ("missing startsAt", body(startsAt: nil)),
        ("missing endsAt", body(endsAt: nil)),
        ("missing matchers", body(matchers: nil)),
        ("empty matchers", body(matchers: "[]")),
        ("matcher without isRegex", body(matchers: #"[{"name":"a","value":"b"}]"#)),
        ("matcher without name", body(matchers: #"[{"value":"b","isRegex":false}]"#)),
        ("matcher without value", body(matchers: #"[{"name":"a","isRegex":false}]"#)),
        ("isRegex as text", body(matchers: #"[{"name":"a","value":"b","isRegex":"no"}]"#)),
        ("matchers an object", body(matchers: "{}")),
        ("ends before it starts", body(startsAt: time(3600), endsAt: time(0))),
        ("starts when it ends", body(startsAt: time(600), endsAt: time(600))),
        ("ends in the past", body(startsAt: time(-7200), endsAt: time(-3600))),
        ("starts in the past", body(startsAt: time(-7200))),
        ("matches the empty label only", body(matchers: #"[{"name":"a","value":"","isRegex":false}]"#)),
        ("regex matching empty", body(matchers: #"[{"name":"a","value":".*","isRegex":true}]"#)),
        ("not-equal empty", body(matchers: #"[{"name":"a","value":"","isRegex":false,"isEqual":false}]"#)),
        ("invalid regex", body(matchers: #"[{"name":"a","value":"(","isRegex":true}]"#)),
        ("look-ahead regex", body(matchers: #"[{"name":"a","value":"(?=x)","isRegex":true}]"#)),
        ("back-reference", body(matchers: #"[{"name":"a","value":"(a)\\1","isRegex":true}]"#)),
        ("nested repetition", body(matchers: #"[{"name":"a","value":"a**","isRegex":true}]"#)),
        ("repeat over 1000", body(matchers: #"[{"name":"a","value":"a{1001}","isRegex":true}]"#)),
        ("negative regex", body(matchers: #"[{"name":"a","value":"b.*","isRegex":true,"isEqual":false}]"#)),
        ("bad label name", body(matchers: #"[{"name":"0a","value":"b","isRegex":false}]"#)),
        ("empty label name", body(matchers: #"[{"name":"","value":"b","isRegex":false}]"#)),
        ("unknown id", body(id: "7f4b3c0e-0000-4000-8000-000000000000")),
        ("id not a UUID", body(id: "xyz")),
        ("empty id", body(id: "")),
        ("bad time", body(startsAt: "yesterday")),
        ("time with offset", body(endsAt: "2099-01-01T00:00:00+02:00")),
        ("numeric comment", #"{"comment":5}"#),
        ("null", "null"),
        ("array", "[]"),
        ("empty body", ""),
        ("not JSON", "{matchers"),
    ]

    @Test(.timeLimit(.minutes(2))) func statusCodesEqualAlertmanagers() async throws {
        let am = try RealAlertmanager()
        defer { am.stop() }
        let store = try Store(path: try temporaryDatabasePath())
        let clock = SystemClock()
        let api = SilencesAPI(service: try await SilenceService(store: store, clock: clock, logger: quietLogger), clock: clock)
        var mismatches: [String] = []
        for (what, body) in Self.table {
            let theirs = try RealAlertmanager.request("POST", am.url + "/api/v2/silences", body: Data(body.utf8))
            let ours = await api.post(Array(body.utf8), actor: "test")
            if theirs.status != ours.status {
                mismatches.append("\(what): alertmanager \(theirs.status) \(String(decoding: theirs.body, as: UTF8.self)), "
                    + "vigil \(ours.status) \(String(decoding: ours.body, as: UTF8.self))")
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.joined(separator: "\n"))")
    }

    @Test(.timeLimit(.minutes(2))) func getAndDeleteStatusCodesEqualAlertmanagers() async throws {
        let am = try RealAlertmanager()
        defer { am.stop() }
        let store = try Store(path: try temporaryDatabasePath())
        let clock = SystemClock()
        let api = SilencesAPI(service: try await SilenceService(store: store, clock: clock, logger: quietLogger), clock: clock)
        let theirID = try JSONDecoder().decode([String: String].self, from: RealAlertmanager.request(
            "POST", am.url + "/api/v2/silences", body: Data(Self.body().utf8)).body)["silenceID"] ?? ""
        let ourAnswer = await api.post(Array(Self.body().utf8), actor: "test")
        let ourID = try JSONDecoder().decode([String: String].self, from: ourAnswer.body)["silenceID"] ?? ""
        let unknown = "7f4b3c0e-0000-4000-8000-000000000000"
        var pairs: [(String, Int, Int)] = []
        func compare(_ what: String, _ method: String, _ theirPath: String, _ ours: SilencesAPI.Answer) throws {
            pairs.append((what, try RealAlertmanager.request(method, am.url + theirPath).status, ours.status))
        }
        try compare("get existing", "GET", "/api/v2/silence/\(theirID)", api.get(ourID))
        try compare("get unknown", "GET", "/api/v2/silence/\(unknown)", api.get(unknown))
        try compare("get not a UUID", "GET", "/api/v2/silence/xyz", api.get("xyz"))
        try compare("list", "GET", "/api/v2/silences", api.list(filters: []))
        try compare("list filtered", "GET", "/api/v2/silences?filter=alertname%3D%22Disk%22", api.list(filters: [#"alertname="Disk""#]))
        try compare("list bad filter", "GET", "/api/v2/silences?filter=alertname", api.list(filters: ["alertname"]))
        try compare("delete active", "DELETE", "/api/v2/silence/\(theirID)", await api.delete(ourID, actor: "t"))
        try compare("delete expired", "DELETE", "/api/v2/silence/\(theirID)", await api.delete(ourID, actor: "t"))
        try compare("delete unknown", "DELETE", "/api/v2/silence/\(unknown)", await api.delete(unknown, actor: "t"))
        try compare("delete not a UUID", "DELETE", "/api/v2/silence/xyz", await api.delete("xyz", actor: "t"))
        let mismatches = pairs.filter { $0.1 != $0.2 }.map { "\($0.0): alertmanager \($0.1), vigil \($0.2)" }
        #expect(mismatches.isEmpty, "\(mismatches.joined(separator: "\n"))")
        // The shape of one silence is Alertmanager's.
        let view = try JSONDecoder().decode(SilenceView.self, from: api.get(ourID).body)
        #expect(view.status.state == "expired" && view.matchers.first?.name == "alertname" && view.createdBy == "ana")
    }
}
