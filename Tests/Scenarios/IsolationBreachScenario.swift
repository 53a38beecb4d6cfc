import Foundation
import Testing
import VigilCore
import VigilTestSupport

extension EndToEnd {
/// Scenario 3, isolation-breach: a plugin attempts a forbidden syscall → denied, quarantined, a
/// Critical incident with the syscall in its evidence, containment category `security_breach`
/// recorded, notifications sent within the plugin issue's latency target.
@Suite(.serialized, .enabled(if: isRoot && FileManager.default.isExecutableFile(atPath: "/usr/bin/cc"),
                             "runs the real vigild with sandboxed plugins (root and cc; CI has both)"))
struct IsolationBreachScenario {
    @Test func isolationBreach() throws {
        // The breaching plugin waits 2 s after its hello, so the webhook notifier is up when it strikes.
        let world = try ScenarioWorld("isolation-breach", plugins: [
            .webhook, .probe, .hostile(name: "sneaky-detector", attempt: "tcp-socket", delayMilliseconds: 2000),
        ])
        try breach(in: world)
    }

    func breach(in world: ScenarioWorld) throws {
        try world.startDaemon()
        world.say("sneaky-detector says hello, then calls socket(AF_INET) without declaring any network")
        #expect(try world.eventually(20, "the quarantine") {
            try world.plugin("sneaky-detector")["state"]?.stringValue == "quarantined"
        })
        try world.vigil(["plugins", "show", "sneaky-detector"])
        let plugin = try world.plugin("sneaky-detector")
        #expect(plugin["cause"]?.stringValue?.contains("socket") == true)
        #expect(plugin["breaches"]?.doubleValue == 1)
        // The plugin's own report of the refused call ("tcp-socket blocked errno=1") races the quarantine's
        // kill and may never be read; what must hold is that the call never succeeded.
        #expect(!world.log.contains("tcp-socket ESCAPED"))

        var found: JSONValue?
        #expect(try world.eventually(20, "the breach incident") {
            found = try world.incident(fingerprint: "security_events.plugin_isolation_breach_detected")
            return found != nil
        })
        let id = try #require(found?["id"]?.stringValue)
        let incident = try world.incident(id)
        #expect(incident["severity"]?.stringValue == "P1")
        #expect(incident["severity_name"]?.stringValue == "Critical")
        #expect(incident["containment_category"]?.stringValue == "security_breach")
        #expect(incident["labels"]?["syscall"]?.stringValue == "socket")
        #expect(incident["labels"]?["plugin"]?.stringValue == "sneaky-detector")
        #expect(incident["roles"]?["security_engineer"] != nil)
        try world.vigil(["incidents", "show", id])

        // Detection time = the instant the breach watcher held the syscall.
        let detected = try #require(incident["detected_at"]?.stringValue.flatMap(RFC3339.parse))
        let created = try #require(incident["created_at"]?.stringValue.flatMap(RFC3339.parse))
        world.say("breach → incident stored: \(Int((created - detected).inSeconds * 1000)) ms")
        #expect(created - detected < .milliseconds(50))
        #expect(try world.eventually(10, "the page") {
            world.deliveries().contains { $0["body"]?["incident"]?["id"]?.stringValue == id }
        })
        let first = world.deliveries().compactMap { d -> Double? in
            d["body"]?["incident"]?["id"]?.stringValue == id ? d["received_at"]?.doubleValue : nil
        }.min() ?? 0
        let latency = first - detected.seconds
        world.say(String(format: "breach → first notification received by the webhook: %.0f ms", latency * 1000))
        #expect(latency < 0.5)
    }
}
}
