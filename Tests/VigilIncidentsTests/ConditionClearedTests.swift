import Testing
import VigilCore
import VigilIncidents

/// `incidents.when_condition_clears`: a cleared condition moves its incident on after the hold
/// time, once per clear, decided from stored times only.
@Suite struct ConditionClearedTests {
    struct World {
        let w: IncidentWorkflow
        let clock: ManualClock
        var incident: Incident
        var timeline: [TimelineEntry]

        mutating func feed(_ signals: [RuleSignal]) {
            guard case .update(let change) = w.plan(signals, open: incident, latest: nil, history: timeline) else { return }
            incident = apply(change, to: &timeline)
        }

        /// One clock tick at `time`, as the daemon's incident clock runs it.
        @discardableResult
        mutating func tick(at time: Timestamp) -> Bool {
            clock.set(time)
            guard w.isDue(incident), let change = w.tick(incident, timeline: timeline) else { return false }
            incident = apply(change, to: &timeline)
            return true
        }
    }

    func world(_ moveTo: String, after hold: String = "5 minutes") throws -> World {
        let policy = try shippedPolicy {
            $0.replacingOccurrences(of: "    move_to: validating\n    after: 5 minutes",
                                    with: "    move_to: \(moveTo)\n    after: \(hold)")
        }
        #expect(policy.handling.whenConditionClears.rawValue == moveTo)
        let (w, clock) = workflow(policy)
        guard case .open(let opening, _) = w.plan([signal(at: monday)], open: nil, latest: nil) else {
            throw DaemonlessError("expected an opening")
        }
        var timeline: [TimelineEntry] = []
        let incident = apply(opening.change(id: "INC-2026-0001"), to: &timeline)
        return World(w: w, clock: clock, incident: incident, timeline: timeline)
    }

    struct DaemonlessError: Error { let text: String; init(_ t: String) { text = t } }

    @Test func theShippedDefaultMovesToValidatingAfterFiveMinutes() throws {
        let policy = try shippedPolicy()
        #expect(policy.handling.whenConditionClears == .validating)
        #expect(policy.handling.clearedHold == minutes(5))
    }

    @Test func validatingWaitsForTheHoldThenMovesOnce() throws {
        var world = try world("validating")
        world.clock.set(monday + minutes(1))
        world.feed([signal(.resolved, at: monday + minutes(1))])
        #expect(world.incident.state == .mobilised)
        #expect(world.timeline.last?.message.contains("if it stays clear for 5 minutes the incident moves to validating") == true)
        let ticked1 = world.tick(at: monday + minutes(5))
        #expect(!ticked1, "4 minutes clear is not enough")
        #expect(world.incident.state == .mobilised)
        let ticked2 = world.tick(at: monday + minutes(6))
        #expect(ticked2)
        #expect(world.incident.state == .validating)
        let move = try #require(world.timeline.last { $0.kind == .transition })
        #expect(move.message.hasPrefix("mobilised → validating: the condition of cpu_high cleared at"))
        #expect(move.actor == IncidentWorkflow.systemActor)

        // A responder disagrees: validation failed, back to investigating. The same clear does not overrule them.
        let back = try world.w.transition(world.incident, timeline: world.timeline, to: .investigating,
                                          reason: "still slow for users", actor: "dave")
        world.incident = apply(back, to: &world.timeline)
        world.tick(at: monday + minutes(30))
        #expect(world.incident.state == .investigating)
        #expect(world.timeline.filter { $0.message.contains("→ validating: the condition") }.count == 1)
    }

    @Test func aConditionReturningDuringValidationGoesBackToInvestigatingAndEscalates() throws {
        var world = try world("validating", after: "1 minute")
        world.feed([signal(.resolved, at: monday + minutes(1))])
        world.tick(at: monday + minutes(3))
        #expect(world.incident.state == .validating)
        let level = world.incident.escalationLevel
        world.clock.set(monday + minutes(4))
        world.feed([signal(at: monday + minutes(4))])
        #expect(world.incident.state == .investigating)
        #expect(world.incident.escalationLevel == level + 1)
        #expect(world.timeline.contains { $0.message.hasPrefix("validating → investigating: the condition came back") })
        #expect(world.timeline.contains { $0.kind == .escalated })
    }

