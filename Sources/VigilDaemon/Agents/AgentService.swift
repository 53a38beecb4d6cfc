import Logging
import ServiceLifecycle
import VigilControl
import VigilCore
import VigilHTTP
import VigilMetrics
import VigilStore

/// The central daemon's side of host agents: applies what each agent forwards exactly once and
/// in order, and watches that every agent keeps calling in.
///
/// **Once.** Each agent numbers its spool's signals. The cursor per agent and spool (the last
/// number applied) is read and moved in the very transaction that applies the signals
/// (``IncidentService/ingest(recording:)``), so a batch replayed after a lost answer, a restart
/// of either side or an agent replaying its whole spool applies nothing twice, and a crash
/// before the commit applies nothing at all (the agent sends again).
///
/// **In order.** One agent's requests are applied one at a time, in the order they arrive; the
/// agent sends its spool oldest first and a batch only after the previous one was answered.
///
/// **Whose.** The agent's name is its token's person. Forwarded signals carry `agent` (and
/// `host`, when they have none) set to it, and their fingerprints are prefixed with it, so one
/// agent can neither join nor clear another's incidents, nor the central daemon's own.
///
/// **Missing.** An agent that has called in once is watched: silent for
/// `agents.missing_after` (counted from this daemon's start at the earliest, so a central
/// restart does not page for every agent), it opens one incident, cleared at its next call-in.
public actor AgentService: AgentIntake {
    let store: Store
    let incidents: IncidentService
    let clock: any VigilClock
    let logger: Logger
    var settings: AgentWatchSettings
    var ladder: SeverityLadder
    let startedAt: Timestamp
    var known: [String: AgentRecord] = [:]
    var busy: Set<String> = []
    var waiting: [String: [CheckedContinuation<Void, Never>]] = [:]
    let metrics: VigilMetrics?
    /// Containment actions waiting for each agent's poll, the results awaited by action id (with
    /// the agent that must answer), and each agent's waiting poll.
    var queued: [String: [AgentCommand]] = [:]
    var outcomes: [String: (agent: String, continuation: CheckedContinuation<AgentCommandResult?, Never>)] = [:]
    var pollers: [String: (id: Int, continuation: CheckedContinuation<Void, Never>)] = [:]
    var nextPoller = 0
    var sentAt: [String: Timestamp] = [:]
    var lastDelivery: Task<Void, Never>?
    static let maximumQueuedCommands = 256

    /// Fingerprints of forwarded signals start with `agent/NAME/`; the missing-agent incident's is `agent-missing:NAME`.
    static let forwardedPrefix = "agent/"
    static let missingPrefix = "agent-missing:"

    public init(store: Store, incidents: IncidentService, settings: AgentWatchSettings, ladder: SeverityLadder,
                clock: any VigilClock, logger: Logger, metrics: VigilMetrics? = nil) {
        self.store = store
        self.incidents = incidents
        self.settings = settings
        self.ladder = ladder
        self.clock = clock
        self.logger = logger
        self.metrics = metrics
        startedAt = clock.now()
    }

    /// Loads the agents a previous run knew.
    public func restore() async throws {
        known = Dictionary(try await store.agents().map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    }

    public func replace(_ settings: AgentWatchSettings, ladder: SeverityLadder) {
        self.settings = settings
        self.ladder = ladder
    }

    // MARK: AgentIntake

    public func receive(agent name: String, batch: AgentBatch) async throws -> AgentAcknowledgement {
        // An agent sends one request at a time: a second waiting behind the first is a retry after
        // a timeout (or a second host with the same token), and each holds its batch in memory.
        if busy.contains(name), !(waiting[name]?.isEmpty ?? true) {
            throw AgentIntakeRefusal("agent \(name) already has a request being applied and one waiting; send again later", status: 409)
        }
        await acquire(name)
        defer { release(name) }
        // Alive from now, before the transaction: a slow write must not make it look missing.
        if var record = known[name] {
            record.lastContactAt = max(record.lastContactAt, clock.now().nanoseconds)
            known[name] = record
        }
        guard known[name] != nil || known.count < AgentLimits.maximumAgents else {
            throw AgentIntakeRefusal("this daemon already tracks \(AgentLimits.maximumAgents) agents; \(name) is refused")
        }
        let now = clock.now()
        let (items, spool, lastSeq, spooled, version) = (batch.items, batch.spool, batch.lastSeq, batch.spooled, batch.agentVersion)
        let logger = self.logger
        let (record, applied, acknowledged) = try await incidents.ingest(recording: { tx in
            let cursor = try tx.agentCursor(agent: name, spool: spool) ?? 0
            let fresh = items.filter { $0.seq > cursor }
            if cursor > 0, let first = fresh.first, first.seq > cursor + 1 {
                logger.warning("signals of a host agent never arrived", metadata: [
                    "agent": "\(name)", "spool": "\(spool)", "from": "\(cursor + 1)", "to": "\(first.seq - 1)"])
            }
            var record = try tx.agent(named: name)
                ?? AgentRecord(name: name, firstContactAt: now.nanoseconds, lastContactAt: now.nanoseconds)
            record.lastContactAt = max(record.lastContactAt, now.nanoseconds)
            record.received = record.received.addingReportingOverflow(Int64(fresh.count)).overflow
                ? .max : record.received + Int64(fresh.count)
            record.spooled = spooled
            if let version { record.version = version }
            record.lastSpool = spool
            var moved: (spool: String, lastSeq: Int64)?
            if let lastSeq, lastSeq > cursor { moved = (spool, lastSeq) }
            // Never above what this request carried: an agent forgets what is acknowledged.
            let acknowledged = moved?.lastSeq ?? lastSeq.map { min($0, cursor) }
            record.lastSeq = moved?.lastSeq ?? (cursor > 0 ? cursor : record.lastSeq)
            try tx.recordAgentContact(record, cursor: moved, at: now)
            return (fresh.map { Self.stamped($0.signal, agent: name) }, (record, fresh.count, acknowledged))
        })
        let wasMissed = record.missed || known[name]?.missed == true
        var current = record
        current.missed = false
        if known[name] == nil {
            logger.notice("a host agent called in for the first time", metadata: ["agent": "\(name)", "spool": "\(spool)"])
        }
        known[name] = current
        if wasMissed {
            logger.notice("a missing host agent called in again", metadata: ["agent": "\(name)"])
            await deliverInOrder([signal(current, transition: .resolved, at: now)])
            do { try await store.setAgentsMissed([name], missed: false) } catch {
                logger.error("agents: cannot store that an agent is back", metadata: ["agent": "\(name)", "error": "\(error)"])
            }
        }
        metrics?.agentSignals(applied: applied, duplicates: items.count - applied, refused: batch.refused.count)
        return AgentAcknowledgement(agent: name, spool: spool, acknowledged: acknowledged, applied: applied,
                                    duplicates: items.count - applied, refused: batch.refused)
    }

    /// The host agent an incident's actions run on: set when the incident was opened from a signal
    /// that agent forwarded (its fingerprint says so; a label alone, which an alert may carry, does not).
    public static func host(of incident: Incident) -> String? {
        guard let fingerprint = incident.fingerprint, let agent = incident.labels["agent"],
              fingerprint.hasPrefix(forwardedPrefix + agent + "/") else { return nil }
        return agent
    }

    /// `agent/NAME/` when `fingerprint` is a host agent's signal's, nil when it is this daemon's own.
    public static func origin(of fingerprint: String) -> String? {
        guard fingerprint.hasPrefix(forwardedPrefix) else { return nil }
        let rest = fingerprint.dropFirst(forwardedPrefix.count)
        guard let slash = rest.firstIndex(of: "/") else { return nil }
        return forwardedPrefix + rest[..<slash] + "/"
    }

    /// A forwarded signal as the central daemon applies it: under the agent's name.
    static func stamped(_ s: RuleSignal, agent: String) -> RuleSignal {
        var s = s
        s.labels["agent"] = agent
        // The host is the agent's, whatever it says: routes and silences keyed on `host` must not
        // be steered by it. A different host it named is kept as `agent_host`.
        if let named = s.labels["host"], named != agent { s.labels["agent_host"] = named }
        s.labels["host"] = agent
        s.fingerprint = forwardedPrefix + agent + "/" + s.fingerprint
        return s
    }

    private func acquire(_ name: String) async {
        guard busy.contains(name) else {
            busy.insert(name)
            return
        }
        await withCheckedContinuation { waiting[name, default: []].append($0) }
    }

    private func release(_ name: String) {
        if var queue = waiting[name], !queue.isEmpty {
            let next = queue.removeFirst()
            waiting[name] = queue.isEmpty ? nil : queue
            next.resume()  // the lock passes to the next request of this agent
        } else {
            busy.remove(name)
        }
    }

    // MARK: Containment actions on an agent's host

    /// Runs `command` on `agent`'s host: queued for the agent's long poll, answered by its
    /// result, or nil when no result came within `limit` (or the agent is missing or unknown).
    public func dispatch(agent: String, command: AgentCommand, limit: Duration) async -> AgentCommandResult? {
        guard let record = known[agent], !record.missed else {
            logger.warning("a containment action for a host agent that is not calling in was not sent", metadata: [
                "agent": "\(agent)", "action": "\(command.action)"])
            return nil
        }
        guard (queued[agent]?.count ?? 0) < Self.maximumQueuedCommands else {
            return AgentCommandResult(id: command.id, ok: false, unavailable: false,
                                      detail: "host agent \(agent) already has \(Self.maximumQueuedCommands) actions waiting", evidence: [:])
        }
        let id = command.id
        let timer = Task { [weak self] in
            try? await Task.sleep(for: limit)
            await self?.expire(id)
        }
        defer { timer.cancel() }
        return await withCheckedContinuation { continuation in
            outcomes[id] = (agent, continuation)
            queued[agent, default: []].append(command)
            wakePoller(agent)
        }
    }

    private func expire(_ id: String) {
        guard let (agent, continuation) = outcomes.removeValue(forKey: id) else { return }
        forget(id, of: agent)
        continuation.resume(returning: nil)
    }

    private func forget(_ id: String, of agent: String) {
        sentAt[id] = nil
        queued[agent]?.removeAll { $0.id == id }
        if queued[agent]?.isEmpty == true { queued[agent] = nil }
    }

    public func commands(agent: String, wait: Duration) async throws -> [AgentCommand] {
        guard known[agent] != nil else {
            // An agent calls in with its spool first (POST /api/v1/agents/signals); until then it has no work.
            throw AgentIntakeRefusal("agent \(agent) has not called in yet: send POST /api/v1/agents/signals first")
        }
        await contact(agent)
        if let ready = takeQueued(agent) { return ready }
        guard wait > .zero else { return [] }
        let id = nextPoller
        nextPoller += 1
        // One poll per agent waits: a newer one releases the older (empty-handed).
        if let older = pollers.removeValue(forKey: agent) { older.continuation.resume() }
        let timer = Task { [weak self] in
            try? await Task.sleep(for: wait)
            await self?.wakePoller(agent, id: id)
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { pollers[agent] = (id, $0) }
        } onCancel: {
            Task { [weak self] in await self?.wakePoller(agent, id: id) }
        }
        timer.cancel()
        return takeQueued(agent) ?? []
    }

    /// The actions waiting for `agent`'s answer, oldest first, at most ``commandsPerPoll``. They
    /// stay until answered or expired, so one lost with a poll's connection goes again with the
    /// next poll; the agent runs each id once and answers a repeat with its first result.
    private func takeQueued(_ agent: String) -> [AgentCommand]? {
        guard let list = queued[agent], !list.isEmpty else { return nil }
        let now = clock.now()
        // Not yet sent, or sent ``resendAfter`` ago without an answer (a poll whose answer was lost).
        let due = list.filter { c in sentAt[c.id].map { now - $0 >= Self.resendAfter } ?? true }.prefix(Self.commandsPerPoll)
        guard !due.isEmpty else { return nil }
        for c in due { sentAt[c.id] = now }
        return Array(due)
    }

    static let commandsPerPoll = 32
    static let resendAfter: Duration = .seconds(30)

    private func wakePoller(_ agent: String, id: Int? = nil) {
        guard let poller = pollers[agent], id == nil || poller.id == id else { return }
        pollers[agent] = nil
        poller.continuation.resume()
    }

    public func results(agent: String, _ results: [AgentCommandResult]) async -> Int {
        var taken = 0
        for r in results {
            guard let (owner, continuation) = outcomes[r.id], owner == agent else {
                logger.warning("a host agent answered for an action it was not given", metadata: ["agent": "\(agent)", "id": "\(r.id.prefix(64))"])
                continue
            }
            outcomes[r.id] = nil
            forget(r.id, of: agent)
            continuation.resume(returning: r)
            taken += 1
        }
        if taken > 0 { await contact(agent) }
        return taken
    }

    /// A poll or a result is a call-in: the agent is alive (stored at most every few seconds).
    private func contact(_ agent: String) async {
        guard var record = known[agent] else { return }
        let now = clock.now()
        let stale = now.nanoseconds - record.lastContactAt > 5_000_000_000
        record.lastContactAt = max(record.lastContactAt, now.nanoseconds)
        let wasMissed = record.missed
        record.missed = false
        known[agent] = record
        if wasMissed {
            logger.notice("a missing host agent called in again", metadata: ["agent": "\(agent)"])
            await deliverInOrder([signal(record, transition: .resolved, at: now)])
            do { try await store.setAgentsMissed([agent], missed: false) } catch {
                logger.error("agents: cannot store that an agent is back", metadata: ["agent": "\(agent)", "error": "\(error)"])
            }
        }
        if stale {
            do { try await store.touchAgent(agent, at: now) } catch {
                logger.error("agents: cannot store an agent's call-in", metadata: ["agent": "\(agent)", "error": "\(error)"])
            }
        }
    }

    // MARK: Missing agents

    /// Opens an incident for each agent silent past `missing_after` since the last look.
    public func evaluate() async {
        let now = clock.now()
        let overdue = known.values.filter { r in
            !r.missed && now - max(Timestamp(nanoseconds: r.lastContactAt), startedAt) > settings.missingAfter
        }.sorted { $0.name < $1.name }
        guard !overdue.isEmpty else { return }
        for r in overdue {
            known[r.name]?.missed = true
            logger.warning("a host agent stopped calling in", metadata: [
                "agent": "\(r.name)", "last_contact": "\(RFC3339.format(Timestamp(nanoseconds: r.lastContactAt)))"])
        }
        // Told first, stored after: a crash in between repeats the occurrence rather than losing it.
        await deliverInOrder(overdue.map { signal($0, transition: .firing, at: now) })
        do { try await store.setAgentsMissed(overdue.map(\.name), missed: true) } catch {
            logger.error("agents: cannot store which agents are missing", metadata: ["error": "\(error)"])
        }
    }

    /// Hands missing-agent signals to the incident service in the order they were decided: a
    /// "back" decided after a "missing" must not overtake it (it would leave the incident open
    /// while the agent calls in). Each delivery waits for the one before it.
    private func deliverInOrder(_ signals: [RuleSignal]) async {
        let previous = lastDelivery
        let incidents = self.incidents
        let delivery = Task {
            await previous?.value
            await incidents.ingest(signals)
        }
        lastDelivery = delivery
        await delivery.value
    }

    func signal(_ r: AgentRecord, transition: RuleSignal.Transition, at now: Timestamp) -> RuleSignal {
        let last = Timestamp(nanoseconds: r.lastContactAt)
        var labels = ["agent": r.name, "host": r.name]
        if let component = settings.component { labels["component"] = component }
        let promise = "calls in at least every \(DurationText.format(settings.missingAfter))"
        let silent = now - last
        return RuleSignal(transition: transition, ruleID: "agent_missing", expression: "host agent \(r.name) \(promise)",
                          section: "agents", labels: labels, fingerprint: Self.missingPrefix + r.name,
                          value: transition == .firing ? Double(silent.components.seconds) : 0, unit: "s",
                          firstHeldAt: min(max(last, startedAt) + settings.missingAfter, now), at: now,
                          incidentType: settings.incidentType, severity: severity(),
                          description: "Host agent \(r.name) stopped calling in: last contact at \(RFC3339.format(last)), expected one at least every \(DurationText.format(settings.missingAfter))")
    }

    func severity() -> String? {
        if let reference = settings.severity, let level = ladder.level(named: reference) { return level.code }
        if let level = ladder.level(named: AlertRouting.fallbackSeverity) { return level.code }
        return ladder.leastSevere?.code
    }

    // MARK: Views

    public func views() -> [AgentView] {
        let now = clock.now()
        return known.values.sorted { $0.name < $1.name }.map { r in
            let last = Timestamp(nanoseconds: r.lastContactAt)
            let silent = now - last
            return AgentView(name: r.name, state: r.missed ? "missing" : "ok",
                             firstContactAt: RFC3339.format(Timestamp(nanoseconds: r.firstContactAt)),
                             lastContactAt: RFC3339.format(last), silentSeconds: max(0, Int(silent.components.seconds)),
                             received: r.received, spooled: r.spooled, spool: r.lastSpool, lastSeq: r.lastSeq, version: r.version)
        }
    }
}

/// Looks for missing agents each time the pacer says so, until graceful shutdown.
public struct AgentClockService: Service {
    let agents: AgentService
    let pacer: any IncidentTickPacer

    public init(agents: AgentService, pacer: any IncidentTickPacer = IntervalTickPacer()) {
        self.agents = agents
        self.pacer = pacer
    }

    public func run() async throws {
        let (agents, pacer) = (self.agents, self.pacer)
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await agents.evaluate()
                guard await pacer.next() else { return }
            }
        }
    }
}
