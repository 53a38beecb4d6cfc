import Testing
import VigilConfig
import VigilCore

/// `disaster_recovery:` — seed 000's criteria (RTO/RPO/severity threshold per tier), the
/// component tiers and the plans; every mistake located at its file:line.
@Suite struct DisasterRecoveryConfigTests {
    /// The shipped configuration without its own `disaster_recovery:` section.
    static func baseText() throws -> String {
        var out: [String] = []
        var skipping = false
        for line in try defaultConfigText().components(separatedBy: "\n") {
            if line.hasPrefix("disaster_recovery:") { skipping = true; continue }
            if skipping, let first = line.first, first != " ", first != "#" { skipping = false }
            if !skipping { out.append(line) }
        }
        return out.joined(separator: "\n")
    }

    @Test func theShippedConfigurationCarriesTheSeedCriteriaAndPlans() throws {
        let dr = try ConfigLoader.load(path: defaultConfigPath).policy.disasterRecovery
        #expect(dr.tiers.map(\.name) == ["tier-1", "tier-2", "tier-3"])
        #expect(dr.tier(named: "tier-1") == RecoveryTier(name: "tier-1", rto: .seconds(3600), rpo: .seconds(300), severityThreshold: "P2"))
        #expect(dr.tier(named: "tier-3")?.rto == .seconds(86_400))
        #expect(dr.components["storage"] == "tier-1" && dr.components["terminal interface"] == "tier-3")
        #expect(dr.defaultTier == "tier-3" && dr.warnBefore == .seconds(900))
        let restore = try #require(dr.plan(named: "restore-vigil-state"))
        #expect(restore.types == ["Data corruption"] && restore.restoresData && restore.steps.count == 5)
        #expect(restore.steps.first == RecoveryPlan.Step(title: "Hold writes so nothing more is lost", action: "stop_write_operations",
                                                          expected: .seconds(120)))
        #expect(dr.plan(named: "failover-service")?.failover == true)
    }

    @Test func noSectionMeansNotConfigured() throws {
        let config = try ConfigLoader.load(path: writeConfig(try Self.baseText()))
        #expect(!config.policy.disasterRecovery.isConfigured && config.policy.disasterRecovery.plans.isEmpty)
    }

    @Test func badInputIsLocatedAndNamed() throws {
        let text = try Self.baseText() + "\n" + """
            disaster_recovery:
              rto:
                gold: 1 hour
                silver: 5 mins
                bronze: 0 seconds
                platinum: 400 days
              rpo:
                gold: 5 minutes
                copper: 1 hour
              severity_thresholds:
                gold: P9
                lead: P1
              components:
                api: diamond
              default_tier: wood
              warn_before: soon
              colour: red
              plans:
                - name: empty-plan
                  steps: []
                - name: bad-steps
                  applies_to: {tiers: [unobtainium], types: [No such type]}
                  steps:
                    - {title: Do it, action: launch_rockets, expected: -5 minutes}
                    - {action: stop_write_operations}
                - name: bad-steps
                  steps: [{title: again}]
                - title: no name
                  steps: [{title: x}]
            """
        let errs = try errors(of: text)
        func line(_ needle: String) -> Int? { position(of: needle, in: text)?.line }
        func has(_ fragment: String, at needle: String) -> Bool {
            errs.contains { $0.message.contains(fragment) && $0.location.line == line(needle) && $0.location.file.hasSuffix("vigil.yaml") }
        }
        #expect(has("expected a duration like", at: "silver: 5 mins"))
        #expect(has("longer than 0 and at most 366 days", at: "bronze: 0 seconds"))
        #expect(has("at most 366 days", at: "platinum: 400 days"))
        #expect(has("a tier that rto names", at: "copper: 1 hour"))
        #expect(has("unknown severity \"P9\"", at: "gold: P9"))
        #expect(has("a tier that rto names", at: "lead: P1"))
        #expect(has("one of the tiers", at: "api: diamond"))
        #expect(has("one of the tiers", at: "default_tier: wood"))
        #expect(has("expected a duration like", at: "warn_before: soon"))
        #expect(has("unknown key \"colour\"", at: "colour: red"))
        #expect(has("a plan with no steps recovers nothing", at: "steps: []"))
        #expect(has("one of the tiers", at: "unobtainium"))
        #expect(has("must be one of incident_types", at: "No such type"))
        #expect(has("a containment action", at: "launch_rockets"))
        #expect(has("expected a duration like", at: "-5 minutes"))
        #expect(has("missing required key \"title\"", at: "{action: stop_write_operations}"))
        #expect(errs.contains { $0.message.contains("a name no other plan has") })
        #expect(has("missing required key \"name\"", at: "- title: no name"))
    }

    @Test func everyTierNeedsAllThreeObjectives() throws {
        let text = try Self.baseText() + "\n" + """
            disaster_recovery:
              rto: {gold: 1 hour, silver: 4 hours}
              rpo: {gold: 5 minutes}
              severity_thresholds: {gold: P2}
              plans: [{name: p, steps: [{title: x}]}]
            """
        let errs = try errors(of: text)
        #expect(errs.contains { $0.message.contains("a tier with an rpo too") && $0.location.line == position(of: "rto: {gold", in: text)?.line })
    }
}
