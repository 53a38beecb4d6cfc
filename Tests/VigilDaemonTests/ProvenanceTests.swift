import Foundation
import Synchronization
import Testing
import VigilCore
import VigilStore
@testable import VigilDaemon

/// Containment acts on plugins the daemon itself found at fault, never on a plugin some other
/// plugin's words name (issue 16, provenance).
@Suite struct ContainmentSubjectTests {
    let incident = Incident(id: "INC-2026-0001", title: "breach", severity: Severity(code: "P1", rank: 1),
                            source: "rule:security_events.plugin_isolation_breach_detected",
                            detectedAt: Timestamp(nanoseconds: 0), labels: ["plugin": "attacker", "syscall": "ptrace"])

    func evidence(kind: String, source: String, _ content: String) -> EvidenceRecord {
        EvidenceRecord(incidentID: incident.id, time: Timestamp(nanoseconds: 0), source: source, kind: kind, content: content)
    }

    @Test func theSubjectsAreTheDaemonsSignalsNotAPluginsResult() {
        let loaded: Set<String> = ["attacker", "webhook", "system-metrics", "scale-hook"]
        let records = [
            // What the breach rule's series said: the daemon's own label.
            evidence(kind: "signals", source: "rule:security_events.plugin_isolation_breach_detected",
                     #"{"count":2,"series":[{"plugin":"attacker","syscall":"ptrace"},{"plugin":"system-metrics"}]}"#),
            // An action plugin's result evidence naming another plugin: not the daemon's word.
            evidence(kind: "containment", source: "action:isolate_affected_plugins:plugin:scale-hook",
                     #"{"plugin":"webhook","detail":{"plugin":"webhook"}}"#),
            // A signal-looking row that did not come from a rule.
            evidence(kind: "signal", source: "plugin:attacker", #"{"series":[{"plugin":"webhook"}]}"#),
        ]
        #expect(BuiltInActions.affectedPlugins(incident, evidence: records, loaded: loaded) == ["attacker", "system-metrics"])
    }
}

/// The daemon's own incidents correlate: one cause, one incident (issue 16, point 9).
@Suite struct SelfIncidentCorrelationTests {
    func signal(_ rule: String, _ expression: String, plugin: String, severity: String? = nil,
                extra: [String: String] = [:], at time: Timestamp, value: Double = 1) -> RuleSignal {
        let labels = extra.merging(["plugin": plugin]) { a, _ in a }
        return RuleSignal(transition: .firing, ruleID: rule, expression: expression, section: nil, labels: labels,
                          fingerprint: rule + "{" + labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
                              .joined(separator: ",") + "}",
                          value: value, firstHeldAt: time, at: time, severity: severity)
    }

    @Test func aBreachAndTheFailuresItCausesAreOneIncident() async throws {
        let clock = ManualClock(monday)
        let store = try Store(path: try temporaryDatabasePath())
        let service = IncidentService(store: store, policy: try shippedPolicy(), clock: clock, logger: quietLogger)
        await service.ingest([signal("security_events.plugin_isolation_breach_detected", "plugin_isolation_breach_detected",
                                     plugin: "attacker", severity: "Critical", extra: ["syscall": "ptrace"], at: monday)])
        clock.set(monday + .seconds(5))
        await service.ingest([
            signal("application_health.plugin_failure_rate", "plugin_failure_rate > 10% in 5 minutes", plugin: "attacker",
                   at: monday + .seconds(5), value: 50),
            signal("vigil.critical_plugin_quarantined", "plugin_quarantined", plugin: "attacker", severity: "Critical",
                   extra: ["cause": "breach"], at: monday + .seconds(5)),
        ])
        let open = try await store.openIncidents()
        #expect(open.count == 1)
        let incident = try #require(open.first)
        #expect(incident.labels["plugin"] == "attacker")
        #expect(incident.occurrences == 3)
        let timeline = try await store.timeline(incidentID: incident.id)
        #expect(timeline.contains { $0.actor == "rule:application_health.plugin_failure_rate" })
        // Another plugin's trouble is another incident.
        await service.ingest([signal("application_health.plugin_failure_rate", "plugin_failure_rate > 10% in 5 minutes",
                                     plugin: "bystander", at: monday + .seconds(6), value: 50)])
        #expect(try await store.openIncidents().count == 2)
    }
}

/// Deadlines cut work off: the caller is answered at the deadline even when the work does not
/// stop (issue 16, from the code review).
@Suite struct DeadlineTests {
    @Test(.timeLimit(.minutes(1))) func anActionThatIgnoresCancellationIsAnsweredAtItsDeadline() async {
        let finished = Mutex(false)
        let outcome = await ResponseEngine.withDeadline(.milliseconds(100)) {
            // Blocking work that never looks at cancellation, like a copy on a dispatch queue.
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                DispatchQueue.global().asyncAfter(deadline: .now() + 20) { c.resume() }
            }
            finished.withLock { $0 = true }
            return ActionOutcome(ok: true, detail: "done")
        }
        #expect(!outcome.ok)
        #expect(outcome.detail.contains("missed its deadline"))
        #expect(finished.withLock { $0 } == false)
    }

    @Test func anActionThatFinishesInTimeKeepsItsOutcome() async {
        let outcome = await ResponseEngine.withDeadline(.seconds(30)) { ActionOutcome(ok: true, detail: "done") }
        #expect(outcome.ok && outcome.detail == "done")
    }
}
