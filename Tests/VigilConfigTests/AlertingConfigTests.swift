import Testing
import VigilConfig
import VigilCore

@Suite struct AlertingConfigTests {
    func load(_ section: String) throws -> VigilConfiguration {
        try ConfigLoader.load(path: writeConfig(try defaultConfigText() + "\n" + section))
    }

    @Test func defaultGroupsByAlertname() throws {
        let config = try ConfigLoader.load(path: defaultConfigPath)
        #expect(config.alerting.root.groupBy == ["alertname"])
        #expect(config.alerting.inhibitRules.isEmpty)
    }

    @Test func readsTheRouteTreeAndInhibitRules() throws {
        let config = try load("""
            alerting:
              group_by: [alertname, cluster]
              severity_map: { sev1: P1 }
              routes:
                - name: database
                  matchers: ['team="db"', 'severity=~"critical|page"']
                  incident_type: Elevated error rates
                  component: postgres
                  severity: High
                  routes:
                    - matchers: ['env!="prod"']
                      group_by: ["..."]
              inhibit_rules:
                - source_matchers: ['severity="critical"']
                  target_matchers: ['severity="warning"']
                  equal: [cluster]
            """)
        let a = config.alerting
        #expect(a.root.groupBy == ["alertname", "cluster"])
        #expect(a.root.severityMap == ["sev1": "P1"])
        let db = try #require(a.root.routes.first)
        #expect(db.name == "database" && db.matchers.map(\.description) == [#"team="db""#, #"severity=~"critical|page""#])
        #expect(db.incidentType == "Elevated error rates" && db.component == "postgres" && db.severity == "High")
        #expect(db.routes.first?.groupBy == ["..."])
        #expect(a.inhibitRules.first?.equal == ["cluster"])
        let m = a.route(["team": "db", "severity": "page", "env": "dev", "alertname": "X"])
        #expect(m.route.name == "database" && m.route.groupBy == ["..."] && m.route.component == "postgres")
    }

    @Test func errorsAreLocated() throws {
        let text = try defaultConfigText() + "\n" + """
            alerting:
              routes:
                - matchers: ['team=~"("']
                  incident_type: No such type
                  severity: P9
                - name: no-matchers
              inhibit_rules:
                - target_matchers: ['a="b"']
                  equal: ["0bad"]
              colour: blue
            """
        let errs = try errors(of: text)
        func line(_ needle: String) -> Int? { position(of: needle, in: text)?.line }
        #expect(errs.contains { $0.message.contains("\"matchers\" must be a matcher like") && $0.location.line == line(#"team=~"(""#) })
        #expect(errs.contains { $0.message.contains("\"incident_type\" must be one of incident_types") && $0.location.line == line("No such type") })
        #expect(errs.contains { $0.message.contains("unknown severity \"P9\"") && $0.location.line == line("severity: P9") })
        #expect(errs.contains { $0.message == "missing required key \"matchers\"" && $0.location.line == line("- name: no-matchers") })
        #expect(errs.contains { $0.message == "missing required key \"source_matchers\"" })
        #expect(errs.contains { $0.message.contains("\"equal\" must be a label name") && $0.location.line == line("0bad") })
        #expect(errs.contains { $0.message.hasPrefix("unknown key \"colour\"") && $0.location.line == line("colour: blue") })
    }
}
