import Foundation
import Testing
import VigilCore
import VigilTestSupport

extension EndToEnd {
/// Scenario 7, crash-recovery: `kill -9` of vigild during scenario 1 → restart → the incident,
/// its SLA clock and its pending notifications continue; no duplicate incident opens.
@Suite(.serialized, .enabled(if: isRoot, "runs the real vigild with sandboxed plugins (root; CI runs as root)"))
struct CrashRecoveryScenario {
    @Test func crashRecovery() throws {
        let world = try ScenarioWorld("crash-recovery", plugins: [.probe, .webhook])
        try world.startDaemon()
        try world.receiverDown(true)
        try world.setMetrics(["cpu_usage": (97, "%")])
        var found: JSONValue?
        #expect(try world.eventually(30, "the cpu incident") {
            found = try world.incident(fingerprint: "system_health.cpu_usage")
            return found != nil
        })
        let id = try #require(found?["id"]?.stringValue)
        let before = try world.incident(id)
        let deadline = before["sla"]?["deadline"]?.stringValue
        #expect(try world.eventually(20, "a failed delivery attempt") {
            (try world.incident(id)["notifications"]?.arrayValue ?? []).contains { ($0["attempts"]?.doubleValue ?? 0) >= 1 }
        })
        let pending = (try world.incident(id)["notifications"]?.arrayValue ?? []).filter { $0["state"]?.stringValue == "pending" }
        world.say("\(pending.count) notification(s) pending, the receiver is down")
        #expect(!pending.isEmpty)

        world.killDaemon()
        try world.receiverDown(false)
        try world.restartDaemon()
        let after = try world.incident(id)
        try world.vigil(["incidents", "list"])
        #expect(after["sla"]?["deadline"]?.stringValue == deadline, "the SLA clock continues from the stored time")
        #expect(after["state"]?.stringValue == before["state"]?.stringValue)

        #expect(try world.eventually(30, "the pending notifications to be delivered") {
            (try world.incident(id)["notifications"]?.arrayValue ?? []).allSatisfy { $0["state"]?.stringValue == "sent" }
        })
        #expect(world.deliveries().contains { $0["body"]?["incident"]?["id"]?.stringValue == id })

        // The CPU is still high: the restarted rule engine fires again, and the signal joins the
        // same incident instead of opening another.
        #expect(try world.eventually(30, "the rule to fire again into the same incident") {
            (try world.incident(id)["occurrences"]?.doubleValue ?? 0) >= 2
        })
        let cpu = try world.incidents().filter { $0["fingerprint"]?.stringValue?.hasPrefix("system_health.cpu_usage") == true }
        #expect(cpu.count == 1, "no duplicate incident")
        try world.vigil(["incidents", "show", id])
    }
}
}
