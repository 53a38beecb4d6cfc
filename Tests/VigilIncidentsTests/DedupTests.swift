import Testing
import VigilCore
import VigilIncidents

@Suite struct DedupTests {
    /// Runs `plan` the way the daemon does, holding one incident.
    struct Harness {
        let w: IncidentWorkflow
        let clock: ManualClock
        var incident: Incident?
        var timeline: [TimelineEntry] = []
        var opened = 0

        mutating func feed(_ signals: [RuleSignal]) {
            let open = incident.flatMap { $0.state.isOpen ? $0 : nil }
            switch w.plan(signals, open: open, latest: open == nil ? incident : nil, history: timeline) {
            case .ignore: break
            case .update(let change): incident = apply(change, to: &timeline)
            case .open(let opening, let rest):
                var change = opening.change(id: "INC-2026-000\(opened + 1)")
                w.absorb(rest[...], into: &change)
                timeline = []
                incident = apply(change, to: &timeline)
                opened += 1
            }
        }
    }

    func harness() throws -> Harness {
        let (w, clock) = workflow(try shippedPolicy())
        return Harness(w: w, clock: clock)
    }

    @Test func matchingFingerprintsJoinOneIncident() throws {
        var h = try harness()
        h.feed([signal(at: monday, value: 93)])
        h.feed((1...4).map { signal(at: monday + minutes($0), value: 90 + Double($0)) })
        #expect(h.opened == 1)
        #expect(h.incident?.occurrences == 5)
        #expect(h.incident?.lastSeenAt == monday + minutes(4))
        #expect(h.incident?.fingerprint == "cpu_high{host=web-1}")
        #expect(h.incident?.source == "rule:cpu_high")
        #expect(h.incident?.detectedAt == monday - minutes(5))
        #expect(h.timeline.filter { $0.kind == .occurrence }.count == 1)
    }

    @Test func aStormAddsOneEntryAndOneEvidenceSummary() throws {
        let (w, _) = workflow(try shippedPolicy())
        let storm = Array(repeating: signal(at: monday), count: 10_000)
        guard case .open(let opening, let rest) = w.plan(storm, open: nil, latest: nil) else {
            Issue.record("expected an opening")
            return
        }
        var change = opening.change(id: "INC-2026-0001")
        w.absorb(rest[...], into: &change)
        #expect(change.incident.occurrences == 10_000)
        #expect(change.timeline.filter { $0.kind == .occurrence }.count == 1)
        #expect(change.evidence.map(\.kind) == ["signal", "signals"])
        #expect(change.evidence.last?.content.contains("\"count\":9999") == true)
    }

    @Test func aClearedConditionDoesNotResolveAndItsReturnIsAFlap() throws {
        var h = try harness()
        h.feed([signal(at: monday)])
        h.feed([signal(.resolved, at: monday + minutes(1))])
        #expect(h.incident?.state == .mobilised)
        #expect(h.incident?.conditionClearedAt == monday + minutes(1))
        h.feed([signal(.resolved, at: monday + minutes(2))])
        #expect(h.timeline.filter { $0.data["condition"] == "cleared" }.count == 1)
        h.feed([signal(at: monday + minutes(3)), signal(.resolved, at: monday + minutes(4)), signal(at: monday + minutes(5))])
        #expect(h.opened == 1)
        #expect(h.incident?.flapCount == 2)
        #expect(h.incident?.conditionClearedAt == nil)
        #expect(h.incident?.occurrences == 3)
    }

    @Test func firingSoonAfterResolutionReopensInsteadOfOpening() throws {
        var h = try harness()
        h.feed([signal(at: monday)])
        var resolved = try #require(h.incident)
        resolved.state = .resolved
        resolved.resolvedAt = monday + minutes(10)
        h.incident = resolved
        h.clock.set(monday + minutes(40))
        h.feed([signal(at: monday + minutes(40))])
        #expect(h.opened == 1)
        #expect(h.incident?.state == .investigating)
        #expect(h.incident?.flapCount == 1)
        #expect(h.timeline.contains { $0.kind == .reopened && $0.message.contains("within the 1 hour reopen window") })
        // Past the window a new incident opens.
        var again = try #require(h.incident)
        again.state = .closed
        again.closedAt = monday + minutes(50)
        h.incident = again
        h.clock.set(monday + minutes(200))
        h.feed([signal(at: monday + minutes(200))])
        #expect(h.opened == 2)
        #expect(h.incident?.id == "INC-2026-0002")
    }

    @Test func aResolvedSignalAloneOpensNothing() throws {
        var h = try harness()
        h.feed([signal(.resolved, at: monday)])
        #expect(h.incident == nil && h.opened == 0)
    }

    @Test func ruleFactsClassifyTheOpenedIncident() throws {
        var h = try harness()
        h.feed([signal(at: monday, incidentType: "High CPU utilization")])
        #expect(h.incident?.severity.code == "P2")
        #expect(h.incident?.type == "High CPU utilization")
        #expect(h.incident?.containmentCategory == "system_overload")
        #expect(h.timeline.first?.kind == .detected)
        #expect(h.timeline.first?.actor == "rule:cpu_high")
    }
}

@Suite struct ResolutionTests {
    @Test func resolutionRecordsVerificationSchedulesPostMortemAndFollowUps() throws {
        let (w, clock) = workflow(try shippedPolicy(ladder: "p0-p3"))
        var incident = try declare(w, ClassificationInput(title: "Data corrupted", incidentType: "Data corruption")).incident
        clock.advance(by: minutes(20))
        incident = try #require(w.tick(incident, timeline: [])).incident
        incident.state = .validating
        clock.advance(by: minutes(40))
        let change = try w.resolve(incident, timeline: [], request: ResolutionRequest(
            verification: "checksums match the backup", summary: "Restored from backup",
            followUps: ["Add write-ahead checksums"]), actor: "dave")
        #expect(change.incident.state == .resolved)
        #expect(change.incident.resolution?.verification == "checksums match the backup")
        #expect(change.incident.resolvedAt == monday + minutes(60))
        #expect(change.incident.postMortemDueAt == monday + minutes(60) + .seconds(48 * 3600))
        #expect(change.followUps.map(\.kind) == ["post-mortem", "follow-up", "follow-up"])
        #expect(change.followUps.contains { $0.title.hasPrefix("Review why INC-2026-0001 was not acknowledged") })
        #expect(change.evidence.first?.kind == "response-metrics")
        #expect(change.evidence.first?.content.contains("\"seconds_to_resolve\":3600") == true)
        #expect(change.incident.nextStatusUpdateAt == nil)
        #expect(change.timeline.contains { $0.kind == .statusPage && $0.data["public_status"] == "Resolved" })
    }

    @Test func resolveNeedsValidationAndDetails() throws {
        let (w, _) = workflow(try shippedPolicy())
        var incident = try declare(w, ClassificationInput(title: "x", severity: "P2")).incident
        #expect(throws: WorkflowError.self) {
            try w.resolve(incident, timeline: [], request: ResolutionRequest(verification: "v", summary: "s"), actor: "d")
        }
        incident.state = .validating
        #expect(throws: WorkflowError.invalidArgument(field: "verification", reason: "say how you verified it is truly resolved")) {
            try w.resolve(incident, timeline: [], request: ResolutionRequest(verification: " ", summary: "s"), actor: "d")
        }
    }
}
