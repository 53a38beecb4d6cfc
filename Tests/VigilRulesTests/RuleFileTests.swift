import Foundation
import Testing
import VigilConfig
import VigilCore
import VigilRules

@Suite struct RuleFileTests {
    func temporaryFile(_ text: String, name: String = "rules.yaml") throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-rules-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func theExtendedFormCarriesEverythingTheIncidentNeeds() throws {
        let text = """
            rules:
              - id: web_cpu_high
                rule: cpu_usage{env!="dev"} > 80% for 10 minutes
                match: { role: web }
                group_by: [host]
                keep_firing_for: 5 minutes
                incident_type: High CPU utilization
                severity: P2 - High
                containment: system_overload
                description: A web host has been above 80% CPU for 10 minutes
                runbook: performance-degradation
            """
        let policy = try ConfigLoader.load(path: repositoryRoot + "/Config/vigil.yaml").policy
        let set = try RuleFileLoader.load(text: text, file: "ops.yaml", policy: policy)
        let r = try #require(set.rules.first)
        #expect(r.id == "web_cpu_high" && r.groupBy == .labels(["host"]))
        #expect(r.expression.description == "cpu_usage{env!=\"dev\", role=\"web\"} > 80% for 10 minutes keep_firing_for 5 minutes")
        #expect(r.location == SourceLocation(file: "ops.yaml", line: 3, column: 11))

        var h = Harness(set)
        h.series("cpu_usage", 85, unit: "%", labels: ["host": "w1", "role": "web", "cpu": "3"], from: .zero,
                 to: .seconds(600), every: .seconds(30))
        h.series("cpu_usage", 85, unit: "%", labels: ["host": "d1", "role": "db"], from: .zero, to: .seconds(600), every: .seconds(30))
        let s = try #require(h.signals.first)
        #expect(h.signals.count == 1)
        #expect(s.ruleID == "web_cpu_high" && s.fingerprint == "web_cpu_high{host=\"w1\"}" && s.at == h.time(.seconds(600)))
        #expect(s.incidentType == "High CPU utilization" && s.severity == "P2 - High" && s.containmentCategory == "system_overload")
        #expect(s.description == "A web host has been above 80% CPU for 10 minutes" && s.runbook == "performance-degradation")
    }

    @Test func anOperatorFileAnnotatesSeedRulesByIdWithoutTouchingThem() throws {
        let annotations = try temporaryFile("""
            annotations:
              system_health.cpu_usage:
                incident_type: High CPU utilization
                containment: system_overload
                group_by: []
            """)
        let set = try RuleFileLoader.load(paths: [seedRulesPath, annotations])
        let cpu = try #require(set.rule(id: "system_health.cpu_usage"))
        #expect(cpu.incidentType == "High CPU utilization" && cpu.containmentCategory == "system_overload")
        #expect(cpu.groupBy == .labels([]) && cpu.expression.description == "cpu_usage > 90% for 5 minutes")
        #expect(set.rules.count == 12)
    }

    @Test func theDefaultConfigurationLoadsTheSeedRulesWithTheirMeaning() throws {
        let c = try ConfigLoader.load(path: repositoryRoot + "/Config/vigil.yaml")
        #expect(Array(c.rules.rules.map(\.id).prefix(12)) == SeedRulesTests.ids)
        #expect(c.rules.consistently == .seconds(300) && c.rules.staleAfter == .seconds(300))
        let cpu = try #require(c.rules.rule(id: "system_health.cpu_usage"))
        #expect(cpu.incidentType == "High CPU utilization" && cpu.containmentCategory == "system_overload")
        let breach = try #require(c.rules.rule(id: "security_events.plugin_isolation_breach_detected"))
        #expect(breach.severity == "Critical" && breach.containmentCategory == "security_breach")
        let auth = try #require(c.rules.rule(id: "security_events.authentication_failures"))
        #expect(auth.incidentType == "Authentication failure" && auth.containmentCategory == "security_breach")
    }

    @Test func aQuarantineOpensItsOwnIncidentUnlessABreachAlreadyDid() throws {
        let c = try ConfigLoader.load(path: repositoryRoot + "/Config/vigil.yaml")
        var h = Harness(c.rules)
        h.signal("plugin_quarantined", labels: ["plugin": "flaky", "cause": "crash_loop", "critical": "false"], at: .seconds(1))
        h.signal("plugin_quarantined", labels: ["plugin": "sneaky", "cause": "breach", "critical": "false"], at: .seconds(2))
        h.signal("plugin_quarantined", labels: ["plugin": "metrics", "cause": "breach", "critical": "true"], at: .seconds(3))
        let fired = h.signals.filter { $0.transition == .firing }.map { "\($0.ruleID) \($0.labels["plugin"] ?? "")" }
        // The breaching non-critical plugin has the seed's breach incident; a critical plugin's loss is one of its own.
        #expect(fired == ["vigil.plugin_quarantined flaky", "vigil.critical_plugin_quarantined metrics"])
    }

    @Test func terseIDsAreStableAndNeverCollide() throws {
        let set = try RuleFileLoader.load(text: """
            incident_detection:
              - cpu_usage > 90% for 5 minutes
              - cpu_usage > 99%
              - terminal_renderer fps < 10 for 30 seconds
            rules:
              - rule: cpu_usage > 50%
                section: capacity
            """, file: "r.yaml")
        #expect(set.rules.map(\.id) == ["cpu_usage", "cpu_usage.2", "terminal_renderer_fps", "capacity.cpu_usage"])
    }

    @Test func configurationDurationsReachTheRules() throws {
        let dir = (try temporaryFile("", name: "x")) as NSString
        let base = dir.deletingLastPathComponent
        for f in ["detection-rules.yaml", "operator-rules.yaml", "containment-rules.yaml", "runbooks"] {
            try FileManager.default.copyItem(atPath: repositoryRoot + "/Config/" + f, toPath: base + "/" + f)
        }
        let config = try String(contentsOfFile: repositoryRoot + "/Config/vigil.yaml", encoding: .utf8)
            .replacingOccurrences(of: "  consistently: 5 minutes", with: "  consistently: 2 minutes")
            .replacingOccurrences(of: "  stale_after: 5 minutes", with: "  stale_after: 90 seconds")
        try config.write(toFile: base + "/vigil.yaml", atomically: true, encoding: .utf8)
        let c = try ConfigLoader.load(path: base + "/vigil.yaml")
        #expect(c.rules.consistently == .seconds(120) && c.rules.staleAfter == .seconds(90))

        // A bad rule makes the whole configuration invalid, located in its own file.
        try "incident_detection:\n  s:\n    - cpu_usage >> 3\n".write(toFile: base + "/operator-rules.yaml", atomically: true,
                                                                       encoding: .utf8)
        do {
            _ = try ConfigLoader.load(path: base + "/vigil.yaml")
            Issue.record("a bad rule must be refused")
        } catch {
            #expect(error.errors.map(\.description) == [
                base + "/operator-rules.yaml:3:18: expected a threshold number like 90 after `>`, found `>`",
            ])
        }
    }
}
