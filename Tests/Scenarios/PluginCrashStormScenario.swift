import Foundation
import Testing
import VigilCore
import VigilTestSupport

extension EndToEnd {
/// Scenario 2, plugin-crash-storm: a detector that crashes again and again is restarted with
/// backoff, `plugin_failure_rate > 10% in 5 minutes` fires with an incident naming the plugin, and
/// the plugin ends quarantined when it keeps failing. One cause, one incident: the quarantine is
/// recorded in the failure-rate incident (an occurrence of rule `vigil.plugin_quarantined`), not
/// opened as a second incident about the same plugin.
@Suite(.serialized, .enabled(if: isRoot, "runs the real vigild with sandboxed plugins (root; CI runs as root)"))
struct PluginCrashStormScenario {
    @Test func pluginCrashStorm() throws {
        let world = try ScenarioWorld("plugin-crash-storm", plugins: [.behave(name: "flaky-detector", mode: "crash"), .webhook]) { text in
            // Backoff from 300 ms instead of 1 s, so the storm fits in seconds; the thresholds are the defaults'.
            text = text.replacingOccurrences(of: "plugins:\n", with: """
                plugins:
                  supervision: { initial_backoff: 300ms, maximum_backoff: 2 seconds, failure_rate_interval: 1 second }

                """)
        }
        try world.startDaemon()
        world.say("flaky-detector says hello, then exits with status 3, every time it is started")

        var rateIncident: JSONValue?
        #expect(try world.eventually(40, "the failure-rate incident") {
            rateIncident = try world.incident(fingerprint: "application_health.plugin_failure_rate")
            return rateIncident != nil
        })
        #expect(rateIncident?["fingerprint"]?.stringValue?.contains("plugin=\"flaky-detector\"") == true)
        #expect(rateIncident?["labels"]?["plugin"]?.stringValue == "flaky-detector")
        try world.vigil(["incidents", "list"])

        #expect(try world.eventually(40, "the quarantine") {
            try world.plugin("flaky-detector")["state"]?.stringValue == "quarantined"
        })
        let plugin = try world.plugin("flaky-detector")
        try world.vigil(["plugins", "show", "flaky-detector"])
        #expect((plugin["restarts"]?.doubleValue ?? 0) >= 4)
        #expect((plugin["failures_by_cause"]?["exit"]?.doubleValue ?? 0) >= 5)
        #expect(plugin["cause_category"]?.stringValue == "crash_loop")
        // Backoff: the restarts were spread out, not immediate.
        let log = world.log
        #expect(log.components(separatedBy: "plugin=flaky-detector [VigilPluginHost] plugin started").count - 1 >= 5)

        let rateID = try #require(rateIncident?["id"]?.stringValue)
        #expect(try world.eventually(20, "the quarantine in the failure-rate incident") {
            let timeline = try world.incident(rateID)["timeline"]?.arrayValue ?? []
            return timeline.contains { $0["actor"]?.stringValue == "rule:vigil.plugin_quarantined" }
        })
        #expect(try world.incident(fingerprint: "vigil.plugin_quarantined") == nil, "no second incident for the same cause")
        world.say("the quarantine joined \(rateID) as an occurrence: one cause, one incident")
        try world.vigil(["incidents", "show", rateID])
    }
}
}
