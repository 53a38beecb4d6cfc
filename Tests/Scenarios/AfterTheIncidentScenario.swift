import Foundation
import Testing
import VigilCore
import VigilTestSupport

extension EndToEnd {
/// Scenario 8, after-the-incident (issue 20's acceptance): a rule opens an incident; it is
/// acknowledged, contained and resolved; the recovery watch (seed 004 Phase 4) catches the
/// condition coming back at its lowered threshold — under the rule's own — and reopens the same
/// incident; resolved again, its post-mortem draft holds the real timeline and figures, is
/// edited, submitted and approved by another person, and the incident closes; its action items
/// are tracked to verified. All through a real `vigild` with the file-fed detector in its
/// sandbox, driven with `vigil` as responders would.
@Suite(.serialized, .enabled(if: isRoot, "runs the real vigild with sandboxed plugins (root; CI runs as root)"))
struct AfterTheIncidentScenario {
    @Test func afterTheIncident() throws {
        let world = try ScenarioWorld("after-the-incident", plugins: [.probe, .webhook])
        try world.startDaemon()
        try world.setMetrics(["cpu_usage": (95, "%")])
        var found: JSONValue?
        #expect(try world.eventually(30, "the cpu incident") {
            found = try world.incident(fingerprint: "system_health.cpu_usage")
            return found != nil
        })
        let id = try #require(found?["id"]?.stringValue)
        let commander = try #require(try world.incident(id)["roles"]?["incident_commander"]?.stringValue)

        // Acknowledged and contained by the responder.
        #expect(try world.vigil(["incidents", "ack", id, "--as", commander]).status == 0)
        #expect(try world.eventually(20, "automated containment to start") {
            try world.incident(id)["state"]?.stringValue == "containing"
        })
        #expect(try world.vigil(["incidents", "transition", id, "contained", "--reason",
                                 "circuit breakers on, throughput reduced", "--as", commander]).status == 0)

        // The condition clears, the incident moves to validating, the commander resolves it.
        try world.setMetrics(["cpu_usage": (20, "%")])
        #expect(try world.eventually(30, "validating after the condition cleared") {
            try world.incident(id)["state"]?.stringValue == "validating"
        })
        #expect(try world.vigil(["incidents", "resolve", id, "--verification", "cpu at 20% for a while",
                                 "--summary", "the runaway batch job was stopped", "--as", commander]).status == 0)
        let watchStart = try #require(try world.incident(id)["timeline"]?.arrayValue?.first {
            $0["kind"]?.stringValue == "recovery-watch"
        })
        world.say("recovery watch: \(watchStart["message"]?.stringValue ?? "?")")
        #expect(watchStart["message"]?.stringValue?.contains("> 72% for 3 seconds") == true)

        world.say("cpu_usage at 80%: under the rule's 90%, over the watch's 72% (incidents.recovery_watch.factor 0.8)")
        // 80% is below the rule's 90% — the rule alone would see nothing — but above the watch's 72%.
        try world.setMetrics(["cpu_usage": (80, "%")])
        #expect(try world.eventually(30, "the recovery watch to reopen the incident") {
            try world.incident(id)["state"]?.stringValue == "investigating"
        })
        let reopened = try world.incident(id)["timeline"]?.arrayValue ?? []
        #expect(reopened.contains { $0["kind"]?.stringValue == "recovery-watch"
            && $0["message"]?.stringValue?.hasPrefix("Recovery watch caught a recurrence") == true })
        #expect(try world.incidents().filter { $0["source"]?.stringValue == "rule:system_health.cpu_usage" }.count == 1,
                "the same incident reopened, no new one from zero")
        #expect(try world.eventually(20, "the reopening page") {
            world.deliveries().contains { $0["body"]?["title"]?.stringValue?.contains("recurrence during recovery watch") == true }
        })

        world.say("the incident was reopened by the watch; the webhook got the page")
        // Fixed for good this time.
        try world.setMetrics(["cpu_usage": (15, "%")])
        #expect(try world.eventually(30, "validating again") { try world.incident(id)["state"]?.stringValue == "validating" })
        #expect(try world.vigil(["incidents", "resolve", id, "--verification", "cpu at 15% under the watch",
                                 "--summary", "the batch job's schedule moved off peak", "--as", commander]).status == 0)

        // The post-mortem: Vigil's draft from the records, edited, reviewed, approved by someone else.
        #expect(try world.vigil(["postmortem", "edit", id, "--section", "went_well=Paged within seconds; containment ran itself.",
                                 "--section", "lessons=Batch jobs need a CPU quota.", "--note", "first pass",
                                 "--as", commander]).status == 0)
        let draft = try world.json(["postmortem", "show", id])
        let text = (draft["sections"]?.arrayValue ?? []).compactMap { $0["text"]?.stringValue }.joined(separator: "\n")
        let timeline = try world.incident(id)["timeline"]?.arrayValue ?? []
        let ack = try #require(timeline.first { $0["kind"]?.stringValue == "acknowledged" }?["time"]?.stringValue)
        #expect(text.contains(ack), "the draft's timeline holds the real acknowledgement time \(ack)")
        #expect(text.contains("Recovery watch caught a recurrence"), "the recurrence is in the draft's timeline")
        #expect(text.contains("Time to acknowledge"))
        #expect(text.contains("Batch jobs need a CPU quota."))
        #expect(try world.vigil(["postmortem", "submit", id, "--as", commander]).status == 0)
        let reviewer = commander == "alice" ? "bob" : "alice"
        #expect(try world.vigil(["postmortem", "approve", id, "--as", reviewer]).status == 0)
        #expect(try world.vigil(["incidents", "transition", id, "post-mortem", "--reason", "review held",
                                 "--as", commander]).status == 0)
        #expect(try world.vigil(["incidents", "transition", id, "closed", "--reason", "post-mortem approved",
                                 "--as", commander]).status == 0)
        #expect(try world.incident(id)["state"]?.stringValue == "closed")
        try world.vigil(["postmortem", "show", id])

        // Its action item, tracked to verified.
        let item = try world.json(["action-items", "add", id, "--title", "Put batch jobs under a CPU quota",
                                   "--owner", commander, "--due", "in 14 days", "--category", "prevent",
                                   "--success-criteria", "no batch job above 50% of a core", "--as", commander])
        let number = try #require(item["id"]?.doubleValue.map { Int($0) })
        for state in ["in-progress", "done", "verified"] {
            #expect(try world.vigil(["action-items", "update", "\(number)", "--state", state,
                                     "--note", "moved to \(state)", "--as", commander]).status == 0)
        }
        let items = try world.json(["action-items", "list", "--incident", id]).arrayValue ?? []
        #expect(items.first { $0["id"]?.doubleValue == Double(number) }?["state"]?.stringValue == "verified")
        try world.vigil(["incidents", "timeline", id])
    }
}
}
