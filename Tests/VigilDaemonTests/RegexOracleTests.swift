import Foundation
import Testing
import VigilMatchers
import VigilTestSupport

/// Vigil's RE2-syntax engine against Go's, through a real Alertmanager: which regexes a silence
/// may carry, and which label values a regex matcher selects (`GET /api/v2/alerts?filter=`).
@Suite(.serialized) struct RegexOracleTests {
    static let regexes = [
        "d.*", "a|b", "host[0-9]+", "[^a]", ".", "(?s).", "(?i)DISK", "(?i:a)b", "a{2,3}", "a{,2}", "x{01}", #"\d+"#,
        #"\w+"#, #"\pL+"#, #"\p{Lu}"#, #"\PL"#, #"\p{^L}"#, "[[:alpha:]]+", "[[:^digit:]]", #"\Qa.b\E"#, #"\x41\x{263a}"#,
        #"a\.b"#, "", "a*", #"\bfoo\b"#, "(?m)^a$", "(a*)*", "[]a]", "[a-]", "(?:a|)", "(?U)a+?", "(?P<x>a)b", "^a", "a$",
        "(?i)k", "[a-c]", "(?i)[a-c]", #"\s"#, #"\S+"#, "é.", "[é-ë]", #"a\z"#, #"\Aa"#, "a|", "|a", "()", "(?i)ǅ",
        // refused by Go
        "(", "a)|(b", "(?=x)", "(?!x)", "(?<n>x)", #"(a)\1"#, "a**", "a*+", "*a", "a{1001}", "a{3,2}", "(a{100}){100}",
        "[a", "[z-a]", "[[:foo:]]", #"\e"#, #"\Z"#, #"\C"#, #"\p{Foo}"#, "a\\", "(?-)", "x(?P<a-b>y)", "(?P<>y)", "(?i-)",
        "x{2}{3}", "a??", "a+?", "(?i)(?-i)a", "[\\d-z]", #"[\b]"#, #"\8"#, #"\08"#, "(?P=x)", "(?#c)",
    ]
    static let values = ["", "a", "b", "ab", "aa", "aaa", "A", "B", "disk", "DISK", "host12", "host", "\n", "a.b", "axb",
                         "A☺", "foo", "foo bar", "é", "éa", "ë", "k", "K", "\u{212A}", "]", "-", "x{01}", "a{,2}", "123",
                         "ǅ", "ǆ", "Ǆ", " ", "\t", "xy", "ya"]

    @Test(.timeLimit(.minutes(3))) func acceptedAndRefusedAsGo() throws {
        let am = try RealAlertmanager()
        defer { am.stop() }
        let ends = Date().addingTimeInterval(3600).ISO8601Format()
        var mismatches: [String] = []
        for re in Self.regexes {
            let body: [String: Any] = ["matchers": [["name": "l", "value": re, "isRegex": true], ["name": "x", "value": "y", "isRegex": false]],
                                       "startsAt": Date().ISO8601Format(), "endsAt": ends, "createdBy": "t", "comment": "c"]
            let theirs = try RealAlertmanager.request("POST", am.url + "/api/v2/silences",
                                                      body: try JSONSerialization.data(withJSONObject: body)).status
            let ours = (try? LabelMatcher(name: "l", type: .regexp, value: re)) != nil
            if (theirs == 200) != ours { mismatches.append("\(re.debugDescription): alertmanager \(theirs), vigil accepts: \(ours)") }
        }
        #expect(mismatches.isEmpty, "\(mismatches.joined(separator: "\n"))")
    }

    @Test(.timeLimit(.minutes(3))) func selectsWhatGoSelects() throws {
        let am = try RealAlertmanager()
        defer { am.stop() }
        let ends = Date().addingTimeInterval(3600).ISO8601Format()
        // One alert per value, told apart by its `i` label.
        let alerts: [[String: Any]] = Self.values.enumerated().map { i, v in
            ["labels": ["alertname": "oracle", "i": "\(i)", "v": v], "endsAt": ends]
        }
        let posted = try RealAlertmanager.request("POST", am.url + "/api/v2/alerts",
                                                  body: try JSONSerialization.data(withJSONObject: alerts))
        try #require(posted.status == 200, "\(String(decoding: posted.body, as: UTF8.self))")
        var mismatches: [String] = []
        for re in Self.regexes {
            guard let m = try? LabelMatcher(name: "v", type: .regexp, value: re) else { continue }
            var query = URLComponents(string: am.url + "/api/v2/alerts")!
            query.queryItems = [URLQueryItem(name: "filter", value: m.description)]
            // A `+` in a query is a space to Go's URL parser.
            query.percentEncodedQuery = query.percentEncodedQuery?.replacingOccurrences(of: "+", with: "%2B")
            let answer = try RealAlertmanager.request("GET", query.url!.absoluteString, contentType: nil)
            guard answer.status == 200,
                  let list = try JSONSerialization.jsonObject(with: answer.body) as? [[String: Any]] else {
                mismatches.append("\(re.debugDescription): alertmanager answered \(answer.status)")
                continue
            }
            // Alertmanager drops empty label values on intake, so "" and a missing label are the same there.
            let theirs = Set(list.compactMap { ($0["labels"] as? [String: String])?["i"] }.compactMap(Int.init))
            let ours = Set(Self.values.indices.filter { m.matches(["v": Self.values[$0]].filter { !$0.value.isEmpty }) })
            if theirs != ours {
                let diff = theirs.symmetricDifference(ours).map { Self.values[$0].debugDescription }
                mismatches.append("\(re.debugDescription): differs on \(diff.joined(separator: ", "))")
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.joined(separator: "\n"))")
    }
}