    @Test func aReturnBeforeTheHoldCancelsTheMove() throws {
        var world = try world("validating")
        world.feed([signal(.resolved, at: monday + minutes(1))])
        world.clock.set(monday + minutes(3))
        world.feed([signal(at: monday + minutes(3))])
        #expect(world.incident.conditionClearedAt == nil)
        world.tick(at: monday + minutes(20))
        #expect(world.incident.state == .mobilised)
    }

    @Test func resolvedResolvesWithTheClearPeriodAsVerification() throws {
        var world = try world("resolved", after: "2 minutes")
        world.feed([signal(.resolved, at: monday + minutes(1))])
        let ticked3 = world.tick(at: monday + minutes(3))
        #expect(ticked3)
        #expect(world.incident.state == .resolved)
        let resolution = try #require(world.incident.resolution)
        #expect(resolution.verification.contains("stayed clear for 2 minutes"))
        #expect(world.timeline.map(\.kind).contains(.resolved))
        let ticked4 = world.tick(at: monday + minutes(10))
        #expect(!ticked4, "nothing more to do once resolved")
    }

    @Test func stayOnlyRecordsTheClear() throws {
        var world = try world("stay")
        world.feed([signal(.resolved, at: monday + minutes(1))])
        let ticked5 = world.tick(at: monday + minutes(30))
        #expect(!ticked5)
        #expect(world.incident.state == .mobilised)
        #expect(world.timeline.last?.message.contains("stays open until someone resolves it") == true)
    }
}

/// Runbooks: an incident follows its type's runbook; ticking steps off is in the timeline.
@Suite struct RunbookStepTests {
    @Test func stepsAreTickedOffInTheTimelineAndProgressIsReadBack() throws {
        let (w, clock) = workflow(try shippedPolicy())
        var timeline: [TimelineEntry] = []
        var incident = apply(try declare(w, ClassificationInput(title: "CPU pegged", severity: "P2",
                                                               incidentType: "High CPU utilization")), to: &timeline)
        let runbook = try #require(w.runbook(for: incident))
        #expect(runbook.name == "performance-degradation")
        clock.advance(by: .seconds(60))
        incident = apply(try w.runbookStep(incident, timeline: timeline, step: 1, done: true, note: "web-1 at 99%",
                                           actor: "dave"), to: &timeline)
        incident = apply(try w.runbookStep(incident, timeline: timeline, step: 3, done: true, note: nil, actor: "alice"),
                         to: &timeline)
        var progress = RunbookProgress(runbook: runbook, timeline: timeline)
        #expect(progress.doneCount == 2 && progress.nextStep == 2)
        #expect(progress.ticks[1]?.actor == "dave" && progress.ticks[1]?.note == "web-1 at 99%")
        let entry = try #require(timeline.last)
        #expect(entry.kind == .runbook)
        #expect(entry.message == "Runbook performance-degradation step 3/8 done: action implement_circuit_breakers (2 of 8 done)")
        // Unticking is recorded too; the latest tick of a step wins.
        incident = apply(try w.runbookStep(incident, timeline: timeline, step: 1, done: false, note: "not that host",
                                           actor: "dave"), to: &timeline)
        progress = RunbookProgress(runbook: runbook, timeline: timeline)
        #expect(progress.doneCount == 1 && progress.nextStep == 1)

        #expect(throws: WorkflowError.self) { try w.runbookStep(incident, timeline: timeline, step: 9, done: true, note: nil, actor: "dave") }
        #expect(throws: WorkflowError.self) { try w.runbookStep(incident, timeline: timeline, step: 0, done: true, note: nil, actor: "dave") }
        let plain = apply(try declare(w, ClassificationInput(title: "Typo on the login page", severity: "P4"),
                                      id: "INC-2026-0002"), to: &timeline)
        #expect(w.runbook(for: plain) == nil)
        #expect(throws: WorkflowError.self) { try w.runbookStep(plain, timeline: [], step: 1, done: true, note: nil, actor: "dave") }
    }
}
