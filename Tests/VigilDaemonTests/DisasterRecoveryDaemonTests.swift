import Foundation
import Testing
import Synchronization
import VigilControl
import VigilCore
@testable import VigilDaemon
import VigilIncidents
import VigilStore
import VigilTestSupport

/// Disaster recovery through the control commands over a real SQLite file and a manual clock:
/// assess, start, walk every step, the RTO clock warning then breaching (escalated once), the
/// report; bad input refused with nothing stored.
@Suite struct DisasterRecoveryDaemonTests {
    static func p1Storage(_ rig: ControlRig) async throws -> String {
        let id = try await rig.service.declare(ClassificationInput(title: "Primary database unreachable", severity: "P1",
                                                                   components: ["storage"]), actor: "bob").id
        // Acknowledged, so the response-time escalation does not move the level under the test.
        _ = try await rig.service.acknowledge(id, actor: "alice", note: nil)
        return id
    }

    @Test func aPlanIsWalkedEndToEndWithTheRTOClock() async throws {
        let rig = try await ControlRig()
        let id = try await Self.p1Storage(rig)
        rig.clock.advance(by: minutes(10))
        let a = try await rig.run("dr.assess", ["id": .string(id), "estimate": .string("2 hours"), "data_loss": .string("3 minutes")])
            .decode(RecoveryAssessmentView.self)
        #expect(a.recommend && a.tier == "tier-1" && a.rtoSeconds == 3600 && a.dataLossSeconds == 180 && !a.rpoAtRisk)
        #expect(a.reasons.contains { $0.contains("10m 00s down + 2 hours estimated = 2h 10m 00s, beyond the RTO of 1 hour") })
        #expect(try await rig.store.recoveryAssessments(incidentID: id).count == 1)
        #expect(try await rig.store.timeline(incidentID: id).last?.message.hasPrefix("Disaster recovery assessed: YES (tier tier-1).") == true)

        let started = try await rig.run("dr.start", ["id": .string(id)]).decode(RecoveryStatusView.self)
        #expect(started.plan == "failover-service" && started.selection == "best match: matches tier tier-1")
        #expect(started.dataLossSeconds == 180 && started.rtoRemainingSeconds == 50 * 60 && started.currentStep == 1)
        #expect(started.steps.count == 5 && started.fitsRTO == true && started.expectedRemainingSeconds == 42 * 60)
        #expect(await rig.refusal("dr.start", ["id": .string(id)])?.description.contains("already has a recovery") == true)

        rig.clock.advance(by: minutes(5))
        var s = try await rig.run("dr.step", ["id": .string(id), "step": .number(1), "mark": .string("done"), "note": .string("standby healthy")])
            .decode(RecoveryStatusView.self)
        #expect(s.steps[0].state == "done" && s.steps[0].tookSeconds == 300 && s.steps[0].by == "alice" && s.currentStep == 2)
        // Step 2 runs an action: not done before its action succeeded; skipping needs a note.
        #expect(await rig.refusal("dr.step", ["id": .string(id), "step": .number(2), "mark": .string("done")])?.description
            .contains("run it first with vigil dr run-step") == true)
        #expect(await rig.refusal("dr.step", ["id": .string(id), "step": .number(3), "mark": .string("done")])?.description
            .contains("comes first: steps are taken in order") == true)
        s = try await rig.run("dr.step", ["id": .string(id), "step": .number(2), "mark": .string("skip"),
                                          "note": .string("snapshot taken by hand an hour ago")]).decode(RecoveryStatusView.self)
        #expect(s.steps[1].state == "skipped" && s.currentStep == 3)

        // 36 minutes after detection: nothing due. At 46 the warning, once; at 60 the breach, escalated once.
        rig.clock.advance(by: minutes(21))
        await rig.service.tick()
        #expect(try await rig.store.recovery(incidentID: id)?.rtoWarnedAt == nil)
        rig.clock.advance(by: minutes(10))
        let level0 = try #require(try await rig.store.incident(id: id)).escalationLevel
        await rig.service.tick()
        await rig.service.tick()
        let warned = try #require(try await rig.store.recovery(incidentID: id))
        #expect(warned.rtoWarnedAt == rig.clock.now() && warned.rtoBreachedAt == nil)
        rig.clock.advance(by: minutes(14))
        await rig.service.tick()
        await rig.service.tick()
        rig.clock.advance(by: minutes(1))
        await rig.service.tick()
        let breached = try #require(try await rig.store.recovery(incidentID: id))
        #expect(breached.rtoBreachedAt != nil)
        let timeline = try await rig.store.timeline(incidentID: id)
        #expect(timeline.count { $0.kind == .disasterRecovery && $0.data["dr"] == "rto-warning" } == 1)
        #expect(timeline.count { $0.kind == .disasterRecovery && $0.data["dr"] == "rto-breached" } == 1)
        #expect(timeline.contains { $0.kind == .escalated && $0.message.contains("disaster recovery RTO breached") })
        let escalatedLevel = try #require(try await rig.store.incident(id: id)).escalationLevel
        #expect(escalatedLevel == level0 + 1)
        let drNotices = try await rig.store.notifications(incidentID: id).filter { $0.purpose == "disaster-recovery" }
        #expect(!drNotices.isEmpty)

        for step in 3...5 {
            rig.clock.advance(by: minutes(3))
            _ = try await rig.run("dr.step", ["id": .string(id), "step": .number(Double(step)), "mark": .string("done")])
        }
        #expect(await rig.refusal("dr.complete", ["id": .string(id)])?.description.contains("verification") == true)
        let done = try await rig.run("dr.complete", ["id": .string(id), "verification": .string("traffic served from the standby, 5xx < 0.1%")])
            .decode(RecoveryStatusView.self)
        let report = try #require(done.report)
        #expect(done.status == "completed" && report.rtoMet == false && report.rtoTargetSeconds == 3600)
        #expect(report.rtoAchievedSeconds == (10 + 5 + 21 + 10 + 14 + 1 + 9) * 60 && report.rpoMet == true)
        #expect(report.text.contains("RTO achieved: 1h 10m 00s (target 1 hour — MISSED)"))
        #expect(report.text.contains("  1. [done] Confirm the primary site is down and the standby is healthy — took 5m 00s (expected 5 minutes), by alice: standby healthy"))
        #expect(report.clockNotices.count == 2)
        #expect(await rig.refusal("dr.complete", ["id": .string(id), "verification": .string("again")])?.description.contains("already completed") == true)
        // After completion the clocks are quiet.
        let drLines = try await rig.store.timeline(incidentID: id).count { $0.kind == .disasterRecovery }
        rig.clock.advance(by: minutes(60))
        await rig.service.tick()
        #expect(try await rig.store.timeline(incidentID: id).count { $0.kind == .disasterRecovery } == drLines)
        let status = try await rig.run("dr.status", ["id": .string(id)]).decode(RecoveryStatusView.self)
        #expect(status.report == report)
    }

    @Test func badInputIsRefusedWithNothingStored() async throws {
        let rig = try await ControlRig()
        let id = try await Self.p1Storage(rig)
        rig.clock.advance(by: minutes(60))
        let before = try await rig.store.timeline(incidentID: id).count
        let cases: [([String: JSONValue], String)] = [
            (["estimate": .string("soon")], "estimate: expected a duration"),
            (["data_loss": .string("5 mins")], "data_loss: expected a duration"),
            (["recovery_point": .string("2026-02-30T10:00:00Z")], "recovery_point: expected an RFC 3339 time"),
            (["recovery_point": .string("2099-01-01T00:00:00Z")], "is in the future"),
            (["recovery_point": .string("2026-03-02T10:30:00Z")], "is after the outage began"),
            // 326 years back would overflow the data-loss arithmetic and read as "within the RPO".
            (["recovery_point": .string("1700-01-01T00:00:00Z")], "recovery_point: at most 366 days ago"),
        ]
        for (args, message) in cases {
            var all = args
            all["id"] = .string(id)
            let refusal = await rig.refusal("dr.assess", all)
            #expect(refusal?.description.contains(message) == true, "\(args): \(refusal?.description ?? "accepted")")
        }
        #expect(await rig.refusal("dr.start", ["id": .string(id), "plan": .string("no-such-plan")])?.description.contains("no plan \"no-such-plan\"") == true)
        #expect(await rig.refusal("dr.step", ["id": .string(id), "step": .number(1), "mark": .string("done")])?.description
            .contains("has no disaster recovery under way") == true)
        #expect(await rig.refusal("dr.status", ["id": .string("INC-2026-9999")])?.kind == .notFound)
        #expect(try await rig.store.recoveryAssessments(incidentID: id).isEmpty)
        #expect(try await rig.store.recovery(incidentID: id) == nil)
        #expect(try await rig.store.timeline(incidentID: id).count == before)
    }

    @Test func twoRequestsOfOneStepAtOnceRunOneAction() async throws {
        let rig = try await ControlRig()
        let id = try await Self.p1Storage(rig)
        _ = try await rig.run("dr.start", ["id": .string(id), "plan": .string("restore-vigil-state")])
        let (gate, open) = AsyncStream<Void>.makeStream()
        let calls = Mutex(0)
        let request = ControlRequest(command: "dr.run-step", args: ["id": .string(id), "step": .number(1)])
        let caller = ControlCaller.http(person: "alice", role: "responder")
        let control = rig.control
        let first = Task {
            try await control.runRecoveryStep(request, user: caller) { _, _, _ in
                calls.withLock { $0 += 1 }
                for await _ in gate { break }
                return (42, "running")
            }
        }
        while calls.withLock({ $0 }) == 0 { await Task.yield() }
        do {
            _ = try await control.runRecoveryStep(request, user: caller) { _, _, _ in
                calls.withLock { $0 += 1 }
                return (43, "running")
            }
            Issue.record("a second request of the same step was accepted while the first was under way")
        } catch {
            #expect(error.description.contains("being requested by someone else"), "\(error)")
        }
        open.yield()
        open.finish()
        _ = try await first.value
        #expect(calls.withLock { $0 } == 1, "one action requested")
        let run = try #require(try await rig.store.recovery(incidentID: id))
        #expect(run.steps[0].actionID == 42)
    }
}
