import Logging
import VigilCore
import VigilHTTP
import VigilStore

/// Why the alert service refused alerts.
public struct AlertServiceError: Error, CustomStringConvertible, Sendable {
    public var description: String
}

/// The daemon's side of the Alertmanager API: stores posted alerts (before the sender is
/// answered), routes them into groups, and turns each group into one incident through the same
/// signal path as a detection rule — an alert that starts firing is an occurrence of its group's
/// incident; when every alert of the group has resolved (or its lease ran out) the group sends
/// `resolved`, and the incident follows the condition-cleared policy (`incidents.when_condition_clears`).
///
/// Inhibited and silenced alerts do not count as firing. Delivery to the incident service is
/// at-least-once: a crash between telling it and storing that it was told repeats the
/// occurrence, never loses it.
public actor AlertService: AlertIntake {
    struct Entry {
        var alert: Alert
        /// Told to its group's incident as firing, and not since as resolved.
        var counted: Bool
        var receiver: String
        var groupKey: String
        var groupLabels: [String: String]
        var route: AlertRoute
    }

    /// At most this many alerts are held (resolved ones are kept ``resolvedRetention``):
    /// bounds what senders can make the daemon hold.
    public static let capacity = 100_000
    /// Resolved alerts are kept this long (for `GET` with resolved history and late updates).
    static let resolvedRetention: Duration = .seconds(3600)

    let store: Store
    let clock: any VigilClock
    let logger: Logger
    var routing: AlertRouting
    var ladder: SeverityLadder
    var muting: (any AlertMuting)?
    let deliver: @Sendable ([RuleSignal]) async -> Void
    var entries: [String: Entry] = [:]
    // One evaluation at a time (the actor is reentrant across the awaits inside one): callers
    // arriving during a pass ask for another and wait for it.
    var evaluating = false
    var evaluateAgain = false
    var evaluationWaiters: [CheckedContinuation<Void, Never>] = []

    /// - Parameter deliver: hands signals to the incident service and returns once they are stored.
    public init(store: Store, routing: AlertRouting, ladder: SeverityLadder, clock: any VigilClock, logger: Logger,
                muting: (any AlertMuting)? = nil, deliver: @escaping @Sendable ([RuleSignal]) async -> Void) {
        self.store = store
        self.routing = routing
        self.ladder = ladder
        self.clock = clock
        self.logger = logger
        self.muting = muting
        self.deliver = deliver
    }

    /// Loads the alerts stored by a previous run (their counted state included).
    public func restore() async throws {
        for record in try await store.alerts() {
            entries[record.fingerprint] = entry(record.alert, counted: record.counted)
        }
    }

    /// Sets who says which alerts are silenced (the silences service).
    public func setMuting(_ muting: (any AlertMuting)?) { self.muting = muting }

    /// Swaps in a reloaded route tree and ladder; alerts whose group changed leave their old
    /// group (which resolves if they were its last) and join the new one at the next evaluation.
    public func replace(routing: AlertRouting, ladder: SeverityLadder) async {
        self.routing = routing
        self.ladder = ladder
        var left: [String: Entry] = [:]
        var changed: [AlertRecord] = []
        for (fp, old) in entries {
            var new = entry(old.alert, counted: old.counted)
            if new.groupKey != old.groupKey, old.counted {
                new.counted = false
                left[old.groupKey] = old
                changed.append(AlertRecord(new.alert, counted: false))
            }
            entries[fp] = new
        }
        let stillCounted = Set(entries.values.filter(\.counted).map(\.groupKey))
        let signals = left.filter { !stillCounted.contains($0.key) }.map { resolvedSignal($0.value, at: clock.now()) }
        if !signals.isEmpty { await deliver(signals) }
        do { try await store.saveAlerts(changed) } catch {
            logger.error("alerts: cannot store regrouped alerts", metadata: ["error": "\(error)"])
        }
        await evaluate()
    }

    // MARK: AlertIntake

    public func accept(_ alerts: [Alert]) async throws {
        guard !alerts.isEmpty else { return }
        let now = clock.now()
        var merged: [String: Entry] = [:]
        for a in alerts {
            let fp = a.fingerprint
            var alert = a
            let previous = merged[fp] ?? entries[fp]
            // Alertmanager's merge: an update of an alert still firing keeps when it started.
            if let previous, previous.alert.isActive(at: now), previous.alert.startsAt < alert.startsAt {
                alert.startsAt = previous.alert.startsAt
            }
            var e = entry(alert, counted: previous?.counted ?? false)
            e.counted = previous?.counted ?? false
            merged[fp] = e
        }
        let added = merged.keys.filter { entries[$0] == nil }.count
        if entries.count + added > Self.capacity {
            dropExpired(now: now)
            guard entries.count + added <= Self.capacity else {
                throw AlertServiceError(description: "Vigil holds \(entries.count) alerts, its limit is \(Self.capacity)")
            }
        }
        try await store.saveAlerts(merged.values.map { AlertRecord($0.alert, counted: $0.counted) })
        for (fp, e) in merged {
            var e = e
            // An evaluation may have run while this was being stored: it knows best what was told.
            e.counted = entries[fp]?.counted ?? e.counted
            entries[fp] = e
        }
        await evaluate()
    }

    public func snapshot() async -> [AlertSnapshot] {
        let now = clock.now()
        let status = await statuses(now: now)
        return entries.values.filter { $0.alert.isActive(at: now) }.map { e in
            let fp = e.alert.fingerprint
            return AlertSnapshot(alert: e.alert, receiver: e.receiver, groupKey: e.groupKey, groupLabels: e.groupLabels,
                                 silencedBy: status[fp]?.silenced ?? [], inhibitedBy: status[fp]?.inhibited ?? [])
        }
    }

    // MARK: evaluation

    /// Compares every alert's firing state with what its incident was told, tells the
    /// differences (firing: new occurrences; a group with nothing left firing: resolved), then
    /// stores what was told. Called after each intake and by ``AlertClockService`` (leases).
    /// Returns once a pass that started after the call has finished.
    public func evaluate() async {
        if evaluating {
            evaluateAgain = true
            await withCheckedContinuation { evaluationWaiters.append($0) }
            return
        }
        evaluating = true
        repeat {
            evaluateAgain = false
            let waiting = evaluationWaiters
            evaluationWaiters = []
            await evaluatePass()
            for w in waiting { w.resume() }
        } while evaluateAgain || !evaluationWaiters.isEmpty
        evaluating = false
    }

    private func evaluatePass() async {
        let now = clock.now()
        let status = await statuses(now: now)
        var signals: [RuleSignal] = []
        // Fingerprint → whether it counts as firing after this pass, for those that change.
        var told: [String: Bool] = [:]
        var uncounted: [String: Entry] = [:]
        for (fp, e) in entries {
            let firing = e.alert.isActive(at: now) && status[fp].map { $0.silenced.isEmpty && $0.inhibited.isEmpty } ?? true
            if firing, !e.counted {
                signals.append(firingSignal(e, at: now))
                told[fp] = true
            } else if !firing, e.counted {
                uncounted[e.groupKey] = e
                told[fp] = false
            }
        }
        let stillFiring = Set(entries.compactMap { fp, e in (told[fp] ?? e.counted) ? e.groupKey : nil })
        for (group, last) in uncounted where !stillFiring.contains(group) {
            signals.append(resolvedSignal(last, at: now))
        }
        guard !told.isEmpty else { return dropExpired(now: now) }
        // Told first, stored after: a crash in between repeats an occurrence rather than losing it.
        await deliver(signals)
        for (fp, counted) in told { entries[fp]?.counted = counted }
        do {
            try await store.saveAlerts(told.keys.compactMap { entries[$0].map { AlertRecord($0.alert, counted: $0.counted) } })
        } catch {
            logger.error("alerts: cannot store which alerts were told to incidents", metadata: ["error": "\(error)"])
        }
        dropExpired(now: now)
    }

    /// Silences and inhibitions of the alerts firing at `now`, by fingerprint.
    func statuses(now: Timestamp) async -> [String: (silenced: [String], inhibited: [String])] {
        let active = entries.values.filter { $0.alert.isActive(at: now) }
        var out: [String: (silenced: [String], inhibited: [String])] = [:]
        var silenced: [String: [String]] = [:]
        if let muting {
            for e in active { silenced[e.alert.fingerprint] = await muting.silences(matching: e.alert.labels, at: now) }
        }
        // Alertmanager: a silenced alert still inhibits others; inhibition is judged among the firing.
        let index = routing.inhibitRules.isEmpty ? nil
            : InhibitionIndex(rules: routing.inhibitRules, firing: active.map { ($0.alert.fingerprint, $0.alert.labels) })
        for e in active {
            let fp = e.alert.fingerprint
            let inhibited = index?.inhibitors(of: e.alert.labels) ?? []
            out[fp] = (silenced[fp] ?? [], inhibited)
        }
        return out
    }

    /// Forgets alerts resolved longer than the retention ago that no incident still counts.
    func dropExpired(now: Timestamp) {
        let cutoff = now - Self.resolvedRetention
        let expired = entries.filter { !$0.value.counted && $0.value.alert.endsAt < cutoff }.map(\.key)
        guard !expired.isEmpty else { return }
        for fp in expired { entries[fp] = nil }
        Task { [store, logger] in
            do { try await store.saveAlerts([], removing: expired) } catch {
                logger.warning("alerts: cannot delete expired alerts", metadata: ["error": "\(error)"])
            }
        }
    }

    func entry(_ alert: Alert, counted: Bool) -> Entry {
        let match = routing.route(alert.labels)
        let (key, labels) = routing.groupKey(alert.labels, match: match)
        return Entry(alert: alert, counted: counted, receiver: match.route.name ?? "vigil", groupKey: key,
                     groupLabels: labels, route: match.route)
    }
}
