import Foundation
import Logging
import VigilCore
import VigilIncidents
import VigilRules
import VigilStore

/// Why the incident service refused or failed a request.
public enum IncidentServiceError: Error, CustomStringConvertible, Sendable {
    case notFound(String)
    case refused(WorkflowError)
    case storage(String)

    public var description: String {
        switch self {
        case .notFound(let id): "no incident \(id)"
        case .refused(let e): e.description
        case .storage(let m): "the database refused the change: \(m)"
        }
    }
}

/// The incident manager inside the daemon: applies ``IncidentWorkflow`` decisions through the
/// store — one transaction per change, decided inside that transaction — and only then lets
/// effects run (status page; notifications are already durable as pending rows).
///
/// Everything it knows lives in the database, so a new instance over the same database (a
/// restarted daemon) continues every SLA clock, escalation and status-update cadence exactly.
public actor IncidentService {
    let store: Store
    let clock: any VigilClock
    let logger: Logger
    let statusPage: StatusPagePublisher?
    private(set) var workflow: IncidentWorkflow
    // Group commit for `ingest`: signals queued while a batch is being written go into the next one.
    var queuedSignals: [RuleSignal] = []
    var ingestWaiters: [CheckedContinuation<Void, Never>] = []
    var ingestRunning = false
    var idleWaiters: [Int: CheckedContinuation<Void, Never>] = [:]
    var nextIdleWaiter = 0
    /// When signal intake last finished a burst (monotonic; nil before any).
    var lastIntakeEnded: ContinuousClock.Instant?
    /// When the action items were last looked at for reminders (``sweepActionItems()``).
    var lastActionItemSweep: Timestamp?
    /// Told (without being awaited) about incidents that were opened or entered `containing`:
    /// the response engine starts containment from here.
    var responder: (@Sendable ([Incident]) -> Void)?
    /// The overrides made at run time that the roster applies, by id (see `IncidentService+OnCall`).
    var overrideRecords: [Int64: OnCallOverrideRecord] = [:]
    /// The configuration's own `roster.overrides`, kept to merge the stored ones into again.
    var configuredOverrides: [RosterOverride]
    /// Decides the recovery watch that follows a rule incident's resolution (see `IncidentService+RecoveryWatch`).
    var watchPlanner = RecoveryWatchPlanner(rules: RuleSet())
    /// Disaster-recovery steps whose action is being requested now (`incident#step`): one at a time.
    var recoveryStepsRequesting: Set<String> = []
    /// Runs the active recovery watches (the rule engine).
    var watchListener: (@Sendable ([RecoveryWatch], Int) async -> Void)?
    /// Numbers the watch lists handed to the engine (``publishRecoveryWatches()``).
    var watchGeneration = 0

    public init(store: Store, policy: IncidentPolicy, templates: CommunicationTemplates = .builtIn,
                clock: any VigilClock, logger: Logger, statusPage: StatusPagePublisher? = nil) {
        self.store = store
        self.clock = clock
        self.logger = logger
        self.statusPage = statusPage
        self.workflow = IncidentWorkflow(policy: policy, templates: templates, clock: clock)
        self.configuredOverrides = policy.roster.overrides
    }

    /// Sets who is told about opened incidents and incidents entering `containing`.
    public func setResponder(_ responder: @escaping @Sendable ([Incident]) -> Void) { self.responder = responder }

    /// Hands incidents the response engine may act on to it, without waiting for it.
    func tellResponder(_ incidents: [Incident]) {
        guard let responder else { return }
        let relevant = incidents.filter {
            $0.state == .containing || $0.state == .resolved || ($0.state == .mobilised && $0.containmentCategory != nil)
        }
        if !relevant.isEmpty { responder(relevant) }
    }

    /// The policy and templates in force (for views and the on-call answer).
    public var policy: IncidentPolicy { workflow.policy }

    /// Swaps in a reloaded configuration; open incidents keep their stored clocks.
    public func replace(policy: IncidentPolicy, templates: CommunicationTemplates) {
        var policy = policy
        policy.handling.openChatChannel = chatChannelClaimed
        configuredOverrides = policy.roster.overrides
        workflow = IncidentWorkflow(policy: policy, templates: templates, clock: clock)
        applyStoredOverrides()
    }

    /// Puts `overrides` in force after the configured ones (see `IncidentService+OnCall`).
    func setRosterOverrides(_ overrides: [RosterOverride]) {
        workflow.policy.roster.overrides = configuredOverrides + overrides
    }

    /// Whether a loaded notifier delivers the `chat` channel (nil: not known, requested anyway).
    private var chatChannelClaimed: Bool?

    /// Says whether new incidents ask for their chat channel: only when a notifier delivers it.
    public func setChatChannel(claimed: Bool) {
        chatChannelClaimed = claimed
        workflow.policy.handling.openChatChannel = claimed
    }

    // MARK: requests from people

    /// Opens an incident for a person's declaration; with an explicit `key`, a declaration
    /// matching an open incident joins it instead (dedup by explicit key).
    public func declare(_ input: ClassificationInput, actor: String, responder: String? = nil,
                        key: String? = nil) async throws -> Incident {
        let opening: IncidentOpening
        do { opening = try workflow.declare(input, actor: actor, responder: responder, fingerprint: key) } catch {
            throw IncidentServiceError.refused(error)
        }
        let now = clock.now()
        let result = try await write { tx -> (Incident, Bool) in
            if let key, let open = try tx.openIncident(fingerprint: key) {
                var change = IncidentChange(incident: open)
                change.incident.occurrences += 1
                change.incident.lastSeenAt = now
                change.incident.updatedAt = now
                change.record(.occurrence, at: now, by: actor,
                              "Declared again by \(actor) with key \(key): \(input.title) (total \(change.incident.occurrences))",
                              ["key": key])
                try tx.commit(StoreChange(change))
                return (change.incident, false)
            }
            let (incident, _) = try tx.open(year: opening.year, prefix: opening.idPrefix) { id in
                StoreChange(opening.change(id: id))
            }
            return (incident, incident.classification?.userImpacting == true)
        }
        logger.notice("incident declared", metadata: ["id": "\(result.0.id)", "severity": "\(result.0.severity.code)",
                                                        "actor": "\(actor)"])
        if result.1 { await statusPage?.publish() }
        tellResponder([result.0])
        return result.0
    }

    public func acknowledge(_ id: String, actor: String, note: String?) async throws -> Incident {
        try await modify(id, "acknowledged", actor: actor) { w, i, t in
            try w.acknowledge(i, actor: actor, note: note, timeline: t)
        }
    }

    public func assign(_ id: String, role: String, person: String, reason: String?, actor: String) async throws -> Incident {
        try await modify(id, "role assigned", actor: actor) { w, i, t in
            try w.assign(i, timeline: t, role: role, personID: person, reason: reason, actor: actor)
        }
    }

    public func escalate(_ id: String, reason: String, transferCommand: Bool, actor: String) async throws -> Incident {
        try await modify(id, "escalated", actor: actor) { w, i, t in
            try w.escalate(i, timeline: t, reason: reason, actor: actor, transferCommand: transferCommand)
        }
    }

    public func transition(_ id: String, to state: IncidentState, reason: String, actor: String) async throws -> Incident {
        try await checkPostMortemGate(id, to: state)
        return try await modify(id, "transition", actor: actor) { w, i, t in
            try w.transition(i, timeline: t, to: state, reason: reason, actor: actor)
        }
    }

    public func comment(_ id: String, text: String, statusUpdate: Bool, eta: String?, actor: String) async throws -> Incident {
        try await modify(id, statusUpdate ? "status update" : "comment", actor: actor) { w, i, t in
            try w.comment(i, timeline: t, text: text, actor: actor, statusUpdate: statusUpdate, eta: eta)
        }
    }

    public func resolve(_ id: String, request: ResolutionRequest, actor: String) async throws -> Incident {
        try await modify(id, "resolved", actor: actor) { w, i, t in
            try w.resolve(i, timeline: t, request: request, actor: actor)
        }
    }

    public func dismiss(_ id: String, reason: String, actor: String) async throws -> Incident {
        try await modify(id, "dismissed as a false positive", actor: actor) { w, i, t in
            try w.dismiss(i, timeline: t, reason: reason, actor: actor)
        }
    }

    public func reopen(_ id: String, reason: String, actor: String) async throws -> Incident {
        try await modify(id, "reopened", actor: actor) { w, i, t in try w.reopen(i, timeline: t, reason: reason, actor: actor) }
    }

    public func reclassify(_ id: String, severity: String, reason: String, actor: String) async throws -> Incident {
        try await modify(id, "reclassified", actor: actor) { w, i, _ in
            try w.reclassify(i, severity: severity, reason: reason, actor: actor)
        }
    }

    /// Ticks a step of the incident's runbook off (or not), with a note.
    public func runbookStep(_ id: String, step: Int, done: Bool, note: String?, actor: String) async throws -> Incident {
        try await modify(id, "runbook step", actor: actor) { w, i, t in
            try w.runbookStep(i, timeline: t, step: step, done: done, note: note, actor: actor)
        }
    }

    // MARK: clocks

    /// Advances every open incident's clocks to the injected clock's now: SLA breaches,
    /// escalations and status-update reminders. Returns how many incidents changed.
    @discardableResult
    public func tick() async -> Int {
        let workflow = self.workflow
        let open: [Incident]
        do { open = try await store.openIncidents() } catch {
            logger.error("incident clocks: cannot read open incidents", metadata: ["error": "\(error)"])
            return 0
        }
        var changed = 0
        var statusChanged = false
        var watchesChanged = false
        for candidate in open where workflow.isDue(candidate) {
            do {
                let planner = watchPlanner
                let now = clock.now()
                let outcome = try await store.write { tx -> (Incident, [TimelineEntry], Bool, Bool)? in
                    guard let current = try tx.incident(id: candidate.id),
                          var change = workflow.tick(current, timeline: try tx.timeline(incidentID: current.id)) else {
                        return nil
                    }
                    let watch = Self.planRecoveryWatch(before: current, change: &change, workflow: workflow,
                                                       planner: planner, now: now)
                    try tx.commit(StoreChange(change))
                    if let watch { try tx.save(watch) }
                    return (change.incident, change.timeline, change.statusPageChanged, watch != nil)
                }
                guard let (incident, entries, status, watched) = outcome else { continue }
                watchesChanged = watchesChanged || watched
                changed += 1
                statusChanged = statusChanged || status
                for e in entries where e.kind == .escalated || e.kind == .slaBreached {
                    logger.warning("\(e.message)", metadata: ["id": "\(incident.id)", "kind": "\(e.kind.rawValue)"])
                }
            } catch {
                logger.error("incident clocks: cannot advance", metadata: ["id": "\(candidate.id)", "error": "\(error)"])
            }
        }
        if statusChanged { await statusPage?.publish() }
        if watchesChanged { await publishRecoveryWatches() }
        // Action items and recovery watches are counted apart: `changed` is the incidents whose clocks moved.
        _ = await sweepActionItems()
        await sweepRecoveryWatches()
        _ = await sweepRecoveryClocks()
        return changed
    }

    // MARK: plumbing

    /// Loads, decides and commits in one write transaction, then runs the change's effects.
    func modify(_ id: String, _ what: String, actor: String,
                _ decide: @escaping @Sendable (IncidentWorkflow, Incident, [TimelineEntry]) throws -> IncidentChange)
        async throws -> Incident {
        let workflow = self.workflow
        let planner = watchPlanner
        let now = clock.now()
        let (incident, status, before, watched) = try await write { tx -> (Incident, Bool, IncidentState, Bool) in
            guard let current = try tx.incident(id: id) else { throw IncidentServiceError.notFound(id) }
            var change: IncidentChange
            let timeline = try tx.timeline(incidentID: id)
            do { change = try decide(workflow, current, timeline) } catch let e as WorkflowError {
                throw IncidentServiceError.refused(e)
            }
            let watch = Self.planRecoveryWatch(before: current, change: &change, workflow: workflow, planner: planner,
                                               now: now)
            try tx.commit(StoreChange(change))
            if let watch { try tx.save(watch) }
            return (change.incident, change.statusPageChanged, current.state, watch != nil)
        }
        if watched { await publishRecoveryWatches() }
        logger.notice("incident \(what)", metadata: ["id": "\(id)", "state": "\(incident.state)", "actor": "\(actor)"])
        if status { await statusPage?.publish() }
        // The response engine acts when an incident enters containing or is resolved.
        if incident.state != before, incident.state == .containing || incident.state == .resolved || incident.state == .closed {
            tellResponder([incident])
        }
        return incident
    }

    /// A store write whose failures read as ``IncidentServiceError``.
    func write<T: Sendable>(_ body: @escaping @Sendable (StoreTransaction) throws -> T) async throws -> T {
        do { return try await store.write(body) } catch let e as IncidentServiceError { throw e } catch {
            throw IncidentServiceError.storage("\(error)")
        }
    }
}
