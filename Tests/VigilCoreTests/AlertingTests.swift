import Testing
import VigilCore

@Suite struct AlertFingerprintTests {
    /// Values the real Alertmanager 0.25 printed (`GET /api/v2/alerts` → `fingerprint`) for
    /// these label sets, posted to it on this machine.
    @Test(arguments: [
        (["alertname": "Test", "instance": "host1"], "779d94b5fcb93aa2"),
        (["alertname": "good"], "fff7f30401697f7b"),
        (["alertname": "CPU", "instance": "h2"], "951f740d5dd101c3"),
        (["alertname": "nz"], "089f9c42b4f251a4"),
        (["alertname": "Eq"], "e1509d432fb7962e"),
        (["alertname": "x"], "d240efc3896bf266"),
        (["a": "b"], "d2b371819297f98a"),
        (["__x": "b"], "20bc706c3a06a275"),
    ])
    func matchesAlertmanager(labels: [String: String], expected: String) {
        #expect(AlertFingerprint.hex(labels) == expected)
        #expect(Alert(labels: labels, startsAt: .init(nanoseconds: 0), endsAt: .init(nanoseconds: 1),
                      updatedAt: .init(nanoseconds: 0)).fingerprint == expected)
    }

    @Test func emptyLabelSetIsTheFNVOffset() {
        #expect(AlertFingerprint.hex([:]) == "cbf29ce484222325")
    }

    @Test func annotationsDoNotChangeIt() {
        let a = Alert(labels: ["alertname": "Test", "instance": "host1"], annotations: ["summary": "x"],
                      startsAt: .init(nanoseconds: 0), endsAt: .init(nanoseconds: 1), updatedAt: .init(nanoseconds: 0))
        #expect(a.fingerprint == "779d94b5fcb93aa2")
    }
}

