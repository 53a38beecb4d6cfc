import Foundation
import Testing
import VigilCore
import VigilTestSupport

extension EndToEnd {
/// Scenario 1, cpu-saturation: a detector reports `cpu_usage` above 90% for the rule's duration →
/// a High incident of type "High CPU utilization", classified with rationale, commander from the
/// roster, the webhook notifier receives it, status updates scheduled; the condition clears → the
/// incident moves on as configured, and the timeline shows every step.
@Suite(.serialized, .enabled(if: isRoot, "runs the real vigild with sandboxed plugins (root; CI runs as root)"))
struct CPUSaturationScenario {
    @Test func cpuSaturation() throws {
        let world = try ScenarioWorld("cpu-saturation", plugins: [.probe, .webhook], edit: Self.configuration)
        try world.startDaemon()
        try world.vigil(["plugins", "list"])
        try world.setMetrics(["cpu_usage": (95, "%")])
        world.say("cpu_usage must hold above 90% for the rule's duration (shortened to 3 seconds) before anything opens")

        var found: JSONValue?
        #expect(try world.eventually(30, "the cpu incident") {
            found = try world.incident(fingerprint: "system_health.cpu_usage")
            return found != nil
        })
        let id = try #require(found?["id"]?.stringValue)
        let incident = try world.incident(id)
        try world.vigil(["incidents", "list"])
        #expect(incident["type"]?.stringValue == "High CPU utilization")
        #expect(incident["severity_name"]?.stringValue == "High")
        #expect(incident["source"]?.stringValue == "rule:system_health.cpu_usage")
        #expect((incident["classification"]?["rationale"]?.arrayValue?.count ?? 0) >= 2)
        #expect(incident["roles"]?["incident_commander"]?.stringValue?.isEmpty == false)
        #expect(incident["status_updates"]?["next_due"]?.stringValue != nil)
        #expect(incident["containment_category"]?.stringValue == "system_overload")
        // The rule's first sample is the detection time; the incident opened after the 3-second hold.
        let detected = try #require(incident["detected_at"]?.stringValue.flatMap(RFC3339.parse))
        let created = try #require(incident["created_at"]?.stringValue.flatMap(RFC3339.parse))
        #expect(created - detected >= .seconds(3))

        #expect(try world.eventually(20, "the webhook to receive the page") {
            world.deliveries().contains { $0["body"]?["incident"]?["id"]?.stringValue == id }
        })
        let page = world.deliveries().first { $0["body"]?["incident"]?["id"]?.stringValue == id }
        world.say("the webhook receiver got: \(page?["body"]?["title"]?.stringValue ?? "?")")

        // Automated containment (containment.start: automatic): the system_overload actions, in order;
        // disabling plugins is destructive and waits for a person.
        #expect(try world.eventually(20, "the containment actions") {
            let actions = try world.json(["actions", "list", "--incident", id]).arrayValue ?? []
            return actions.compactMap { $0["action"]?.stringValue } == [
                "implement_circuit_breakers", "reduce_eventbus_throughput", "disable_non_critical_plugins",
                "scale_resources_if_available"]
                && actions.compactMap { $0["state"]?.stringValue } == ["succeeded", "succeeded", "awaiting-approval", "unavailable"]
        })
        try world.vigil(["actions", "list", "--incident", id])
        #expect(try world.incident(id)["state"]?.stringValue == "containing")

        try world.setMetrics(["cpu_usage": (20, "%")])
        #expect(try world.eventually(30, "the condition to clear") {
            try world.incident(id)["condition_cleared_at"]?.stringValue != nil
        })
        world.say("the condition must stay clear for 2 seconds (incidents.when_condition_clears, 5 minutes by default)")
        #expect(try world.eventually(20, "the incident to move to validating") {
            try world.incident(id)["state"]?.stringValue == "validating"
        })
        try world.vigil(["incidents", "show", id])
        let timeline = try world.incident(id)["timeline"]?.arrayValue ?? []
        let kinds = Set(timeline.compactMap { $0["kind"]?.stringValue })
        #expect(kinds.isSuperset(of: ["detected", "classified", "assigned", "notification", "transition"]))
        #expect(timeline.contains { $0["message"]?.stringValue?.contains("Condition cleared") == true })
        #expect(timeline.contains { $0["message"]?.stringValue?.hasPrefix("mobilised → containing: automated containment (system_overload)") == true })
        #expect(timeline.contains { $0["message"]?.stringValue?.hasPrefix("containing → validating") == true })

        // The commander confirms restoration; resolution notifies and schedules the post-mortem (P2).
        let resolved = try world.vigil(["incidents", "resolve", id, "--verification", "cpu_usage back at 20% for a while",
                                        "--summary", "the runaway batch job was stopped", "--as", "dave"])
        #expect(resolved.status == 0)
        let final = try world.incident(id)
        #expect(final["state"]?.stringValue == "resolved")
        #expect(final["post_mortem_due"]?.stringValue != nil || (final["timeline"]?.arrayValue ?? []).contains {
            $0["kind"]?.stringValue == "post-mortem"
        })
        #expect(try world.eventually(20, "the restoration announcement") {
            world.deliveries().contains { $0["body"]?["title"]?.stringValue?.contains("resolved") == true }
        })
        try world.vigil(["incidents", "timeline", id])
    }

    /// The default configuration, with the rules' durations shortened by the world.
    static func configuration(_ text: inout String) {}
}
}
