import Foundation
import Testing
import VigilCore
import VigilTestSupport

extension EndToEnd {
/// Scenario 5, bus-flood: a detector floods telemetry → backpressure engages, telemetry is shed
/// and counted, `eventbus_queue_depth > 1000 messages` opens an incident, and the security lane
/// loses nothing during the flood: breaches raised mid-flood are all recorded.
@Suite(.serialized, .enabled(if: isRoot, "runs the real vigild with sandboxed plugins (root; CI runs as root)"))
struct BusFloodScenario {
    @Test func busFlood() throws {
        // The operator watches the flooded metric closely: 300 rules on it, each judging every
        // sample, so the consumer has real work per event and the floods outrun it.
        let rules = "/tmp/vigil-flood-rules-\(UUID().uuidString.prefix(6)).yaml"
        try ("rules:\n" + (1...300).map { i in
            "  - id: flood.watch_\(i)\n    rule: bench_metric > \(100 + i) for 1 hour\n    group_by: [host]\n"
        }.joined()).write(toFile: rules, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: rules) }
        let world = try ScenarioWorld("bus-flood", plugins: [.probe] + (1...3).map { .flood(name: "flood-\($0)", count: 400_000_000, batch: 3000) }) { text in
            // The bus reports its depth every second instead of every 5.
            text = text.replacingOccurrences(of: "self_monitoring_interval: 5 seconds", with: "self_monitoring_interval: 1 second")
            text = text.replacingOccurrences(of: "files: [detection-rules.yaml, ", with: "files: [detection-rules.yaml, \(rules), ")
            // Each plugin connection's telemetry ring holds 1,024 events instead of 8,192, and the
            // floods send 3,000 events to a frame: a frame that does not fit sheds the ring's
            // oldest samples (a ring never waits inside a frame; it pauses the reading between frames).
            text = text.replacingOccurrences(of: "producer_capacity: { security: 1024, incident: 4096, telemetry: 8192 }",
                                             with: "producer_capacity: { security: 1024, incident: 4096, telemetry: 1024 }")
        }
        try world.startDaemon()
        world.say("three flood detectors send bench_metric samples as fast as the daemon takes them; 300 rules judge each one")

        var depthIncident: JSONValue?
        #expect(try world.eventually(40, "the queue-depth incident") {
            depthIncident = try world.incident(fingerprint: "application_health.eventbus_queue_depth")
            return depthIncident != nil
        })
        try world.vigil(["status"])
        let status = try world.json(["status"])
        let telemetry = status["lanes"]?.arrayValue?.first { $0["lane"]?.stringValue == "telemetry" }
        let flood = try world.plugin("flood-1")
        // Held back by backpressure, or already by the incident's own containment: the queue-depth
        // incident is system_overload, whose reduce_eventbus_throughput admits 1 telemetry event in 4.
        let throttled = (status["containment"]?["telemetry_keep_one_in"]?.doubleValue ?? 1) > 1
        #expect(telemetry?["paused"]?.boolValue == true || (telemetry?["stalls"]?.doubleValue ?? 0) > 0 || throttled,
                "backpressure engaged: the flood producers are held back")
        let depthID = try #require(depthIncident?["id"]?.stringValue)
        #expect(try world.eventually(20, "the system_overload containment to throttle telemetry") {
            let actions = try world.json(["actions", "list", "--incident", depthID]).arrayValue ?? []
            let reduce = actions.first { $0["action"]?.stringValue == "reduce_eventbus_throughput" }
            let throttledSoFar = try world.json(["status"])["containment"]?["telemetry_throttled"]?.doubleValue ?? 0
            return reduce?["state"]?.stringValue == "succeeded" && throttledSoFar > 0
        })
        try world.vigil(["actions", "list", "--incident", depthID])
        #expect(try world.eventually(20, "telemetry to be shed") {
            let lanes = try world.json(["status"])["lanes"]?.arrayValue ?? []
            return (lanes.first { $0["lane"]?.stringValue == "telemetry" }?["shed"]?.doubleValue ?? 0) > 0
        })
        #expect(flood["state"]?.stringValue == "running", "a producer held back is not a failing plugin")

        // Mid-flood, 300 breaches arrive on the security lane. The daemon's own signals are refused
        // from plugins, so they come the way only an operator (or the breach watcher) can send them.
        try world.vigil(["emit", "signal", "plugin_isolation_breach_detected", "--label", "plugin=phantom",
                         "--label", "syscall=ptrace", "--count", "300"])
        var breach: JSONValue?
        #expect(try world.eventually(30, "all 300 breaches in one incident") {
            breach = try world.incident(fingerprint: "security_events.plugin_isolation_breach_detected")
            return breach?["occurrences"]?.doubleValue == 300
        })
        world.say("breach incident \(breach?["id"]?.stringValue ?? "?") counts \(Int(breach?["occurrences"]?.doubleValue ?? 0)) occurrences")
        let security = try world.json(["status"])["lanes"]?.arrayValue?.first { $0["lane"]?.stringValue == "security" }
        #expect(security?["shed"]?.doubleValue == 0)
        if let id = depthIncident?["id"]?.stringValue { try world.vigil(["incidents", "show", id]) }
        try world.vigil(["status"])
    }
}
}
