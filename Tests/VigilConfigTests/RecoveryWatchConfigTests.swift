import Foundation
import Testing
import VigilConfig
import VigilCore

/// `incidents.recovery_watch`: how long resolved rule incidents are watched, and how low.
@Suite struct RecoveryWatchConfigTests {
    static let shipped = """
          recovery_watch:
            duration: 24 hours
            factor: 0.8
        """

    @Test func theShippedWatchIsADayAtFourFifths() throws {
        let watch = try ConfigLoader.load(path: defaultConfigPath).policy.handling.recoveryWatch
        #expect(watch == RecoveryWatchPolicy(enabled: true, duration: .seconds(24 * 3600), factor: 0.8, thresholds: [:]))
    }

    @Test func perRuleThresholdsAndSwitchingOff() throws {
        let text = try defaultConfigText().replacingOccurrences(of: Self.shipped, with: """
              recovery_watch:
                enabled: false
                duration: 72 hours
                factor: 0.9
                thresholds:
                  system_health.cpu_usage: 75
                  system_health.memory_usage: 80.5
            """)
        let watch = try ConfigLoader.load(path: try writeConfig(text)).policy.handling.recoveryWatch
        #expect(watch == RecoveryWatchPolicy(enabled: false, duration: .seconds(72 * 3600), factor: 0.9,
                                             thresholds: ["system_health.cpu_usage": 75, "system_health.memory_usage": 80.5]))
        // A rule id that is not loaded is named, not ignored.
        let typo = text.replacingOccurrences(of: "system_health.memory_usage: 80.5", with: "system_health.cpu_usgae: 80")
        #expect(try errors(of: typo).contains { $0.description.contains("system_health.cpu_usgae") && $0.description.contains("loaded rule") })
    }

    @Test func badValuesAreNamedWhereTheyAre() throws {
        let text = try defaultConfigText().replacingOccurrences(of: Self.shipped, with: """
              recovery_watch:
                duration: 90 days
                factor: 1.5
                colour: blue
                thresholds:
                  system_health.cpu_usage: lots
                  web_latency: .inf
            """)
        let errs = try errors(of: text).map(\.description)
        #expect(errs.count == 5, "\(errs)")
        func has(_ needle: String, _ message: String) throws {
            let pos = try #require(position(of: needle, in: text))
            #expect(errs.contains { $0.contains("vigil.yaml:\(pos.line):") && $0.contains(message) }, "\(needle): \(errs)")
        }
        try has("90 days", "at most 30 days")
        try has("1.5", "above 0 and at most 1")
        try has("colour", "colour")
        try has("lots", "a finite number")
        try has(".inf", "a finite number")
        let short = try defaultConfigText().replacingOccurrences(of: Self.shipped, with: """
              recovery_watch:
                duration: 5 seconds
            """)
        #expect(try errors(of: short).contains { $0.description.contains("at least 1 minute") })
    }
}
