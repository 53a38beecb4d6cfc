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

/// Why the response engine refused a request.
public struct ResponseError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ d: String) { description = d }
}

/// The response engine: when an incident enters `containing` it runs the incident's containment
/// category's actions in order (seed 004 `containment_rules`), each as a stored action request
/// with its mode, dry run, deadline, result, evidence and undo; then runs the five verification
/// checks and moves the incident to `contained` once they all pass.
///
/// Every step is a row in the `action` table and an entry in the incident's timeline, written
/// before the next step starts, so a restarted daemon knows exactly where each response stood
/// (``resume()``). Actions the daemon performs on its own state are in ``BuiltInActions``; any
/// loaded action plugin whose manifest lists an action under `config.actions` performs it too,
/// in its sandbox.
public actor ResponseEngine {
    public static let actor = "vigild:response"

    let store: Store
    let incidents: IncidentService
    let host: PluginHost?
    let bus: EventBus?
    let breakers: CircuitBreakers
    let clock: any VigilClock
    let logger: Logger
    let stateDirectory: String
    private(set) var settings: ContainmentSettings
    /// Applies the nftables requests of action plugins the policy grants `nftables`.
    private(set) var nftables = NftablesBroker(granted: [])
    /// Category → ordered actions.
    private(set) var rules: [String: [String]]
    /// Incidents whose verification did not pass yet, with when to try again.
    var verifyAgainAt: [String: Timestamp] = [:]
    /// The last verification outcome recorded per incident (so retries record only changes).
    var lastVerification: [String: [String: Bool]] = [:]
    /// Incidents whose response is running now (one sequence per incident at a time).
    var running: Set<String> = []
    /// Non-notifier plugins whose breaker implement_circuit_breakers opened: re-enabled (half-open) at the time.
    var breakerTrials: [String: Timestamp] = [:]
    /// Says whether a silence or maintenance window mutes automated containment of an incident.
    var muter: (@Sendable (Incident) -> Mute?)?
    /// Sends an action to a host agent and waits for its answer (a central daemon's agent service).
    var remote: (@Sendable (String, AgentCommand, Duration) async -> AgentCommandResult?)?
    /// Self-reverting actions being reverted on a host agent's host (by a task of their own).
    var revertingOnAgents: Set<Int64> = []
    func revertedOnAgent(_ id: Int64) { revertingOnAgents.remove(id) }
    func setRemote(_ remote: @escaping @Sendable (String, AgentCommand, Duration) async -> AgentCommandResult?) { self.remote = remote }
    /// (incident, mute) pairs whose skipped automated start is already in the timeline.
    var mutedStarts: Set<String> = []

    /// Sets which action plugins may ask for the nftables containment table (from the plugin policy).
    func setNftablesGrants(_ plugins: Set<String>) {
        nftables = NftablesBroker(granted: plugins, logger: logger)
    }

    public init(store: Store, incidents: IncidentService, host: PluginHost?, bus: EventBus?,
                breakers: CircuitBreakers = CircuitBreakers(), settings: ContainmentSettings, rules: [String: [String]],
                stateDirectory: String, clock: any VigilClock, logger: Logger) {
        self.store = store
        self.incidents = incidents
        self.host = host
        self.bus = bus
        self.breakers = breakers
        self.settings = settings
        self.rules = rules
        self.stateDirectory = stateDirectory
        self.clock = clock
        self.logger = logger
        breakers.configure(threshold: settings.breakerConsecutiveFailures, openFor: settings.breakerOpenFor)
    }

    /// Changes not yet observed, per incident, oldest first (see ``accept(_:)``).
    private var pendingObservations: [String: [Incident]] = [:]

    /// A reloaded configuration: responses already under way keep the actions they requested.
    public func replace(settings: ContainmentSettings, rules: [String: [String]]) {
        self.settings = settings
        self.rules = rules
        breakers.configure(threshold: settings.breakerConsecutiveFailures, openFor: settings.breakerOpenFor)
    }

    // MARK: entry points

    /// Takes changes in the order the incident service stored them and observes each incident's
    /// changes in that order, one after another; different incidents proceed side by side, so a
    /// slow containment of one never holds up another's.
    public func accept(_ changed: [Incident]) {
        for incident in changed {
            if pendingObservations[incident.id] != nil {
                pendingObservations[incident.id]?.append(incident)
                continue
            }
            pendingObservations[incident.id] = [incident]
            Task { await self.drainObservations(of: incident.id) }
        }
    }

    private func drainObservations(of id: String) async {
        while let next = pendingObservations[id]?.first {
            await observe([next])
            pendingObservations[id]?.removeFirst()
            if pendingObservations[id]?.isEmpty == true { pendingObservations[id] = nil }
        }
    }

    /// Told about incidents the incident service just stored: a mobilised incident with a
    /// containment category starts containment on its own (`start: automatic`); an incident that
    /// entered `containing` gets its category's actions.
    public func observe(_ changed: [Incident]) async {
        // A burst of incidents is stored first; containment's writes come after it (at most a
        // second later), so they never delay the next breach's incident.
        await incidents.waitForQuietIntake()
        for incident in changed {
            switch incident.state {
            case .mobilised where settings.automaticStart && incident.containmentCategory != nil:
                await startAutomatically(incident)
            case .containing:
                await respond(to: incident.id)
            case .resolved:
                await remindOfEffects(incident.id)
            case .closed where incident.resolution?.falsePositive != nil:
                await standDown(incident.id)
            default:
                continue
            }
        }
    }

    /// At daemon start: responses that were under way continue; an action that was running when
    /// the daemon stopped is recorded as interrupted (failed) and the sequence goes on.
    public func resume() async {
        do {
            for var r in try await store.actions(states: [.running]) {
                r.state = ActionState.failed.rawValue
                r.completedAt = clock.now().nanoseconds
                r.result = .object(["detail": .string("interrupted: the daemon stopped while it ran")])
                try await save(r, entry: (.action, "\(r.name) was interrupted by a daemon restart; recorded as failed",
                                          ["action": r.name, "action_id": "\(r.id ?? 0)", "state": "failed"]))
            }
            // Queued ones run when their incident's response continues, below.
            for incident in try await store.openIncidents() {
                if incident.state == .containing || (incident.state == .mobilised && settings.automaticStart
                                                     && incident.containmentCategory != nil) {
                    await observe([incident])
                }
            }
        } catch {
            logger.error("response engine: cannot resume", metadata: ["error": "\(error)"])
        }
    }

    // MARK: the sequence

    private func startAutomatically(_ incident: Incident) async {
        guard let category = incident.containmentCategory else { return }
        if let mute = muter?(incident) {
            await recordMutedStart(incident, category: category, mute: mute)
            return
        }
        do {
            let existing = try await store.actions(incidentID: incident.id)
            guard existing.isEmpty else { return }
            _ = try await incidents.transition(incident.id, to: .containing,
                                               reason: "automated containment (\(category))", actor: Self.actor)
        } catch {
            logger.error("automated containment could not start", metadata: ["id": "\(incident.id)", "error": "\(error)"])
            return
        }
        await respond(to: incident.id)
    }

    /// Requests the category's actions (once), runs those whose turn it is, then verifies.
    func respond(to id: String) async {
        guard !running.contains(id) else { return }
        running.insert(id)
        defer { running.remove(id) }
        do {
            guard let incident = try await store.incident(id: id), incident.state == .containing else { return }
            // Without a category (or with one that lists nothing) containment is the people's work:
            // the engine neither runs actions nor moves the incident (`vigil actions verify` still checks).
            guard let category = incident.containmentCategory, !(rules[category] ?? []).isEmpty else { return }
            var actions = try await store.actions(incidentID: id)
            if !actions.contains(where: { $0.params["category"] != nil }) {
                actions += try await request(for: incident)
            }
            for r in actions where r.actionState == .queued {
                // Closed (a false positive) while the sequence ran: nothing more is done.
                guard let current = try await store.incident(id: id), current.state == .containing else { break }
                await perform(r, incident: current)
            }
            await verifyIfSettled(id)
        } catch {
            logger.error("containment failed", metadata: ["id": "\(id)", "error": "\(error)"])
        }
    }

    /// Stores one request per action of the incident's category, in order.
    private func request(for incident: Incident) async throws -> [ActionRecord] {
        let category = incident.containmentCategory
        let names = category.flatMap { rules[$0] } ?? []
        guard let category, !names.isEmpty else { return [] }
        var requests: [ActionRecord] = []
        for (i, name) in names.enumerated() {
            let position = "\(i + 1)/\(names.count)"
            requests.append(try await newRequest(name, incident: incident, by: Self.actor,
                                                 extra: ["category": .string(category), "position": .string(position)]))
        }
        // All requests and their timeline entries in one transaction, in order.
        let loop = "held back by the loop breaker (\(settings.loopMaxRuns) runs within "
            + "\(DurationText.format(settings.loopWindow)) for this fingerprint)"
        let now = clock.now()
        let actor = Self.actor
        let pending = requests
        let mute = muter?(incident)
        return try await store.write { tx in
            var out: [ActionRecord] = []
            var entries: [TimelineEntry] = []
            for var r in pending {
                if let mute, r.actionState == .queued || r.actionState == .awaitingApproval {
                    r.state = ActionState.skipped.rawValue
                    r.result = .object(["detail": .string("silenced by \(mute)")])
                }
                try tx.save(&r)
                let id = r.id ?? 0
                var message = "Requested \(r.name) (\(category) \(r.params["position"]?.stringValue ?? ""), mode \(r.mode)"
                    + "\(r.dryRun ? ", dry run" : ""))"
                switch r.actionState {
                case .awaitingApproval: message += ": awaiting approval (`vigil actions approve \(id)`)"
                case .skipped: message += mute.map { ": skipped (silenced by \($0))" } ?? ": skipped (mode off)"
                case .suppressed: message += ": " + loop
                default: break
                }
                entries.append(TimelineEntry(incidentID: incident.id, time: now, actor: actor, kind: .action, message: message,
                                             data: Self.entryData(r)))
                out.append(r)
            }
            guard let current = try tx.incident(id: incident.id) else { return out }
            try tx.commit(StoreChange(incident: current, timeline: entries))
            return out
        }
    }

    /// A new request row (not yet stored) with its mode, loop-breaker verdict, dry run and deadline.
    func newRequest(_ name: String, incident: Incident, by actor: String, extra: [String: JSONValue],
                            dryRun: Bool? = nil, params: [String: JSONValue] = [:], manual: Bool = false) async throws
        -> ActionRecord {
        let now = clock.now()
        let mode = manual ? ActionMode.auto : settings.mode(of: name)
        var state: ActionState = switch mode {
        case .auto: .queued
        case .approve: .awaitingApproval
        case .off: .skipped
        }
        if state != .skipped, !manual, let fp = incident.fingerprint,
           try await store.actionRuns(name: name, fingerprint: fp, since: now - settings.loopWindow) >= settings.loopMaxRuns {
            state = .suppressed
        }
        var p = extra
        p["by"] = .string(actor)
        var merged = settings.actions[name]?.params ?? [:]
        for (k, v) in params { merged[k] = v }
        p["params"] = .object(merged)
        return ActionRecord(incidentID: incident.id, name: name, mode: mode.rawValue, state: state,
                            dryRun: dryRun ?? settings.isDryRun(name), requestedAt: now,
                            deadline: now + settings.deadline(of: name), params: .object(p))
    }

    // MARK: running one action

    /// Runs one queued action: its built-in part and every action plugin that declares it.
    func perform(_ request: ActionRecord, incident: Incident) async {
        var r = request
        r.state = ActionState.running.rawValue
        do { r = try await save(r) } catch {
            logger.error("cannot record an action start", metadata: ["action": "\(r.name)", "error": "\(error)"])
            return
        }
        let params = r.params["params"]?.objectValue ?? [:]
        let deadline = settings.deadline(of: r.name)
        let evidence = (try? await store.evidence(incidentID: incident.id)) ?? []
        let context = ActionContext(incident: incident, evidence: evidence, params: params, dryRun: r.dryRun,
                                    now: clock.now(), deadline: deadline, manual: r.params["manual"] == .bool(true))
        let parts: [(performer: String, outcome: ActionOutcome)]
        if let agent = AgentService.host(of: incident) {
            // The incident is on a host agent's host: the action runs there, not here.
            parts = [("agent:\(agent)", await runOnAgent(agent, action: r.name, context: context, evidence: evidence))]
        } else {
            parts = await runHere(r.name, context: context)
        }
        let now = clock.now()
        let available = parts.filter { !$0.outcome.unavailable }
        let state: ActionState
        if parts.isEmpty || available.isEmpty {
            state = .unavailable
        } else if available.allSatisfy(\.outcome.ok) {
            state = r.dryRun ? .simulated : .succeeded
        } else {
            state = .failed
        }
        let detail = parts.isEmpty ? "not available: no built-in and no loaded action plugin declares \(r.name)"
            : parts.map { "\($0.performer): \($0.outcome.detail)" }.joined(separator: "; ")
        let undo = r.dryRun ? [:] : Self.undoRecord(parts)
        r.state = state.rawValue
        r.completedAt = now.nanoseconds
        r.result = .object([
            "detail": .string(detail),
            "performers": .array(parts.map { p in
                .object(["by": .string(p.performer), "ok": .bool(p.outcome.ok), "unavailable": .bool(p.outcome.unavailable),
                         "detail": .string(p.outcome.detail), "evidence": .object(p.outcome.evidence)])
            }),
        ])
        r.undo = undo.isEmpty ? nil : .object(undo)
        let verb = switch state {
        case .succeeded: "succeeded"
        case .simulated: "dry run"
        case .unavailable: "not available"
        default: "failed"
        }
        let notes = parts.map { p in
            EvidenceRecord(incidentID: incident.id, time: now, source: "action:\(r.name):\(p.performer)", kind: "containment",
                           content: JSONValue.object(["action": .string(r.name), "action_id": .number(Double(r.id ?? 0)),
                                                       "ok": .bool(p.outcome.ok), "detail": .string(p.outcome.detail),
                                                       "evidence": .object(p.outcome.evidence)]).description)
        }
        var data = entryData(r)
        if r.undo != nil { data["undo"] = "vigil actions undo \(r.id ?? 0)" }
        do {
            _ = try await save(r, entry: (.action, "\(r.name) \(verb): \(detail)", data), evidence: notes)
        } catch {
            logger.error("cannot record an action result", metadata: ["action": "\(r.name)", "error": "\(error)"])
        }
        if state == .failed {
            logger.warning("containment action failed", metadata: ["action": "\(r.name)", "incident": "\(incident.id)",
                                                                  "detail": "\(detail)"])
        }
    }

    /// Runs an action on this host: the built-in part, then every loaded action plugin that declares it.
    func runHere(_ name: String, context: ActionContext) async -> [(performer: String, outcome: ActionOutcome)] {
        var parts: [(performer: String, outcome: ActionOutcome)] = []
        if ContainmentCatalog.info(name)?.builtIn == true {
            let builtIns = self.builtIns
            parts.append(("vigild", await Self.withDeadline(context.deadline) { await builtIns.run(name, context) }))
        }
        for plugin in await providers(of: name) {
            parts.append(("plugin:\(plugin)", await callPlugin(plugin, action: name, context: context)))
        }
        return parts
    }

    /// How to undo what `parts` did: the built-in part's undo under `builtin`, each plugin's under
    /// `plugins`, a host agent's (its own such record) under `agent`.
    static func undoRecord(_ parts: [(performer: String, outcome: ActionOutcome)]) -> [String: JSONValue] {
        var undo: [String: JSONValue] = [:]
        for (performer, outcome) in parts where outcome.ok {
            guard let u = outcome.undo else { continue }
            if performer == "vigild" {
                undo["builtin"] = u
            } else if performer.hasPrefix("agent:") {
                undo["agent"] = .object(["name": .string(String(performer.dropFirst("agent:".count))), "undo": u])
            } else {
                var list = undo["plugins"]?.arrayValue ?? []
                var entry = u.objectValue ?? [:]
                entry["plugin"] = .string(String(performer.dropFirst("plugin:".count)))
                list.append(.object(entry))
                undo["plugins"] = .array(list)
            }
        }
        return undo
    }

    /// Undoes on this host what an action's undo record lists (built-in part and plugins).
    func undoHere(_ name: String, _ undo: [String: JSONValue]) async -> (ok: Bool, details: [String]) {
        var details: [String] = []
        var ok = true
        if let b = undo["builtin"] {
            let o = await builtIns.undo(name, b)
            ok = ok && o.ok
            details.append("vigild: \(o.detail)")
        }
        for entry in undo["plugins"]?.arrayValue ?? [] {
            guard let o = entry.objectValue, let plugin = o["plugin"]?.stringValue, let action = o["action"]?.stringValue else {
                continue
            }
            do {
                guard let host else { throw ResponseError("no plugin host") }
                let result = await nftables.handle(
                    plugin: plugin, result: try await host.act(plugin, action: action, params: o["params"]?.objectValue ?? [:],
                                                               deadline: settings.deadline(of: name)),
                    dryRun: false)
                ok = ok && result.ok
                details.append("plugin:\(plugin) \(action): \(result.detail)")
            } catch {
                ok = false
                details.append("plugin:\(plugin) \(action): \(error)")
            }
        }
        return (ok, details)
    }

    var builtIns: BuiltInActions {
        BuiltInActions(store: store, host: host, bus: bus, breakers: breakers, settings: settings,
                       stateDirectory: stateDirectory, clock: clock, logger: logger)
    }

    /// Every loaded action plugin with the actions its manifest lists under `config.actions`.
    func declaredActions() async -> [(plugin: String, actions: [String])] {
        guard let host else { return [] }
        var out: [(plugin: String, actions: [String])] = []
        for status in await host.statuses() where status.kind == .action {
            guard let m = await host.manifest(status.name) else { continue }
            out.append((status.name, m.config["actions"]?.arrayValue?.compactMap(\.stringValue) ?? []))
        }
        return out
    }

    /// Loaded action plugins that declare `action`.
    func providers(of action: String) async -> [String] {
        await declaredActions().filter { $0.actions.contains(action) }.map(\.plugin)
    }

    /// Every action some loaded action plugin declares.
    func pluginDeclaredActions() async -> Set<String> { Set(await declaredActions().flatMap(\.actions)) }

    private func callPlugin(_ plugin: String, action: String, context: ActionContext) async -> ActionOutcome {
        guard let host else { return .unavailable("no plugin host") }
        let payload = (try? JSONValue.encoding(IncidentView(context.incident, ladder: await incidents.policy.ladder,
                                                             now: context.now))) ?? .null
        do {
            let result = await nftables.handle(
                plugin: plugin, result: try await host.act(plugin, action: action, params: context.params, incident: payload,
                                                           dryRun: context.dryRun, deadline: context.deadline),
                dryRun: context.dryRun)
            var evidence = result.evidence
            let undo = evidence.removeValue(forKey: "undo")
            let unavailable = evidence["available"] == .bool(false)
            return ActionOutcome(ok: result.ok, detail: result.detail.isEmpty ? (result.ok ? "done" : "failed") : result.detail,
                                 evidence: evidence, undo: undo, unavailable: unavailable)
        } catch {
            return ActionOutcome(ok: false, detail: "\(error)")
        }
    }

    /// On resolution: the incident's reversible actions still in effect, with their undo commands
    /// (they stay until a person undoes them; those that revert themselves are left out).
    /// An incident closed as a false positive: its actions still waiting (queued or awaiting
    /// approval) are skipped, and what already took effect is listed for undoing.
    func standDown(_ id: String) async {
        do {
            for var r in try await store.actions(incidentID: id, states: [.queued, .awaitingApproval]) {
                r.state = ActionState.skipped.rawValue
                r.completedAt = clock.now().nanoseconds
                r.result = .object(["detail": .string("skipped: the incident was closed as a false positive")])
                try await save(r, entry: (.action, "\(r.name) skipped: the incident was closed as a false positive",
                                          entryData(r)))
            }
        } catch {
            logger.error("cannot stand down containment", metadata: ["id": "\(id)", "error": "\(error)"])
        }
        await remindOfEffects(id, closing: "Closed as a false positive")
    }

    func remindOfEffects(_ id: String, closing: String = "Resolved") async {
        do {
            let active = try await store.actions(incidentID: id, states: [.succeeded]).filter {
                $0.undo != nil && ContainmentCatalog.info($0.name)?.reversal != .revertsItself
            }
            guard !active.isEmpty else { return }
            let list = active.map { "\($0.name) (vigil actions undo \($0.id ?? 0))" }.joined(separator: ", ")
            _ = try await save(nil, incidentID: id, entry: (.action, "\(closing) with containment still in effect: \(list)",
                                                             ["actions": active.map { "\($0.id ?? 0)" }.joined(separator: ",")]))
        } catch {
            logger.error("cannot list containment still in effect", metadata: ["id": "\(id)", "error": "\(error)"])
        }
    }

    // MARK: clocks

    /// Reverts self-reverting actions (enhanced logging) when due, lets opened plugin breakers try
    /// again, and retries verifications that did not pass. Called every second by ``ResponseService``.
    public func tick() async {
        let now = clock.now()
        do {
            // Only those still in effect: a reverted one is `undone`, so this stays a handful of rows.
            for r in try await store.actions(states: [.succeeded], names: ContainmentCatalog.selfReverting) {
                guard let id = r.id else { continue }
                if let at = r.undo?["builtin"]?["revert_at"]?.stringValue.flatMap(RFC3339.parse), at <= now {
                    _ = try? await undo(id, actor: Self.actor)
                } else if let at = r.undo?["agent"]?["undo"]?["builtin"]?["revert_at"]?.stringValue.flatMap(RFC3339.parse), at <= now,
                          !revertingOnAgents.contains(id) {
                    // Reverted on the agent's host, which may take up to the action's deadline: not in this tick.
                    revertingOnAgents.insert(id)
                    Task { [weak self] in
                        _ = try? await self?.undo(id, actor: Self.actor)
                        await self?.revertedOnAgent(id)
                    }
                }
            }
        } catch {
            logger.error("response engine tick", metadata: ["error": "\(error)"])
        }
        for (plugin, at) in breakerTrials where at <= now {
            breakerTrials[plugin] = nil
            try? await host?.enable(plugin)
            logger.notice("circuit breaker half-open: plugin started again on trial", metadata: ["plugin": "\(plugin)"])
        }
        for (id, at) in verifyAgainAt where at <= now {
            await verifyIfSettled(id)
        }
    }

    // MARK: recording

    typealias Entry = (kind: TimelineKind, message: String, data: [String: String])

    func entryData(_ r: ActionRecord) -> [String: String] { Self.entryData(r) }

    static func entryData(_ r: ActionRecord) -> [String: String] {
        var d = ["action": r.name, "action_id": "\(r.id ?? 0)", "state": r.state, "mode": r.mode]
        if let c = r.params["category"]?.stringValue { d["category"] = c }
        if let p = r.params["position"]?.stringValue { d["position"] = p }
        if r.dryRun { d["dry_run"] = "true" }
        return d
    }

    /// Saves an action row and its timeline entry (and evidence) in one transaction.
    @discardableResult
    func save(_ record: ActionRecord, entry: Entry? = nil, evidence: [EvidenceRecord] = []) async throws -> ActionRecord {
        try await save(record, incidentID: record.incidentID, entry: entry, evidence: evidence) ?? record
    }

    func save(_ record: ActionRecord?, incidentID: String?, entry: Entry?, evidence: [EvidenceRecord] = [])
        async throws -> ActionRecord? {
        let now = clock.now()
        return try await store.write { tx in
            var saved = record
            if var r = record {
                try tx.save(&r)
                saved = r
            }
            guard let incidentID, let entry, let incident = try tx.incident(id: incidentID) else { return saved }
            var data = entry.data
            if let id = saved?.id { data["action_id"] = "\(id)" }
            let message = entry.message
            try tx.commit(StoreChange(incident: incident, timeline: [
                TimelineEntry(incidentID: incidentID, time: now, actor: Self.actor, kind: entry.kind, message: message, data: data),
            ], evidence: evidence))
            return saved
        }
    }
}
