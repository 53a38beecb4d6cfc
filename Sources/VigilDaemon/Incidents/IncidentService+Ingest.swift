import Logging
import VigilCore
import VigilIncidents
import VigilStore

extension IncidentService {
    /// Takes rule signals from the bus consumer: each fingerprint joins its open incident
    /// (count, last seen, evidence), reopens a recently resolved one (flapping), or opens a new
    /// one. Returns once they are stored.
    ///
    /// Writes are batched (group commit): all signals handed over while a batch is being written
    /// go into the next single transaction, so a storm costs a few transactions, not one per signal.
    public func ingest(_ signals: [RuleSignal]) async {
        guard !signals.isEmpty else { return }
        queuedSignals.append(contentsOf: signals)
        if ingestRunning {
            await withCheckedContinuation { ingestWaiters.append($0) }
            return
        }
        ingestRunning = true
        while !queuedSignals.isEmpty {
            let batch = queuedSignals
            let waiters = ingestWaiters
            queuedSignals = []
            ingestWaiters = []
            await writeBatch(batch)
            for w in waiters { w.resume() }
        }
        ingestRunning = false
        lastIntakeEnded = ContinuousClock.now
        let idle = idleWaiters
        idleWaiters = [:]
        for w in idle.values { w.resume() }
    }

    /// Returns once signal intake has nothing queued or being written, or after `limit`: the
    /// response engine lets a burst of incidents be stored before its own writes compete for
    /// the database.
    private func waitForIdleIntake(limit: Duration) async {
        guard ingestRunning || !queuedSignals.isEmpty else { return }
        let key = nextIdleWaiter
        nextIdleWaiter += 1
        Task { [weak self] in
            try? await Task.sleep(for: limit)
            await self?.releaseIdleWaiter(key)
        }
        // Registered before this actor runs anything else, so the release cannot come first.
        await withCheckedContinuation { idleWaiters[key] = $0 }
    }

    private func releaseIdleWaiter(_ key: Int) { idleWaiters.removeValue(forKey: key)?.resume() }

    /// Returns once signal intake has been idle for `quiet` (a burst of breaches arriving over
    /// some tens of milliseconds is stored before anything else writes), or after `limit` in all.
    public func waitForQuietIntake(quiet: Duration = .milliseconds(100), limit: Duration = .seconds(1)) async {
        let start = ContinuousClock.now
        while ContinuousClock.now - start < limit {
            await waitForIdleIntake(limit: limit)
            guard let ended = lastIntakeEnded else { return }
            let since = ContinuousClock.now - ended
            if since >= quiet, !ingestRunning, queuedSignals.isEmpty { return }
            try? await Task.sleep(for: quiet - since)
        }
    }

    struct BatchOutcome: Sendable {
        var opened: [Incident] = []
        var updated = 0
        var statusPageChanged = false
    }

    /// One cause, one incident: firing signals about a plugin (a `plugin` label, which plugins
    /// cannot set) that would open a new incident join the open incident already about that
    /// plugin instead — a breach and the failures, failure rates and quarantine it causes are
    /// occurrences of the breach — unless they are more severe than it. Only incidents of the same
    /// host correlate: a host agent's with that agent's, this daemon's with its own.
    static func correlated(_ group: [RuleSignal], workflow: IncidentWorkflow,
                           tx: StoreTransaction) throws -> (Incident, [RuleSignal])? {
        let firings = group.filter { $0.transition == .firing }
        guard let first = firings.first, let plugin = first.labels["plugin"],
              firings.allSatisfy({ $0.labels["plugin"] == plugin }),
              let anchor = try tx.openIncident(plugin: plugin, origin: AgentService.origin(of: first.fingerprint)),
              anchor.fingerprint != first.fingerprint,
              let wouldBe = workflow.severity(for: first) else { return nil }
        guard anchor.severity <= wouldBe else { return nil }
        return (anchor, firings)
    }

    /// Signals grouped by fingerprint, in the order each fingerprint first appears.
    static func grouped(_ signals: [RuleSignal]) -> [(String, [RuleSignal])] {
        var order: [String] = []
        var groups: [String: [RuleSignal]] = [:]
        for s in signals {
            if groups[s.fingerprint] == nil { order.append(s.fingerprint) }
            groups[s.fingerprint, default: []].append(s)
        }
        return order.compactMap { fp in groups[fp].map { (fp, $0) } }
    }

    /// Signals whose intake must commit with a record of their own, in one transaction: a host
    /// agent's forwarded batch and its cursor (``AgentService``). `prepare` runs inside the
    /// transaction, reads what it needs (the cursor), and returns the signals to apply and a
    /// result; if anything throws, nothing of it is stored and the error reaches the caller.
    public func ingest<T: Sendable>(recording prepare: @escaping @Sendable (StoreTransaction) throws -> ([RuleSignal], T)) async throws -> T {
        let workflow = self.workflow
        let (outcome, result) = try await store.write(priority: .urgent) { tx in
            let (signals, result) = try prepare(tx)
            return (try Self.apply(Self.grouped(signals), workflow: workflow, tx: tx), result)
        }
        applied(outcome)
        return result
    }

