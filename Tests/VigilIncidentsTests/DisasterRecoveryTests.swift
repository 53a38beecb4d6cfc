import Testing
import VigilCore
import VigilIncidents

/// Seed 000's `assess_disaster_recovery_need`, plan selection and the RTO/RPO clocks, pure:
/// values in, values out, on the shipped criteria (tier-1: RTO 1 hour, RPO 5 minutes, P2 or worse).
@Suite struct DisasterRecoveryTests {
    static func incident(_ w: IncidentWorkflow, severity: String = "P1", components: [String] = ["storage"],
                         type: String? = nil) throws -> Incident {
        try declare(w, ClassificationInput(title: "Store unreadable", severity: severity, incidentType: type, components: components)).incident
    }

    @Test func aTierOneP1PastItsRTOIsAYesWithEveryReason() throws {
        let (w, clock) = workflow(try shippedPolicy())
        let i = try Self.incident(w)
        clock.advance(by: minutes(70))
        let a = try w.recoveryAssessor.assess(i, input: .init(dataLoss: minutes(12)), actor: "alice", at: clock.now())
        #expect(a.recommend && a.tier == "tier-1" && a.rto == .seconds(3600) && a.rpo == .seconds(300))
        #expect(a.severityMeetsThreshold && a.rtoAtRisk && a.rpoAtRisk && a.restorationNeeded)
        #expect(a.elapsed == minutes(70) && a.dataLoss == minutes(12) && a.dataLossSource == "given")
        #expect(a.reasons.contains("Severity P1 meets the tier-1 threshold (P2 or worse triggers disaster recovery)"))
        #expect(a.reasons.contains("Tier tier-1: component storage is tier-1"))
        #expect(a.reasons.contains("RTO already breached: down 1h 10m 00s against an RTO of 1 hour"))
        #expect(a.reasons.contains("Estimated data loss 12m 00s (given) is beyond the RPO of 5 minutes"))
        #expect(a.plans.first == "failover-service")
        #expect(a.reasons.last?.hasPrefix("Recommendation: YES") == true)
    }

    @Test func theEstimateProjectsTheRecoveryAgainstTheRTO() throws {
        let (w, clock) = workflow(try shippedPolicy())
        let i = try Self.incident(w)
        clock.advance(by: minutes(20))
        let within = try w.recoveryAssessor.assess(i, input: .init(estimate: minutes(30), dataLoss: .zero), actor: "a", at: clock.now())
        #expect(!within.recommend && !within.rtoAtRisk)
        #expect(within.reasons.contains { $0.contains("20m 00s down + 30 minutes estimated = 50m 00s, within the RTO of 1 hour") })
        #expect(within.reasons.last?.hasPrefix("Recommendation: NO — standard incident response") == true)
        let beyond = try w.recoveryAssessor.assess(i, input: .init(estimate: minutes(45)), actor: "a", at: clock.now())
        #expect(beyond.recommend && beyond.rtoAtRisk && beyond.failoverNeeded)
        #expect(beyond.reasons.contains { $0.hasPrefix("Data loss unknown") })
    }

    @Test func belowTheThresholdIsANoWhateverTheClocks() throws {
        let (w, clock) = workflow(try shippedPolicy())
        // api is tier-2, where only P1 triggers disaster recovery.
        let i = try Self.incident(w, severity: "P2", components: ["api"])
        clock.advance(by: .seconds(5 * 3600))
        let a = try w.recoveryAssessor.assess(i, input: .init(), actor: "a", at: clock.now())
        #expect(!a.recommend && !a.severityMeetsThreshold && a.tier == "tier-2" && a.rtoAtRisk)
        #expect(a.reasons.contains("Severity P2 is below the tier-2 threshold (P1 or worse triggers disaster recovery)"))
        #expect(a.reasons.last == "Recommendation: NO — below the severity threshold for disaster recovery")
    }

