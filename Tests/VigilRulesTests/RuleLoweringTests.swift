import Testing
import VigilCore
@testable import VigilRules

struct RuleLoweringTests {
    func lowered(_ text: String, factor: Double = 0.8, threshold: Double? = nil) throws -> String {
        RuleLowering.lowered(try RuleParser.parse(text), factor: factor, threshold: threshold).description
    }

    @Test func thresholdsMoveTowardFiring() throws {
        #expect(try lowered("cpu_usage > 90% for 5 minutes") == "cpu_usage > 72% for 5 minutes")
        #expect(try lowered("disk_space < 10% available") == "disk_space < 12.5% available")
        #expect(try lowered("auth_failures > 5 in 1 minute") == "auth_failures > 4 in 1 minute")
        #expect(try lowered("temperature >= -10") == "temperature >= -12")
        #expect(try lowered("fps <= -10", factor: 0.5) == "fps <= 0")
        #expect(try lowered("status == 2") == "status == 2", "equality has no direction")
        #expect(try lowered("status == 2", threshold: 3) == "status == 3")
        #expect(try lowered("cpu_usage > 90%", threshold: 70) == "cpu_usage > 70%")
        #expect(try lowered("cpu_usage > 90%", factor: 1) == "cpu_usage > 90%")
        #expect(try lowered("plugin_isolation_breach_detected") == "plugin_isolation_breach_detected")
    }

    @Test func hostileFactorsLeaveTheRuleAsItIs() throws {
        for f in [0, -1, 2, .nan, .infinity] as [Double] {
            #expect(try lowered("cpu_usage > 90%", factor: f) == "cpu_usage > 90%")
        }
        #expect(try lowered("cpu_usage > 90%", threshold: .nan) == "cpu_usage > 72%")
        let huge = try RuleParser.parse("latency_ms < 99999999999")
        #expect(RuleLowering.lowered(huge, factor: 1e-300) == huge, "an overflowing move keeps the rule's own threshold")
    }

    @Test func theScopeIsTheGroupLabelsAndThePluginAndItPrintsAndParsesBack() throws {
        let rule = Rule(id: "r", expression: try RuleParser.parse("cpu_usage{env=\"prod\"} > 90%"))
        let labels = ["host": "web \"1\"", "user": "bob", "source": "plugin:system-metrics", "env": "prod"]
        let scope = RuleLowering.scope(of: rule, labels: labels)
        #expect(scope == ["host": "web \"1\"", "source": "plugin:system-metrics"])
        let scoped = RuleLowering.scoped(try RuleParser.parse("cpu_usage{env=\"prod\"} > 90%"), to: labels)
        #expect(try RuleParser.parse(scoped.description) == scoped)
        #expect(!scoped.description.contains("env=\"prod\", env"), "a key the rule already fixes is not repeated")
        let perSeries = Rule(id: "s", expression: try RuleParser.parse("x > 1"), groupBy: .series)
        #expect(RuleLowering.scope(of: perSeries, labels: labels) == labels)
        let byUser = Rule(id: "u", expression: try RuleParser.parse("x > 1"), groupBy: .labels(["user"]))
        #expect(RuleLowering.scope(of: byUser, labels: labels) == ["user": "bob", "source": "plugin:system-metrics"])
    }

    @Test func anyLabelValuePrintsAndParsesBack() throws {
        for value in ["/\u{0}\"\\", "a\nb\tc", "é🙂", "", "{x=\"y\"}", String(repeating: "z", count: 300)] {
            let scoped = RuleLowering.scoped(try RuleParser.parse("cpu_usage > 90% for 5 minutes"), to: ["host": value, "source": "plugin:\(value)"])
            #expect(try RuleParser.parse(scoped.description) == scoped, "\(value.debugDescription): \(scoped.description)")
        }
    }
}
