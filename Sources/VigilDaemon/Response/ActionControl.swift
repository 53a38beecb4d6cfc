import VigilControl
import Foundation
import VigilCore
import VigilStore

extension ActionView {
    public init(_ r: ActionRecord) {
        self.init(id: r.id ?? 0, incident: r.incidentID, action: r.name, mode: r.mode, state: r.state, dryRun: r.dryRun,
                  category: r.params["category"]?.stringValue, position: r.params["position"]?.stringValue,
                  requestedBy: r.params["by"]?.stringValue, requestedAt: Timestamp(nanoseconds: r.requestedAt).rfc3339,
                  deadline: r.deadline.map { Timestamp(nanoseconds: $0).rfc3339 },
                  completedAt: r.completedAt.map { Timestamp(nanoseconds: $0).rfc3339 },
                  detail: r.result?["detail"]?.stringValue, params: r.params["params"], result: r.result, undo: r.undo)
    }
}

/// `vigil actions` on the control socket: `actions.list|show|approve|deny|undo|run|verify|catalog`.
public struct ActionControl: Sendable {
    public static let commands = ["actions.list", "actions.show", "actions.approve", "actions.deny", "actions.undo",
                                  "actions.run", "actions.verify", "actions.catalog"]
    let engine: ResponseEngine
    let store: Store

    public init(engine: ResponseEngine, store: Store) {
        self.engine = engine
        self.store = store
    }

    public static func handles(_ command: String) -> Bool { commands.contains(command) }

    public func handle(_ r: ControlRequest, actor: String) async throws(ControlFailure) -> JSONValue {
        do {
            return try await dispatch(r, actor: actor)
        } catch let f as ControlFailure {
            throw f
        } catch let e as ResponseError {
            throw ControlFailure(e.description)
        } catch {
            throw ControlFailure("\(r.command) failed: \(error)")
        }
    }

    private func id(_ r: ControlRequest) throws -> Int64 {
        guard let n = r.args["id"]?.doubleValue, let id = Int64(exactly: n), id > 0 else {
            throw ControlFailure("missing or invalid action id (a whole number from `vigil actions list`)")
        }
        return id
    }

    private func dispatch(_ r: ControlRequest, actor: String) async throws -> JSONValue {
        switch r.command {
        case "actions.list":
            var states: [ActionState]?
            if let s = r.optionalString("state") {
                guard let st = ActionState(rawValue: s) else {
                    throw ControlFailure("unknown state \"\(s)\"; known: \(ActionState.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                states = [st]
            }
            return try JSONValue.encoding(try await store.actions(incidentID: r.optionalString("incident"), states: states)
                .map(ActionView.init))
        case "actions.show":
            let id = try id(r)
            guard let a = try await store.action(id: id) else { throw ControlFailure.notFound("no action \(id)") }
            return try JSONValue.encoding(ActionView(a))
        case "actions.approve":
            return try JSONValue.encoding(ActionView(try await engine.approve(try id(r), actor: actor, note: r.optionalString("note"))))
        case "actions.deny":
            let reason = r.optionalString("reason")?.trimmingCharacters(in: .whitespaces) ?? ""
            guard !reason.isEmpty else { throw ControlFailure("say why with --reason") }
            return try JSONValue.encoding(ActionView(try await engine.deny(try id(r), actor: actor, reason: reason)))
        case "actions.undo":
            return try JSONValue.encoding(ActionView(try await engine.undo(try id(r), actor: actor)))
        case "actions.run":
            let name = try r.string("action")
            let incident = try r.string("incident")
            return try JSONValue.encoding(ActionView(try await engine.run(
                name, incidentID: incident, dryRun: r.args["dry_run"]?.boolValue,
                params: r.args["params"]?.objectValue ?? [:], actor: actor)))
        case "actions.verify":
            return try JSONValue.encoding(try await engine.verify(try r.string("incident"), actor: actor))
        case "actions.catalog":
            return try JSONValue.encoding(await engine.catalog())
        default:
            throw ControlFailure("unknown command \(r.command)")
        }
    }
}

extension ResponseEngine {
    public func catalog() async -> [ActionCatalogEntry] {
        var names = ContainmentCatalog.actions.map(\.name)
        for n in rules.values.joined() where !names.contains(n) { names.append(n) }
        for n in await pluginDeclaredActions().sorted() where !names.contains(n) { names.append(n) }
        var out: [ActionCatalogEntry] = []
        for n in names {
            let info = ContainmentCatalog.info(n)
            out.append(ActionCatalogEntry(action: n, summary: info?.summary ?? "provided by action plugins",
                                          mode: settings.mode(of: n).rawValue, dryRun: settings.isDryRun(n),
                                          builtIn: info?.builtIn ?? false, plugins: await providers(of: n),
                                          categories: rules.keys.sorted().filter { rules[$0]?.contains(n) == true }))
        }
        return out
    }
}

extension ResponseEngine {
    /// The daemon-wide effects of containment right now.
    public func status() async -> ContainmentStatus {
        let waiting = (try? await store.actions(states: [.awaitingApproval]).count) ?? 0
        return ContainmentStatus(
            writeGate: "\(store.writeGate)", heldWrites: store.heldWrites, telemetryKeepOneIn: bus?.telemetryAdmission ?? 1,
            telemetryThrottled: bus?.throttledTelemetry ?? 0,
            breakers: breakers.all().filter { $0.value.state != .closed }.mapValues(\.state.rawValue),
            awaitingApproval: waiting, logLevel: AdjustableLogLevel.shared.level.rawValue)
    }
}
