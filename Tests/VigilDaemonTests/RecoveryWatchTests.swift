import Foundation
import Testing
import VigilCore
@testable import VigilDaemon
import VigilIncidents
import VigilRules
import VigilStore
import VigilTestSupport

/// Seed 004 Phase 4 through the daemon's own parts: the rule engine (``Detection``) fed samples,
/// the incident service over a real SQLite file, a manual clock. A rule's incident is resolved;
/// its rule keeps watching that series at a lowered threshold; a recurrence reopens it.
@Suite(.timeLimit(.minutes(2)))
struct RecoveryWatchTests {
    struct Rig {
        let rig: ControlRig
        let symbols = SymbolTable()
        let detection: Detection

        init(rule text: String = "cpu_usage > 90% for 1 minute", policy: RecoveryWatchPolicy? = nil,
             path: String? = nil) async throws {
            rig = try await ControlRig(path: path)
            if let policy {
                var p = await rig.service.policy
                p.handling.recoveryWatch = policy
                await rig.service.replace(policy: p, templates: .builtIn)
            }
            let rules = RuleSet(rules: [Rule(id: "web_cpu", expression: try RuleParser.parse(text), section: "system_health",
                                             incidentType: "High CPU utilization", severity: "P2")])
            let service = rig.service
            detection = Detection(rules: rules, symbols: symbols, clock: rig.clock, logger: quietLogger) { signals in
                await service.ingest(signals)
            }
            let detection = self.detection
            await service.setRecoveryWatchRules(rules)
            await detection.setWatchSink { caught in
                var failed: [String] = []
                for c in caught {
                if await !service.recoveryWatchFired(incidentID: c.incidentID, signal: c.signal) {
                    failed.append(c.incidentID)
                }
                    failed.append(c.incidentID)
                }
                return failed
            }
            await service.setRecoveryWatchListener { active, generation in
                await detection.setRecoveryWatches(active, generation: generation)
            }
            await service.publishRecoveryWatches()
        }

        var clock: ManualClock { rig.clock }
        var store: Store { rig.store }

        /// One cpu sample from `host`, now.
        func cpu(_ value: Double, host: String = "web-1") async {
            let e = Event(kind: .metric, lane: .telemetry, name: symbols.intern("cpu_usage"), value: value,
                          unit: symbols.intern("%"), source: symbols.intern("plugin:system-metrics"),
                          labels: symbols.intern(labels: ["host": host]), time: clock.now())
            await detection.ingest([e])
        }

        /// `value` held for a minute and a second, sampled every 30 s, timers run as the daemon does.
        func hold(_ value: Double, host: String = "web-1") async {
            for _ in 0..<3 {
                await cpu(value, host: host)
                _ = await detection.tick()
                clock.advance(by: .seconds(30))
            }
            clock.advance(by: .seconds(1))
            await cpu(value, host: host)
            _ = await detection.tick()
        }

        func incidents() async throws -> [Incident] { try await store.incidents() }

        func timeline(_ id: String) async throws -> [TimelineEntry] { try await store.timeline(incidentID: id) }

        /// Opens the incident from samples, clears the condition and resolves it.
        func openAndResolve() async throws -> String {
            await hold(95)
            let opened = try #require(try await incidents().first)
            await hold(20)
            try await rig.resolve(opened.id)
            return opened.id
        }
    }

