import VigilControl
import Foundation
import Logging
import VigilBus
import VigilCore
import VigilHTTP
import VigilIncidents
import VigilPluginHost
import VigilPluginProtocol
import VigilStore

/// What people ask of containment actions (`vigil actions approve|deny|run|undo`, the API and
/// the console): each goes through the engine like the automatic sequence.
extension ResponseEngine {
    /// Approves an action awaiting approval and runs it now.
    public func approve(_ id: Int64, actor: String, note: String?) async throws -> ActionRecord {
        var r = try await pending(id, "approve")
        if let incidentID = r.incidentID, let incident = try await store.incident(id: incidentID), incident.state == .closed {
            throw ResponseError("action \(id) (\(r.name)): \(incidentID) is closed; nothing is run for it (reopen it first)")
        }
        r.state = ActionState.queued.rawValue
        r = try await save(r, entry: (.action, "\(r.name) approved by \(actor)" + (note.map { ": \($0)" } ?? ""),
                                      entryData(r).merging(["by": actor], uniquingKeysWith: { $1 })))
        if let incidentID = r.incidentID, let incident = try await store.incident(id: incidentID) {
            await perform(r, incident: incident)
            await verifyIfSettled(incidentID)
        }
        return try await store.action(id: id) ?? r
    }

    /// Denies an action awaiting approval; the sequence goes on without it.
    public func deny(_ id: Int64, actor: String, reason: String) async throws -> ActionRecord {
        var r = try await pending(id, "deny")
        r.state = ActionState.denied.rawValue
        r.completedAt = clock.now().nanoseconds
        r.result = .object(["detail": .string("denied by \(actor): \(reason)")])
        r = try await save(r, entry: (.action, "\(r.name) denied by \(actor): \(reason)",
                                      entryData(r).merging(["by": actor], uniquingKeysWith: { $1 })))
        if let incidentID = r.incidentID { await verifyIfSettled(incidentID) }
        return r
    }

    func pending(_ id: Int64, _ verb: String) async throws -> ActionRecord {
        guard let r = try await store.action(id: id) else { throw ResponseError("no action \(id)") }
        guard r.actionState == .awaitingApproval else {
            throw ResponseError("action \(id) (\(r.name)) is \(r.state), not awaiting approval; nothing to \(verb)")
        }
        return r
    }

    /// Runs an action now for an incident, as a person asked (`vigil actions run`): no approval
    /// step and no loop breaker, since a person chose it.
    public func run(_ name: String, incidentID: String, dryRun: Bool?, params: [String: JSONValue], actor: String)
        async throws -> ActionRecord {
        guard let incident = try await store.incident(id: incidentID) else { throw ResponseError("no incident \(incidentID)") }
        let known = Set(rules.values.joined()).union(ContainmentCatalog.actions.map(\.name))
        let provided = await providers(of: name)
        guard known.contains(name) || !provided.isEmpty else {
            throw ResponseError("unknown action \"\(name)\"; known: \(known.sorted().joined(separator: ", "))")
        }
        var r = try await newRequest(name, incident: incident, by: actor, extra: ["manual": .bool(true)], dryRun: dryRun,
                                     params: params, manual: true)
        r = try await save(r, entry: (.action, "\(actor) ran \(name)\(r.dryRun ? " (dry run)" : "")", entryData(r)))
        await perform(r, incident: incident)
        return try await store.action(id: r.id ?? 0) ?? r
    }

    /// Undoes a succeeded, reversible action.
    public func undo(_ id: Int64, actor: String) async throws -> ActionRecord {
        guard var r = try await store.action(id: id) else { throw ResponseError("no action \(id)") }
        guard r.actionState == .succeeded else {
            throw ResponseError("action \(id) (\(r.name)) is \(r.state); only a succeeded action can be undone")
        }
        guard let undo = r.undo?.objectValue, !undo.isEmpty else {
            throw ResponseError("action \(id) (\(r.name)) has nothing to undo"
                                + (ContainmentCatalog.info(r.name)?.reversal == .copyOnly ? " (it only made a copy)" : ""))
        }
        var (ok, details) = await undoHere(r.name, undo)
        // What an action did on a host agent's host is undone there.
        if let remoteUndo = undo["agent"]?.objectValue, let agent = remoteUndo["name"]?.stringValue, let agentUndo = remoteUndo["undo"] {
            let o = await undoOnAgent(agent, action: r.name, undo: agentUndo, incidentID: r.incidentID)
            ok = ok && o.ok
            details.append("agent:\(agent): \(o.detail)")
        }
        let detail = details.joined(separator: "; ")
        if ok { r.state = ActionState.undone.rawValue }
        var result = r.result?.objectValue ?? [:]
        result["undo"] = .object(["by": .string(actor), "ok": .bool(ok), "detail": .string(detail),
                                  "at": .string(clock.now().rfc3339)])
        r.result = .object(result)
        r = try await save(r, entry: (.action, ok ? "\(r.name) undone by \(actor): \(detail)"
                                          : "undo of \(r.name) by \(actor) failed: \(detail)",
                                      entryData(r).merging(["by": actor], uniquingKeysWith: { $1 })))
        if !ok { throw ResponseError("undo failed: \(detail)") }
        return r
    }
}
