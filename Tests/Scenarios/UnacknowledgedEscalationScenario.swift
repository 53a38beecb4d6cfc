import Foundation
import Testing
import VigilCore
import VigilTestSupport

extension EndToEnd {
/// Scenario 6, unacknowledged-escalation: a Critical incident nobody acknowledges escalates
/// along the escalation path, each level notified through the webhook notifier.
@Suite(.serialized, .enabled(if: isRoot, "runs the real vigild with sandboxed plugins (root; CI runs as root)"))
struct UnacknowledgedEscalationScenario {
    @Test func unacknowledgedEscalation() throws {
        let world = try ScenarioWorld("unacknowledged-escalation", plugins: [.probe, .webhook]) { text in
            // Critical: acknowledge within 3 seconds, then one level every 3 seconds (15 minutes each in the seed).
            text = text.replacingOccurrences(of: "response_time: 15 minutes", with: "response_time: 3 seconds")
            text = text.replacingOccurrences(of: "    Critical: 15 minutes", with: "    Critical: 3 seconds")
        }
        try world.startDaemon()
        #expect(try world.eventually(20, "the probe to run") { try world.plugin("host-probe")["state"]?.stringValue == "running" })
        try world.signal("configuration_tampering_detected", labels: ["path": "/etc/vigil/vigil.yaml"])
        var found: JSONValue?
        #expect(try world.eventually(20, "the tampering incident") {
            found = try world.incident(fingerprint: "security_events.configuration_tampering_detected")
            return found != nil
        })
        let id = try #require(found?["id"]?.stringValue)
        #expect(found?["severity_name"]?.stringValue == "Critical")
        world.say("\(id) is Critical; nobody acknowledges it")
        #expect(try world.eventually(40, "three escalation levels") {
            try world.incident(id)["escalation_level"]?.doubleValue == 3
        })
        try world.vigil(["incidents", "show", id])
        let incident = try world.incident(id)
        #expect(incident["sla"]?["state"]?.stringValue == "breached")
        let escalations = (incident["timeline"]?.arrayValue ?? []).filter { $0["kind"]?.stringValue == "escalated" }
        #expect(escalations.count >= 3)
        // Team lead → engineering manager → CTO, each paged through the webhook.
        let roster = ["team lead": "alice@example.org", "engineering manager": "erin@example.org", "CTO": "frank@example.org"]
        let leads = ["alice@example.org", "dave@example.org"]
        for (level, address) in roster {
            let expected = level == "team lead" ? leads : [address]
            #expect(try world.eventually(20, "the \(level) to be paged") {
                world.deliveries().contains { d in
                    d["body"]?["incident"]?["id"]?.stringValue == id
                        && (d["body"]?["incident"]?["recipients"]?.arrayValue ?? []).contains { expected.contains($0.stringValue ?? "") }
                }
            }, "\(level) paged")
        }
        for d in world.deliveries() where d["body"]?["incident"]?["id"]?.stringValue == id {
            world.say("webhook: \(d["body"]?["title"]?.stringValue ?? "")")
        }
    }
}
}