    /// What follows a stored batch: the log lines of opened incidents, the status page, containment.
    private func applied(_ outcome: BatchOutcome) {
        for incident in outcome.opened {
            logger.notice("incident opened", metadata: [
                "id": "\(incident.id)", "severity": "\(incident.severity.code)", "source": "\(incident.source)",
                "occurrences": "\(incident.occurrences)"])
        }
        if outcome.statusPageChanged { statusPage?.publishSoon() }
        tellResponder(outcome.opened)
    }

    private func writeBatch(_ signals: [RuleSignal]) async {
        let workflow = self.workflow
        let ordered = Self.grouped(signals)
        do {
            // Urgent: a burst of breaches is stored before the plugin-state, delivery and
            // containment writes that the same burst causes (see WriteScheduler).
            let outcome = try await store.write(priority: .urgent) { tx in
                try Self.apply(ordered, workflow: workflow, tx: tx)
            }
            applied(outcome)
        } catch {
            logger.error("rule signals could not be stored; they are lost", metadata: [
                "signals": "\(signals.count)", "fingerprints": "\(ordered.count)", "error": "\(error)"])
        }
    }

    /// Decides and stores what each fingerprint's signals do to its incident, in one transaction.
    static func apply(_ ordered: [(String, [RuleSignal])], workflow: IncidentWorkflow,
                              tx: StoreTransaction) throws -> BatchOutcome {
        var outcome = BatchOutcome()
        for (fingerprint, group) in ordered {
            if try tx.openIncident(fingerprint: fingerprint) == nil,
               let (anchor, firings) = try Self.correlated(group, workflow: workflow, tx: tx) {
                var change = IncidentChange(incident: anchor)
                workflow.absorb(firings[...], into: &change)
                guard !change.timeline.isEmpty else { continue }
                try tx.commit(StoreChange(change))
                outcome.updated += 1
                continue
            }
            let open = try tx.openIncident(fingerprint: fingerprint)
            let latest = open == nil ? try tx.latestIncident(fingerprint: fingerprint) : nil
            // The timeline is needed for a reopen's brief, or for the escalation of an
            // incident under validation whose condition came back.
            let needsHistory = latest ?? (open?.state == .validating ? open : nil)
            let history = try needsHistory.map { try tx.timeline(incidentID: $0.id) } ?? []
            switch workflow.plan(group, open: open, latest: latest, history: history) {
            case .ignore:
                continue
            case .update(let change):
                try tx.commit(StoreChange(change))
                outcome.updated += 1
                outcome.statusPageChanged = outcome.statusPageChanged || change.statusPageChanged
            case .open(let opening, let rest):
                let (incident, _) = try tx.open(year: opening.year, prefix: opening.idPrefix) { id in
                    var change = opening.change(id: id)
                    workflow.absorb(rest[...], into: &change)
                    return StoreChange(change)
                }
                outcome.opened.append(incident)
                outcome.statusPageChanged = outcome.statusPageChanged
                    || incident.classification?.userImpacting == true
            }
        }
        return outcome
    }

    /// Runs the whole path of opening an incident once, in a transaction that is rolled back, so
    /// the first real incident does not pay for what a process does only once (the Swift
    /// runtime's first casts and conformance look-ups, SQLite statements prepared and cached,
    /// templates): measured, the first burst of breaches after start took two to five times
    /// longer per incident than later ones. Nothing is stored and nobody is told. Returns whether
    /// the rolled-back transaction went as far as opening the incident.
    @discardableResult
    public func warmUp() async -> Bool {
        let now = clock.now()
        let signal = RuleSignal(transition: .firing, ruleID: "vigild.warm-up", expression: "warm-up",
                                labels: ["plugin": "vigild-warm-up"], fingerprint: "vigild.warm-up:\(now.nanoseconds)",
                                value: 1, firstHeldAt: now, at: now, severity: workflow.policy.ladder.severities.first?.code)
        let workflow = self.workflow
        let started = ContinuousClock.now
        do {
            _ = try await store.write { tx -> Int in
                let outcome = try Self.apply([(signal.fingerprint, [signal])], workflow: workflow, tx: tx)
                throw WarmUpRolledBack(opened: outcome.opened.count)
            }
        } catch let done as WarmUpRolledBack {
            logger.debug("incident path warmed up", metadata: ["took": "\(ContinuousClock.now - started)"])
            return done.opened == 1
        } catch {
            logger.warning("incident path warm-up failed (harmless)", metadata: ["error": "\(error)"])
        }
        return false
    }
}

private struct WarmUpRolledBack: Error { let opened: Int }
