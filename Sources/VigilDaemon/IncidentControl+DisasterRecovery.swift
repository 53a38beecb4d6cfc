import VigilControl
import VigilCore
import VigilIncidents
import VigilStore

/// `dr.plans`, `dr.assess`, `dr.start`, `dr.status`, `dr.step`, `dr.complete` (and the record
/// half of `dr.run-step`, whose action goes through the response engine: see ``ControlCommands``).
extension IncidentControl {
    static let recoveryCommands: Set<String> = ["dr.plans", "dr.assess", "dr.start", "dr.status", "dr.step", "dr.run-step", "dr.complete"]

    func disasterRecovery(_ r: ControlRequest, user: ControlCaller, policy: IncidentPolicy) async throws -> JSONValue {
        if r.command == "dr.plans" { return try JSONValue.encoding(RecoveryPlansView(policy.disasterRecovery)) }
        let id = try incidentID(r)
        switch r.command {
        case "dr.assess":
            let input = RecoveryAssessmentInput(estimate: try Self.duration(r, "estimate"), dataLoss: try Self.duration(r, "data_loss"),
                                                recoveryPoint: try Self.recoveryPoint(r, now: clock.now()))
            let a = try await service.assessRecovery(id, input: input, actor: try actor(r, user: user, policy: policy))
            return try JSONValue.encoding(RecoveryAssessmentView(a))
        case "dr.start":
            let run = try await service.startRecovery(id, plan: try r.text("plan", maxBytes: 64), dataLoss: try Self.duration(r, "data_loss"),
                                                      actor: try actor(r, user: user, policy: policy))
            return try await statusView(run)
        case "dr.step":
            let step = try r.integer("step", default: 0, in: 0...1000)
            guard step >= 1 else { throw ControlFailure("step: required (the step's number, from 1)") }
            guard let text = try r.text("mark", maxBytes: 16), let mark = RecoveryStepMark(rawValue: text.lowercased()) else {
                throw ControlFailure("mark: expected done or skip")
            }
            let run = try await service.markRecoveryStep(id, step: step, mark: mark, note: try r.text("note", maxBytes: 1000),
                                                         actor: try actor(r, user: user, policy: policy))
            return try await statusView(run)
        case "dr.run-step":
            // Served by ControlCommands, which holds the response engine the action goes through.
            throw ControlFailure("dr.run-step needs the response engine", kind: .unavailable)
        case "dr.complete":
            guard let verification = try r.text("verification", maxBytes: 2000) else {
                throw ControlFailure("verification: say how the recovered system was checked")
            }
            let (run, _) = try await service.completeRecovery(id, verification: verification,
                                                               actor: try actor(r, user: user, policy: policy))
            return try await statusView(run)
        default:
            guard let run = try await store.recovery(incidentID: id) else {
                guard try await store.incident(id: id) != nil else { throw ControlFailure.notFound("no incident \(id)") }
                throw ControlFailure("\(id) has no disaster recovery under way; assess it with vigil dr assess \(id), "
                    + "start one with vigil dr start \(id)", kind: .notFound)
            }
            return try await statusView(run)
        }
    }

    /// `dr.run-step`: checks the step, requests its action through `request` (the response
    /// engine's own path: approval, loop breaker, dry run all apply), records the request on the step.
    func runRecoveryStep(_ r: ControlRequest, user: ControlCaller,
                         request: @Sendable (String, String, String) async throws -> (Int64, String)) async throws(ControlFailure) -> JSONValue {
        do {
            let policy = await service.policy
            let id = try incidentID(r)
            let step = try r.integer("step", default: 0, in: 0...1000)
            guard step >= 1 else { throw ControlFailure("step: required (the step's number, from 1)") }
            let actor = try actor(r, user: user, policy: policy)
            // One request per step at a time: a double click or two responders must not run
            // the step's action twice (the check and the record are apart from the request).
            let action = try await service.recoveryStepAction(id, step: step, reserve: true)
            do {
                let (actionID, state) = try await request(action, id, actor)
                let run = try await service.recoveryActionRequested(id, step: step, actionID: actionID, actionState: state,
                                                                    actor: actor)
                await service.releaseRecoveryStep(id, step: step)
                return try await statusView(run)
            } catch {
                await service.releaseRecoveryStep(id, step: step)
                throw error
            }
        } catch let f as ControlFailure {
            throw f
        } catch let e as IncidentServiceError {
            throw ControlFailure(e.description, kind: e.failureKind)
        } catch {
            throw ControlFailure("dr.run-step failed: \(error)")
        }
    }

    func statusView(_ run: DisasterRecoveryRun) async throws -> JSONValue {
        var states: [Int64: String] = [:]
        for s in run.steps {
            if let a = s.actionID, let record = try await store.action(id: a) { states[a] = record.state }
        }
        let report = run.status == .completed ? try await store.recoveryReport(incidentID: run.incidentID) : nil
        let clocks = await service.workflow.clockLine(run, at: clock.now())
        return try JSONValue.encoding(RecoveryStatusView(run, now: clock.now(), clocks: clocks, actionStates: states, report: report))
    }

    private func incidentID(_ r: ControlRequest) throws -> String {
        guard let id = try r.text("id", maxBytes: 64) else { throw ControlFailure("id: required (the incident id)") }
        return id
    }

    static func duration(_ r: ControlRequest, _ key: String) throws -> Duration? {
        guard let text = try r.text(key, maxBytes: 64) else { return nil }
        guard let d = DurationText.parse(text), d <= .seconds(366 * 86_400) else {
            throw ControlFailure("\(key): expected a duration like \"20 minutes\" or \"2 hours\" (at most 366 days), found \"\(text)\"")
        }
        return d
    }

    /// The last good recovery point: at most 366 days ago (like `data_loss`; an older one would
    /// also overflow the loss's arithmetic).
    static func recoveryPoint(_ r: ControlRequest, now: Timestamp) throws -> Timestamp? {
        guard let t = try time(r, "recovery_point") else { return nil }
        guard t >= now - .seconds(366 * 86_400) else {
            throw ControlFailure("recovery_point: at most 366 days ago, found \(t.rfc3339)")
        }
        return t
    }

    static func time(_ r: ControlRequest, _ key: String) throws -> Timestamp? {
        guard let text = try r.text(key, maxBytes: 64) else { return nil }
        guard let t = RFC3339.parse(text) else {
            throw ControlFailure("\(key): expected an RFC 3339 time like 2026-12-07T09:30:00Z that exists, found \"\(text)\"")
        }
        return t
    }
}
