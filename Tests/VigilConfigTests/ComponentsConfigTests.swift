import Foundation
import Testing
import VigilConfig
import VigilCore

/// `components:` (the dependency map root-cause help ranks with) and
/// `incidents.post_mortem.cause_lookback|cause_limit`.
@Suite struct ComponentsConfigTests {
    /// The shipped file with its `components:` section replaced by `section`.
    static func withComponents(_ section: String) throws -> String {
        let shipped = try defaultConfigText()
        guard let start = shipped.range(of: "\ncomponents:\n"),
              let end = shipped.range(of: "\n\n", range: start.upperBound..<shipped.endIndex) else { return shipped }
        return String(shipped[..<start.lowerBound]) + "\n" + section + String(shipped[end.lowerBound...])
    }

    @Test func theShippedMapAndDefaultsLoad() throws {
        let policy = try ConfigLoader.load(path: defaultConfigPath).policy
        #expect(policy.components.dependsOn["api"] == ["database", "cache", "authentication"])
        #expect(policy.components.dependsOn["cache"] == [])
        #expect(policy.components.lookback == .seconds(24 * 3600) && policy.components.limit == 10)
        #expect(policy.components.relation(of: "storage", to: ["api"]) == .dependency(path: ["api", "database", "storage"]))
    }

    @Test func cyclesAreAllowedAndEmptyValuesMeanNoDependencies() throws {
        let config = try ConfigLoader.load(path: writeConfig(try Self.withComponents("""
            components:
              cache:
                depends_on: [database]
              database:
                depends_on: [cache]
              queue:
            """)))
        #expect(config.policy.components.dependsOn == ["cache": ["database"], "database": ["cache"], "queue": []])
        #expect(config.policy.components.relation(of: "database", to: ["cache"]) == .dependency(path: ["cache", "database"]))
    }

    @Test func lookbackAndLimitAreReadAndBounded() throws {
        let shipped = try defaultConfigText()
        let edited = shipped.replacingOccurrences(of: "cause_lookback: 24 hours", with: "cause_lookback: 6 hours")
            .replacingOccurrences(of: "cause_limit: 10", with: "cause_limit: 3")
        let policy = try ConfigLoader.load(path: writeConfig(edited)).policy
        #expect(policy.components.lookback == .seconds(6 * 3600) && policy.components.limit == 3)
        let bad = shipped.replacingOccurrences(of: "cause_lookback: 24 hours", with: "cause_lookback: 90 days")
            .replacingOccurrences(of: "cause_limit: 10", with: "cause_limit: 500")
        let errs = try errors(of: bad)
        #expect(errs.contains { $0.message.contains("\"cause_lookback\" must be between 1 minute and 30 days") && $0.location.line == position(of: "90 days", in: bad)?.line })
        #expect(errs.contains { $0.message.contains("\"cause_limit\" must be a whole number from 1 to 50") })
    }

    @Test func errorsNameTheFileAndLine() throws {
        let text = try Self.withComponents("""
            components:
              api:
                depends_on: [database, databse, api]
                owner: team-a
              database: {}
              "bad|name": {}
              queue: [x]
            """)
        let errs = try errors(of: text)
        func line(_ needle: String) -> Int? { position(of: needle, in: text)?.line }
        #expect(errs.contains { $0.message.contains("\"depends_on\" must be a component declared under components: (")
            && $0.message.contains("found \"databse\"") && $0.location.line == line("databse") && $0.location.file.hasSuffix(".yaml") })
        #expect(errs.contains { $0.message.contains("api cannot depend on itself") && $0.location.line == line("databse") })
        #expect(errs.contains { $0.message.hasPrefix("unknown key \"owner\"") && $0.location.line == line("owner: team-a") })
        #expect(errs.contains { $0.message.contains("a component name") && $0.location.line == line("bad|name") })
        #expect(errs.contains { $0.message.contains("\"components.queue\" must be a mapping") && $0.location.line == line("queue: [x]") })
    }
}
