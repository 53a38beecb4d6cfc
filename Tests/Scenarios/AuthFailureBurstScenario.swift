import Foundation
import Testing
import VigilCore
import VigilTestSupport

extension EndToEnd {
/// Scenario 4, auth-failure-burst: 21 `authentication_failures` signals inside a minute → a
/// security incident, and the security lead role joins.
@Suite(.serialized, .enabled(if: isRoot, "runs the real vigild with sandboxed plugins (root; CI runs as root)"))
struct AuthFailureBurstScenario {
    @Test func authFailureBurst() throws {
        let world = try ScenarioWorld("auth-failure-burst", plugins: [.probe, .webhook])
        try world.startDaemon()
        #expect(try world.eventually(20, "the probe to run") { try world.plugin("host-probe")["state"]?.stringValue == "running" })
        try world.signal("authentication_failures", labels: ["service": "sshd"], repeat: 20)
        world.say("20 failures in a minute is the threshold itself: nothing may open yet")
        // The twenty are on the bus and counted once the probe's events reach the daemon.
        #expect(try world.eventually(10, "the 20 signals to be read") {
            (try world.plugin("host-probe")["events_received"]?.doubleValue ?? 0) >= 20
        })
        usleep(500_000)  // let the consumer evaluate them; asserting absence needs a moment
        #expect(try world.incident(fingerprint: "security_events.authentication_failures") == nil)
        try world.signal("authentication_failures", labels: ["service": "sshd"])

        var found: JSONValue?
        #expect(try world.eventually(20, "the authentication incident") {
            found = try world.incident(fingerprint: "security_events.authentication_failures")
            return found != nil
        })
        let id = try #require(found?["id"]?.stringValue)
        let incident = try world.incident(id)
        try world.vigil(["incidents", "show", id])
        #expect(incident["type"]?.stringValue == "Authentication failure")
        #expect(incident["severity_name"]?.stringValue == "Critical")
        #expect(incident["containment_category"]?.stringValue == "security_breach")
        let security = incident["roles"]?["security_engineer"]?.stringValue
        #expect(security == "carol", "the roster's security rotation staffs the security engineer")
        let timeline = incident["timeline"]?.arrayValue ?? []
        #expect(timeline.contains { $0["message"]?.stringValue?.contains("Security Engineer") == true })
        #expect(try world.eventually(10, "carol to be paged") {
            world.deliveries().contains { d in
                d["body"]?["incident"]?["id"]?.stringValue == id
                    && d["body"]?["incident"]?["recipients"]?.arrayValue?.contains(.string("carol@example.org")) == true
            }
        })
    }
}
}
