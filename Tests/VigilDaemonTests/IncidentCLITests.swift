import Foundation
import VigilTestSupport
import Testing
import VigilCore
import VigilDaemon

/// `vigil incidents …` and `vigil oncall` against a real `vigild` over its control socket.
@Suite(.serialized) struct IncidentCLITests {
    func json(_ text: String) throws -> JSONValue { try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) }

    @Test func anIncidentsRunbookIsShownAndTickedOffStepByStep() throws {
        let d = try DaemonProcess()
        defer { d.stop() }
        let list = try vigil(["runbooks", "list"], stateDirectory: d.stateDirectory)
        #expect(list.status == 0 && list.out.contains("data-corruption") && list.out.contains("websocket-outage"), "\(list.err)")
        let declared = try vigil(["incidents", "declare", "--title", "Orders table corrupted", "--type", "Data corruption",
                                  "--json"], stateDirectory: d.stateDirectory)
        let id = try #require(try json(declared.out)["id"]?.stringValue)
        let step = try vigil(["runbooks", "step", id, "2", "--note", "backup taken at 10:02", "--as", "alice"],
                             stateDirectory: d.stateDirectory)
        #expect(step.status == 0, "\(step.err)")
        #expect(step.out.contains("\(id): 1 of 7 steps done, next: step 1"))
        let shown = try json(try vigil(["runbooks", "show", "--incident", id, "--json"], stateDirectory: d.stateDirectory).out)
        #expect(shown["name"]?.stringValue == "data-corruption")
        let second = shown["steps"]?.arrayValue?[1]
        #expect(second?["text"]?.stringValue == "backup_current_state" && second?["done"]?.boolValue == true)
        #expect(second?["by"]?.stringValue?.hasPrefix("alice via ") == true && second?["note"]?.stringValue == "backup taken at 10:02")
        let timeline = try vigil(["incidents", "timeline", id], stateDirectory: d.stateDirectory)
        #expect(timeline.out.contains("Runbook data-corruption step 2/7 done: action backup_current_state — backup taken at 10:02"))
        let wrong = try vigil(["runbooks", "step", id, "8"], stateDirectory: d.stateDirectory)
        #expect(wrong.status != 0 && wrong.err.contains("has steps 1 to 7, not 8"))
    }

    @Test func showPrintsRationaleRolesSLAAndTimelineAndJSONHasTheSame() throws {
        let d = try DaemonProcess()
        defer { d.stop() }
        let declared = try vigil(["incidents", "declare", "--title", "Checkout returns 502", "--scope", "all",
                                  "--service-impact", "complete outage", "--component", "api", "--json"],
                                 stateDirectory: d.stateDirectory)
        #expect(declared.status == 0, "\(declared.err)")
        let id = try #require(try json(declared.out)["id"]?.stringValue)

        let text = try vigil(["incidents", "show", id], stateDirectory: d.stateDirectory)
        #expect(text.status == 0, "\(text.err)")
        for section in ["CLASSIFICATION RATIONALE", "ROLES", "TIMELINE", "NOTIFICATIONS", "response SLA", "escalation"] {
            #expect(text.out.contains(section), "missing \(section) in:\n\(text.out)")
        }
        #expect(text.out.contains("Service impact \"complete outage\" → P1 (Critical)."))
        #expect(text.out.contains("Incident Commander"))
        #expect(text.out.contains("running ("))

        let shown = try json(try vigil(["incidents", "show", id, "--json"], stateDirectory: d.stateDirectory).out)
        #expect(shown["severity"]?.stringValue == "P1")
        #expect(shown["classification"]?["rationale"]?.arrayValue?.contains(.string("Service impact \"complete outage\" → P1 (Critical).")) == true)
        #expect(shown["roles"]?["incident_commander"]?.stringValue != nil)
        #expect(shown["sla"]?["state"]?.stringValue == "running")
        #expect(shown["sla"]?["response_time"]?.stringValue == "15 minutes")
        #expect(shown["escalation"]?["upcoming"]?.arrayValue?.count == 3)
        #expect(shown["escalation"]?["path"]?.stringValue == "Team Lead -> Engineering Manager -> CTO")
        let kinds = shown["timeline"]?.arrayValue?.compactMap { $0["kind"]?.stringValue } ?? []
        #expect(kinds.prefix(2) == ["declared", "classified"])
        #expect(kinds.contains("status-page"))
        // This daemon loads no notifier: each page is listed, and failed (nothing delivers it).
        let notes = shown["notifications"]?.arrayValue ?? []
        #expect(!notes.isEmpty && notes.allSatisfy { ["pending", "failed"].contains($0["state"]?.stringValue ?? "") }, "\(notes)")

        // The status page in the state folder shows it.
        let page = try JSONDecoder().decode(JSONValue.self, from: Data(contentsOf: URL(fileURLWithPath: d.stateDirectory + "/status-page.json")))
        #expect(page["overall"]?.stringValue == "major_outage")
        #expect(page["incidents"]?.arrayValue?.first?["id"]?.stringValue == id)
    }

    @Test func workAnIncidentFromTheCommandLine() throws {
        let d = try DaemonProcess()
        defer { d.stop() }
        let state = d.stateDirectory
        let declared = try vigil(["incidents", "declare", "--title", "Plugin crash loop", "--severity", "P2",
                                  "--component", "plugin system", "--json"], stateDirectory: state)
        let id = try #require(try json(declared.out)["id"]?.stringValue)
        // The daemon runs on the real clock, so who is on call depends on the week: hand over to someone else.
        let commander = try json(declared.out)["roles"]?["incident_commander"]?.stringValue
        let others: [String] = ["alice", "bob", "dave"].filter { $0 != commander }
        let successor = try #require(others.first)

        let ack = try vigil(["incidents", "ack", id, "--as", "alice", "--note", "looking"], stateDirectory: state)
        #expect(ack.status == 0, "\(ack.err)")
        #expect(ack.out.contains("response SLA met"))
        let again = try vigil(["incidents", "ack", id], stateDirectory: state)
        #expect(again.status == 1 && again.err.contains("was already acknowledged"))

        let illegal = try vigil(["incidents", "transition", id, "investigating", "--reason", "skip"], stateDirectory: state)
        #expect(illegal.status == 1)
        #expect(illegal.err.contains("cannot go from mobilised to investigating; allowed from mobilised: containing"))

        for (state2, reason) in [("containing", "quarantine the plugin"), ("contained", "plugin stopped"),
                                 ("investigating", "reading its logs"), ("remediating", "pin old version"),
                                 ("recovering", "restart"), ("validating", "watch it")] {
            let r = try vigil(["incidents", "transition", id, state2, "--reason", reason], stateDirectory: state)
            #expect(r.status == 0, "\(state2): \(r.err)")
        }
        #expect(try vigil(["incidents", "comment", id, "Pinned 1.2.3", "--status-update"], stateDirectory: state).status == 0)
        let handover: [String] = ["incidents", "assign", id, "--role", "incident_commander", "--person", successor,
                                  "--reason", "shift change"]
        let assigned = try vigil(handover, stateDirectory: state)
        #expect(assigned.status == 0, "\(assigned.err)")
        #expect(try vigil(["incidents", "escalate", id, "--reason", "needs a decision"], stateDirectory: state).status == 0)
        let resolved = try vigil(["incidents", "resolve", id, "--verification", "no crash for 30 minutes",
                                  "--summary", "pinned the previous version", "--follow-up", "add a plugin canary"],
                                 stateDirectory: state)
        #expect(resolved.status == 0, "\(resolved.err)")
        #expect(resolved.out.contains("post-mortem due"))
        let reopened = try vigil(["incidents", "reopen", id, "--reason", "crashed again"], stateDirectory: state)
        #expect(reopened.out.contains("reopened: investigating"))

        let timeline = try vigil(["incidents", "timeline", id], stateDirectory: state)
        for kind in ["acknowledged", "transition", "status-update", "assigned", "escalated", "resolved", "post-mortem",
                     "follow-up", "reopened"] {
            #expect(timeline.out.contains("  \(kind)  ") || timeline.out.contains("  \(kind) "), "no \(kind) in\n\(timeline.out)")
        }
        #expect(timeline.out.contains("alice via "))
        let items = try json(try vigil(["incidents", "show", id, "--json"], stateDirectory: state).out)["action_items"]?
            .arrayValue?.compactMap { $0["kind"]?.stringValue }
        #expect(items == ["post-mortem", "follow-up"])
    }

    @Test func onCallAnswersForAComponentAtATime() throws {
        let d = try DaemonProcess()
        defer { d.stop() }
        let r = try vigil(["oncall", "--component", "plugin system", "--at", "2026-03-02T10:00:00Z"], stateDirectory: d.stateDirectory)
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("on call at 2026-03-02T10:00:00.000Z for plugin system"))
        let view = try json(try vigil(["oncall", "--at", "2026-03-02T10:00:00Z", "--json"], stateDirectory: d.stateDirectory).out)
        let engineer = view["shifts"]?.arrayValue?.first { $0["role"]?.stringValue == "on_call_engineer" }
        #expect(engineer?["person"]?.stringValue == "dave")
        #expect(engineer?["until"]?.stringValue == "2026-03-09T09:00:00.000Z")
        let bad = try vigil(["oncall", "--at", "tomorrowish"], stateDirectory: d.stateDirectory)
        #expect(bad.status == 1 && bad.err.contains("expected now, an RFC 3339 time"))
    }
}
