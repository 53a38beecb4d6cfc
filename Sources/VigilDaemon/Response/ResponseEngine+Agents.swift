import Foundation
import VigilControl
import VigilCore
import VigilHTTP
import VigilStore

/// Containment across hosts (Docs/agents.md): on a central daemon, an action for a host agent's
/// incident is sent to that agent and its answer recorded here; on a host agent, an action the
/// central daemon sent is run on this host.
extension ResponseEngine {
    /// Sends an action to the host agent whose host the incident is on and waits for its answer
    /// (the action's deadline plus ``remotePickUp``). The agent's undo record is kept with the
    /// action here, and `vigil actions undo` sends it back (``undoOnAgent``).
    func runOnAgent(_ agent: String, action: String, context: ActionContext, evidence: [EvidenceRecord]) async -> ActionOutcome {
        guard let remote else { return .unavailable("incident \(context.incident.id) is on host agent \(agent), and this daemon takes no agents") }
        let command = AgentCommand(
            id: UUID().uuidString.lowercased(), action: action, params: context.params, dryRun: context.dryRun,
            manual: context.manual, deadlineMilliseconds: Self.milliseconds(context.deadline),
            incident: context.incident,
            evidence: evidence.suffix(50).map {
                .init(time: Timestamp(nanoseconds: $0.time), source: $0.source, kind: $0.kind,
                      content: $0.content.utf8.count > 4096 ? String(decoding: Array($0.content.utf8.prefix(4096)), as: UTF8.self) + "…" : $0.content)
            })
        guard let result = await remote(agent, command, context.deadline + Self.remotePickUp) else {
            return ActionOutcome(ok: false, detail: "host agent \(agent) did not run it: it is not calling in, or it did not answer within "
                + DurationText.format(context.deadline + Self.remotePickUp))
        }
        return ActionOutcome(ok: result.ok, detail: result.detail, evidence: result.evidence, undo: result.undo, unavailable: result.unavailable)
    }

    /// Asks the host agent to undo what it did for an action (its own undo record).
    func undoOnAgent(_ agent: String, action: String, undo: JSONValue, incidentID: String?) async -> ActionOutcome {
        guard let remote else { return ActionOutcome(ok: false, detail: "this daemon takes no agents") }
        guard let incidentID, let incident = try? await store.incident(id: incidentID) else {
            return ActionOutcome(ok: false, detail: "the action's incident is not in the store")
        }
        let deadline = settings.deadline(of: action)
        var command = AgentCommand(id: UUID().uuidString.lowercased(), action: action, params: [:], dryRun: false, manual: true,
                                   deadlineMilliseconds: Self.milliseconds(deadline), incident: incident, evidence: [])
        command.undo = undo
        guard let result = await remote(agent, command, deadline + Self.remotePickUp) else {
            return ActionOutcome(ok: false, detail: "host agent \(agent) did not answer: it is not calling in, or it did not answer within "
                + DurationText.format(deadline + Self.remotePickUp))
        }
        return ActionOutcome(ok: result.ok, detail: result.detail)
    }

    /// A deadline in whole milliseconds, at least 1 (a 500 ms deadline is not 0).
    static func milliseconds(_ d: Duration) -> Int64 {
        let (seconds, atto) = d.components
        let (ms, overflow) = seconds.multipliedReportingOverflow(by: 1000)
        guard !overflow else { return .max }
        return max(1, ms.addingReportingOverflow(atto / 1_000_000_000_000_000).partialValue)
    }

    /// How long past an action's deadline the central daemon waits for a host agent's answer.
    static let remotePickUp: Duration = .seconds(30)

    /// On a host agent: runs an action the central daemon sent (``AgentCommand``) on this host
    /// and says what it did. Nothing is stored here: the action is recorded on the central daemon.
    public func runForCentral(_ command: AgentCommand) async -> AgentCommandResult {
        let deadline = Duration.milliseconds(min(max(command.deadlineMilliseconds, 1), 3_600_000))
        let evidence = command.evidence.map {
            EvidenceRecord(incidentID: command.incident.id, time: $0.time, source: $0.source, kind: $0.kind, content: $0.content)
        }
        let context = ActionContext(incident: command.incident, evidence: evidence, params: command.params, dryRun: command.dryRun,
                                    now: clock.now(), deadline: deadline, manual: command.manual)
        if let undo = command.undo {
            let (ok, details) = await undoHere(command.action, undo.objectValue ?? [:])
            let detail = details.isEmpty ? "nothing to undo on this host" : details.joined(separator: "; ")
            logger.notice("host agent: undid a containment action for the central daemon", metadata: [
                "action": "\(command.action)", "incident": "\(command.incident.id)", "ok": "\(ok)", "detail": "\(detail)"])
            return AgentCommandResult(id: command.id, ok: ok, unavailable: false, detail: detail, evidence: [:]).bounded()
        }
        let parts = await runHere(command.action, context: context)
        let available = parts.filter { !$0.outcome.unavailable }
        let detail = parts.isEmpty ? "not available on this host: no built-in and no loaded action plugin declares \(command.action)"
            : parts.map { "\($0.performer): \($0.outcome.detail)" }.joined(separator: "; ")
        logger.notice("host agent: ran a containment action for the central daemon", metadata: [
            "action": "\(command.action)", "incident": "\(command.incident.id)", "dry_run": "\(command.dryRun)", "detail": "\(detail)"])
        let performers = JSONValue.array(parts.map { p in
            .object(["by": .string(p.performer), "ok": .bool(p.outcome.ok), "unavailable": .bool(p.outcome.unavailable),
                     "detail": .string(p.outcome.detail), "evidence": .object(p.outcome.evidence)])
        })
        var result = AgentCommandResult(id: command.id, ok: !available.isEmpty && available.allSatisfy(\.outcome.ok),
                                        unavailable: available.isEmpty, detail: detail, evidence: ["performers": performers])
        let undo = command.dryRun ? [:] : Self.undoRecord(parts.filter { !$0.performer.hasPrefix("agent:") })
        result.undo = undo.isEmpty ? nil : .object(undo)
        return result.bounded()
    }
}