@Suite struct AlertMatcherTests {
    /// A `filter=` query is hostile input: a pattern that makes a backtracking engine take
    /// exponential time must be answered in linear time (the RE2 engine of VigilMatchers).
    @Test(.timeLimit(.minutes(1))) func aCatastrophicPatternIsAnsweredInLinearTime() throws {
        let long = String(repeating: "a", count: 20_000)
        let m = try AlertMatcher.parse(#"job=~"(a*)*b""#)
        #expect(!m.matches(["job": long]))
        #expect(try AlertMatcher.parse(#"job=~"(a|aa)*""#).matches(["job": long]))
        #expect(throws: MatcherError.self) { try AlertMatcher.parse(#"job=~"(?P<x"#) }
    }

    @Test func parsesEveryOperator() throws {
        let eq = try AlertMatcher.parse(#"alertname="Disk Full""#)
        #expect(eq.op == .equal && eq.name == "alertname" && eq.value == "Disk Full")
        #expect(try AlertMatcher.parse(#"a!="b""#).op == .notEqual)
        #expect(try AlertMatcher.parse(#"a=~"b.*""#).op == .regex)
        #expect(try AlertMatcher.parse(#"a!~"b|c""#).op == .notRegex)
        #expect(try AlertMatcher.parse("a=b").value == "b")
        #expect(try AlertMatcher.parse(#"a="q\"uote\\d""#).value == #"q"uote\d"#)
    }

    @Test func regexesAreAnchoredAndMissingLabelsAreEmpty() throws {
        let m = try AlertMatcher.parse(#"severity=~"crit|page""#)
        #expect(m.matches(["severity": "crit"]))
        #expect(!m.matches(["severity": "critical"]))
        #expect(try AlertMatcher.parse(#"team="""#).matches([:]))
        #expect(try AlertMatcher.parse(#"team!~".+""#).matches(["x": "y"]))
    }

    @Test(arguments: ["foo", #"0bad="x""#, #"a=~"(""#, #"a="unterminated"#, #"a="x"y"#, "=x"])
    func refusesBadMatchers(text: String) {
        #expect(throws: MatcherError.self) { try AlertMatcher.parse(text) }
    }

    @Test func refusesHugeRegexes() {
        let long = String(repeating: "a", count: AlertMatcher.maximumPatternLength + 1)
        #expect(throws: MatcherError.self) { try AlertMatcher(name: "a", op: .regex, value: long) }
    }
}

@Suite struct AlertRoutingTests {
    func routing() throws -> AlertRouting {
        let db = AlertRoute(name: "database", matchers: [try .parse(#"team="db""#)], groupBy: ["alertname", "instance"],
                            incidentType: "Database outage", component: "postgres",
                            routes: [AlertRoute(matchers: [try .parse(#"severity="page""#)], severity: "P1")])
        return AlertRouting(root: AlertRoute(groupBy: ["alertname"], routes: [db]))
    }

    @Test func deepestMatchingRouteWithInheritance() throws {
        let r = try routing()
        let m = r.route(["alertname": "DiskFull", "team": "db", "severity": "page", "instance": "h1"])
        #expect(m.route.name == "database")
        #expect(m.route.incidentType == "Database outage")
        #expect(m.route.component == "postgres")
        #expect(m.route.severity == "P1")
        #expect(m.route.groupBy == ["alertname", "instance"])
        let key = r.groupKey(["alertname": "DiskFull", "team": "db", "instance": "h1"], match: r.route(["team": "db"]))
        #expect(key.key == #"{}/{team="db"}:{alertname="DiskFull", instance="h1"}"#)
        #expect(r.groupKey(["alertname": "CPU", "x": "y"], match: r.route(["alertname": "CPU"])).key == #"{}:{alertname="CPU"}"#)
    }

    @Test func severityLabelMapsOntoLadderNames() throws {
        let r = try routing()
        let root = r.root
        #expect(r.severity(["severity": "critical"], route: root) == "Critical")
        #expect(r.severity(["severity": "warning"], route: root) == "Medium")
        #expect(r.severity(["severity": "P2"], route: root) == "P2")
        #expect(r.severity([:], route: root) == AlertRouting.fallbackSeverity)
        var fixed = root
        fixed.severity = "P3"
        #expect(r.severity(["severity": "critical"], route: fixed) == "P3")
    }

    @Test func inhibitionAsAlertmanager() throws {
        let rule = InhibitRule(source: [try .parse(#"severity="critical""#)], target: [try .parse(#"severity="warning""#)],
                               equal: ["cluster"])
        let r = AlertRouting(inhibitRules: [rule])
        let source = ["alertname": "Down", "severity": "critical", "cluster": "a"]
        let firing = [(fingerprint: AlertFingerprint.hex(source), labels: source)]
        #expect(r.inhibitors(of: ["alertname": "Slow", "severity": "warning", "cluster": "a"], among: firing)
            == [AlertFingerprint.hex(source)])
        #expect(r.inhibitors(of: ["alertname": "Slow", "severity": "warning", "cluster": "b"], among: firing).isEmpty)
        // A missing label equals the empty value on both sides.
        let noCluster = ["alertname": "Down", "severity": "critical"]
        #expect(!r.inhibitors(of: ["alertname": "Slow", "severity": "warning"],
                              among: [(AlertFingerprint.hex(noCluster), noCluster)]).isEmpty)
        // An alert never inhibits itself; one matching both sides cannot be inhibited by another that does.
        let both = InhibitRule(source: [try .parse(#"alertname=~".+""#)], target: [try .parse(#"alertname=~".+""#)], equal: [])
        let r2 = AlertRouting(inhibitRules: [both])
        let other = ["alertname": "B"]
        #expect(r2.inhibitors(of: ["alertname": "A"], among: [(AlertFingerprint.hex(other), other)]).isEmpty)
    }

    /// The index answers as the reference scan does, over random alerts and rules.
    @Test func indexAgreesWithTheScan() throws {
        var rng = SystemRandomNumberGenerator()
        let values = ["a", "b", ""]
        func labels() -> [String: String] {
            var l: [String: String] = ["alertname": ["X", "Y", "Z"].randomElement(using: &rng)!]
            for name in ["severity", "cluster", "team"] {
                let v = values.randomElement(using: &rng)!
                if !v.isEmpty { l[name] = v }
            }
            return l
        }
        let rules = [
            InhibitRule(source: [try .parse(#"severity="a""#)], target: [try .parse(#"severity="b""#)], equal: ["cluster"]),
            InhibitRule(source: [try .parse(#"alertname=~"X|Y""#)], target: [try .parse(#"alertname=~"Y|Z""#)],
                        equal: ["team", "cluster"]),
            InhibitRule(source: [try .parse(#"team!="""#)], target: [], equal: []),
        ]
        let routing = AlertRouting(inhibitRules: rules)
        for _ in 0..<50 {
            var byFingerprint: [String: [String: String]] = [:]
            for _ in 0..<20 { let l = labels(); byFingerprint[AlertFingerprint.hex(l)] = l }
            let firing = byFingerprint.map { (fingerprint: $0.key, labels: $0.value) }
            let index = InhibitionIndex(rules: rules, firing: firing)
            for f in firing {
                #expect(Set(index.inhibitors(of: f.labels)) == Set(routing.inhibitors(of: f.labels, among: firing)))
            }
        }
    }
}