    @Test func aResolvedIncidentIsWatchedAtTheLoweredThresholdAndARecurrenceReopensIt() async throws {
        let r = try await Rig()
        let id = try await r.openAndResolve()
        let watch = try #require(try await r.store.recoveryWatch(incidentID: id))
        #expect(watch.outcome == nil)
        #expect(watch.ruleID == "web_cpu")
        #expect(watch.original == "cpu_usage > 90% for 1 minute")
        #expect(watch.expression.contains("> 72% for 1 minute"), "0.8 of 90% is 72%: \(watch.expression)")
        #expect(watch.expression.contains("host=\"web-1\""), "narrowed to the incident's series: \(watch.expression)")
        #expect(watch.until - watch.startedAt == .seconds(24 * 3600))
        #expect(await r.detection.recoveryWatchCount == 1)
        let started = try await r.timeline(id).filter { $0.kind == .recoveryWatch }
        #expect(started.count == 1 && started.first?.data["watch"] == "started")

        // 80% is under the rule's 90% but over the watch's 72%. Another host does not count.
        await r.hold(80, host: "web-2")
        #expect(try await r.store.incident(id: id)?.state == .resolved)
        #expect(try await r.incidents().count == 1)

        await r.hold(80)
        let reopened = try #require(try await r.store.incident(id: id))
        #expect(reopened.state == .investigating)
        #expect(try await r.incidents().count == 1, "the recurrence reopened the incident, it did not open another")
        let entries = try await r.timeline(id)
        let caught = try #require(entries.first { $0.kind == .recoveryWatch && $0.data["watch"] == "recurred" })
        #expect(caught.message.contains("80%"))
        #expect(entries.contains { $0.kind == .reopened })
        #expect(try await r.store.recoveryWatch(incidentID: id)?.outcome == .recurred)
        #expect(await r.detection.recoveryWatchCount == 1, "the watch follows the recurrence until it clears")
        #expect(try await r.store.incident(id: id)?.conditionClearedAt == nil)

        // 75% is still over the watch's threshold: not cleared. 20% is.
        await r.hold(75)
        #expect(try await r.store.incident(id: id)?.conditionClearedAt == nil)
        await r.hold(20)
        #expect(try await r.store.incident(id: id)?.conditionClearedAt != nil, "the watch's clear is the incident's")
        #expect(try await r.store.recoveryWatch(incidentID: id)?.endedAt != nil)
        #expect(await r.detection.recoveryWatchCount == 0)

        // Resolved again: a new watch.
        try await r.rig.resolve(id)
        #expect(try await r.store.recoveryWatch(incidentID: id)?.outcome == nil)
        #expect(await r.detection.recoveryWatchCount == 1)
    }

    @Test func theWatchEndsWhenItsTimeIsUpAndTheRuleThenOpensANewIncident() async throws {
        let r = try await Rig(policy: RecoveryWatchPolicy(duration: .seconds(2 * 3600)))
        let id = try await r.openAndResolve()
        r.clock.advance(by: .seconds(2 * 3600))
        await r.rig.service.tick()
        let watch = try #require(try await r.store.recoveryWatch(incidentID: id))
        #expect(watch.outcome == .expired)
        #expect(try await r.timeline(id).contains { $0.kind == .recoveryWatch && $0.data["watch"] == "expired" })
        #expect(await r.detection.recoveryWatchCount == 0)
        await r.hold(80)
        #expect(try await r.store.incident(id: id)?.state == .resolved, "80% no longer counts once the watch is over")
        await r.hold(95)
        #expect(try await r.incidents().count == 2, "past the watch and the reopen window, the rule opens a new incident")
    }

    @Test func perRuleThresholdsReplaceTheFactorAndWatchesSurviveARestart() async throws {
        let path = try temporaryDatabasePath()
        let policy = RecoveryWatchPolicy(factor: 0.5, thresholds: ["web_cpu": 85])
        let id: String
        do {
            let r = try await Rig(policy: policy, path: path)
            id = try await r.openAndResolve()
            #expect(try await r.store.recoveryWatch(incidentID: id)?.expression.contains("> 85%") == true)
        }
        // A new daemon over the same database runs the stored watch.
        let r = try await Rig(policy: policy, path: path)
        #expect(await r.detection.recoveryWatchCount == 1)
        await r.hold(80)
        #expect(try await r.store.incident(id: id)?.state == .resolved, "80% is under the configured 85%")
        await r.hold(87)
        #expect(try await r.store.incident(id: id)?.state == .investigating)
    }

    @Test func falsePositivesAndDeclaredIncidentsAreNotWatched() async throws {
        let r = try await Rig()
        await r.hold(95)
        let id = try #require(try await r.incidents().first?.id)
        _ = try await r.rig.service.dismiss(id, reason: "load test", actor: "bob")
        #expect(try await r.store.recoveryWatch(incidentID: id) == nil)
        #expect(await r.detection.recoveryWatchCount == 0)
    }

    @Test func aPersonReopeningTheIncidentEndsItsWatch() async throws {
        let r = try await Rig()
        let id = try await r.openAndResolve()
        _ = try await r.rig.service.reopen(id, reason: "customers still see errors", actor: "bob")
        await r.rig.service.tick()
        #expect(try await r.store.recoveryWatch(incidentID: id)?.outcome == .ended)
        #expect(await r.detection.recoveryWatchCount == 0)
    }
}
