import VigilCore
import VigilStore

/// Evaluation: compares alerts' firing state with what their incidents were told, tells the
/// differences (firing: new occurrences; a group with nothing left firing: resolved), then
/// stores what was told.
extension AlertService {
    /// Runs a full pass over every alert (``AlertClockService`` calls it on each tick: leases
    /// running out, silences starting or ending). Returns once a full pass that started after
    /// the call has finished.
    public func evaluate() async {
        fullPassRequested = true
        await withCheckedContinuation { waiter in
            fullPassWaiters.append(waiter)
            startEvaluating()
        }
    }

    /// Returns once every alert accepted before the call has been evaluated (and nothing else is
    /// pending): for tests and for an orderly shutdown, never needed for durability.
    public func evaluated() async {
        guard evaluating || fullPassRequested || !changed.isEmpty else { return }
        await withCheckedContinuation { idleWaiters.append($0) }
    }

    /// Starts the evaluation task unless one is running (it picks up whatever arrives meanwhile).
    func startEvaluating() {
        guard !evaluating else { return }
        evaluating = true
        Task { await self.evaluateUntilIdle() }
    }

    private func evaluateUntilIdle() async {
        while fullPassRequested || !changed.isEmpty {
            passesTaken += 1
            let pass = passesTaken
            defer { finished(pass: pass) }
            let full = fullPassRequested
                || (!routing.inhibitRules.isEmpty && !changed.isDisjoint(with: inhibitionSources))
            if full {
                fullPassRequested = false
                changed = []
                let waiting = fullPassWaiters
                fullPassWaiters = []
                await evaluatePass(only: nil)
                for w in waiting { w.resume() }
            } else {
                let batch = changed
                changed = []
                await evaluatePass(only: batch)
            }
        }
        evaluating = false
        let waiting = idleWaiters
        idleWaiters = []
        for w in waiting { w.resume() }
        // Nothing is left to evaluate: nobody waits for a later pass.
        let rest = passWaiters
        passWaiters = []
        for (_, w) in rest { w.resume() }
    }

    /// Resumes whoever waits for a pass up to `pass` (``tick()``).
    private func finished(pass: Int) {
        passesDone = pass
        guard passWaiters.contains(where: { $0.pass <= pass }) else { return }
        let ready = passWaiters.filter { $0.pass <= pass }
        passWaiters.removeAll { $0.pass <= pass }
        for (_, w) in ready { w.resume() }
    }

    /// Returns once the next pass to start (which takes every change queued so far) has finished,
    /// however busy evaluation stays after it.
    func waitForNextPass() async {
        let target = passesTaken + 1
        startEvaluating()
        guard passesDone < target else { return }
        await withCheckedContinuation { passWaiters.append((target, $0)) }
    }

    /// One pass over `only` those fingerprints, or over every alert when nil.
    private func evaluatePass(only: Set<String>?) async {
        let now = clock.now()
        // Silences do not change what fires (a silenced alert's incident opens; the silence
        // mutes its paging): only inhibitions are looked up.
        let inhibited = inhibitions(now: now, only: only)
        var signals: [RuleSignal] = []
        // Fingerprint → whether it counts as firing after this pass, for those that change.
        var told: [String: Bool] = [:]
        var uncounted: [String: Entry] = [:]
        var delta: [String: Int] = [:]
        func look(_ fp: String, _ e: Entry) {
            // Inhibited alerts do not fire (Alertmanager's inhibition); silenced ones do: their
            // incident opens and stays, and the silence mutes its paging and containment.
            let firing = e.alert.isActive(at: now) && inhibited[fp] == nil
            if firing, !e.counted {
                signals.append(firingSignal(e, at: now))
                told[fp] = true
                delta[e.groupKey, default: 0] += 1
            } else if !firing, e.counted {
                uncounted[e.groupKey] = e
                told[fp] = false
                delta[e.groupKey, default: 0] -= 1
            }
        }
        if let only {
            for fp in only { if let e = entries[fp] { look(fp, e) } }
        } else {
            for (fp, e) in entries { look(fp, e) }
        }
        for (group, last) in uncounted where countedInGroup[group, default: 0] + delta[group, default: 0] <= 0 {
            signals.append(resolvedSignal(last, at: now))
        }
        if !told.isEmpty {
            // Told first, stored after: a crash in between repeats an occurrence rather than losing it.
            await deliver(signals)
            for (fp, counted) in told { setCounted(fp, counted) }
            do {
                try await writes.save(told.keys.compactMap { entries[$0].map { AlertRecord($0.alert, counted: $0.counted) } })
            } catch {
                logger.error("alerts: cannot store which alerts were told to incidents", metadata: ["error": "\(error)"])
            }
        }
        if only == nil { dropExpired(now: now) }
    }

    /// Silences and inhibitions of the alerts firing at `now`, by fingerprint (for the API).
    func statuses(now: Timestamp) async -> [String: (silenced: [String], inhibited: [String])] {
        let active = entries.values.filter { $0.alert.isActive(at: now) }
        var silenced: [String: [String]] = [:]
        if let muting {
            // One call for all: a suspension per alert made a pass over 20,000 alerts take tens
            // of milliseconds, during which newly posted alerts wait.
            let ids = await muting.silences(matchingEach: active.map(\.alert.labels), at: now)
            for (e, s) in zip(active, ids) where !s.isEmpty { silenced[e.alert.fingerprint] = s }
        }
        let inhibited = inhibitions(now: now, only: nil)
        var out: [String: (silenced: [String], inhibited: [String])] = [:]
        for e in active {
            let fp = e.alert.fingerprint
            out[fp] = (silenced[fp] ?? [], inhibited[fp] ?? [])
        }
        return out
    }

    /// The inhibited among the alerts firing at `now` (among `only` those, when given), each
    /// with its inhibitors' fingerprints. Alertmanager: a silenced alert still inhibits others;
    /// inhibition is judged among the firing, and only alerts matching a rule's source side can
    /// inhibit. No rules, no work.
    func inhibitions(now: Timestamp, only: Set<String>?) -> [String: [String]] {
        guard !routing.inhibitRules.isEmpty else { return [:] }
        let index = InhibitionIndex(rules: routing.inhibitRules, firing: inhibitionSources.compactMap { fp in
            entries[fp].flatMap { $0.alert.isActive(at: now) ? (fp, $0.alert.labels) : nil }
        })
        var out: [String: [String]] = [:]
        func look(_ e: Entry) {
            guard e.alert.isActive(at: now) else { return }
            let by = index.inhibitors(of: e.alert.labels)
            if !by.isEmpty { out[e.alert.fingerprint] = by }
        }
        if let only {
            for fp in only { if let e = entries[fp] { look(e) } }
        } else {
            for e in entries.values { look(e) }
        }
        return out
    }

    /// Forgets alerts resolved longer than the retention ago that no incident still counts.
    func dropExpired(now: Timestamp) {
        let cutoff = now - Self.resolvedRetention
        let expired = entries.filter { !$0.value.counted && $0.value.alert.endsAt < cutoff }.map(\.key)
        guard !expired.isEmpty else { return }
        for fp in expired { remove(fp) }
        // Queued now, so it lands before any later re-post of the same alert; a lost deletion
        // only means the next start drops them again.
        writes.saveEventually([], removing: expired)
    }
}