    @Test func theRecoveryPointGivesTheDataLossAndImpossibleOnesAreRefused() throws {
        let (w, clock) = workflow(try shippedPolicy())
        let i = try Self.incident(w, type: "Data corruption")
        clock.advance(by: minutes(10))
        let a = try w.recoveryAssessor.assess(i, input: .init(recoveryPoint: i.detectedAt - minutes(3)), actor: "a", at: clock.now())
        #expect(a.dataLoss == minutes(3) && !a.rpoAtRisk && a.dataLossSource == "recovery point \((i.detectedAt - minutes(3)).rfc3339)")
        // The most specific plan wins: type and component beat tier alone.
        #expect(a.plans == ["restore-vigil-state", "failover-service"])
        #expect(throws: WorkflowError.self) {
            try w.recoveryAssessor.assess(i, input: .init(recoveryPoint: clock.now() + minutes(1)), actor: "a", at: clock.now())
        }
        #expect(throws: WorkflowError.self) {
            try w.recoveryAssessor.assess(i, input: .init(recoveryPoint: i.detectedAt + minutes(1)), actor: "a", at: clock.now())
        }
        #expect(throws: WorkflowError.self) {
            try w.recoveryAssessor.assess(i, input: .init(dataLoss: minutes(1), recoveryPoint: i.detectedAt), actor: "a", at: clock.now())
        }
    }

    @Test func aPlanIsWalkedInOrderAndTheClocksNoticeOnce() throws {
        let (w, clock) = workflow(try shippedPolicy())
        var i = try Self.incident(w)
        i.roles = ["incident_commander": "alice"]
        let (run0, started) = try w.startRecovery(i, planName: nil, dataLoss: nil, actor: "alice", at: clock.now())
        #expect(run0.plan == "failover-service" && run0.selection == "best match: matches tier tier-1")
        #expect(started.notifications.contains { $0.purpose == .disasterRecovery && $0.people == ["alice"] })
        // Step 2 before step 1 is refused; an action step is not done before its action succeeded.
        #expect(throws: WorkflowError.self) {
            try w.markRecoveryStep(i, run: run0, step: 2, mark: .done, note: nil, actionSucceeded: nil, actor: "a", at: clock.now())
        }
        clock.advance(by: minutes(4))
        let (run1, _) = try w.markRecoveryStep(i, run: run0, step: 1, mark: .done, note: "standby green", actionSucceeded: nil,
                                              actor: "bob", at: clock.now())
        #expect(run1.steps[0].took == minutes(4) && run1.steps[0].by == "bob" && run1.currentStep == 2)
        #expect(throws: WorkflowError.self) {
            try w.markRecoveryStep(i, run: run1, step: 2, mark: .done, note: nil, actionSucceeded: false, actor: "a", at: clock.now())
        }
        #expect(throws: WorkflowError.self) {
            try w.markRecoveryStep(i, run: run1, step: 2, mark: .skip, note: " ", actionSucceeded: nil, actor: "a", at: clock.now())
        }
        // 46 minutes after detection: the warning (15 minutes before the RTO) is due, once.
        clock.advance(by: minutes(42))
        #expect(w.dueRecoveryNotice(run1, at: clock.now()) == .rtoWarning)
        let (warned, warning) = w.recoveryNotice(i, run: run1, .rtoWarning, timeline: [], at: clock.now())
        #expect(warning.notifications.count == 1 && w.dueRecoveryNotice(warned, at: clock.now()) == nil)
        clock.advance(by: minutes(15))
        #expect(w.dueRecoveryNotice(warned, at: clock.now()) == .rtoBreached)
        let (breached, escalation) = w.recoveryNotice(i, run: warned, .rtoBreached, timeline: [], at: clock.now())
        #expect(escalation.incident.escalationLevel == i.escalationLevel + 1)
        #expect(escalation.timeline.contains { $0.kind == .escalated })
        #expect(w.dueRecoveryNotice(breached, at: clock.now() + minutes(60)) == nil)
        #expect(throws: WorkflowError.self) {
            try w.completeRecovery(i, run: breached, verification: "ok", actor: "a", at: clock.now())
        }
    }

    @Test func aTierLabelMayRaiseTheTierButNeverLowerIt() throws {
        let (w, _) = workflow(try shippedPolicy())
        var storage = try Self.incident(w)
        storage.labels["tier"] = "tier-3"
        #expect(w.recoveryAssessor.tier(of: storage)?.tier.name == "tier-1", "an outside label cannot lower storage's tier")
        var unknown = try Self.incident(w, components: ["nothing-mapped"])
        unknown.labels["tier"] = "tier-1"
        #expect(w.recoveryAssessor.tier(of: unknown)?.tier.name == "tier-1")
        #expect(w.recoveryAssessor.tier(of: unknown)?.why == "its tier label says tier-1")
    }
}
