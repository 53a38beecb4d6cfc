import HeapModule
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
/// A sender is answered as soon as its alerts are on disk (writes of concurrent senders share
/// one transaction, ``AlertWriteQueue``); evaluation — routing to incidents, notifications —
/// follows in the background, coalesced, and looks only at the alerts that changed. A full pass
/// over every alert runs on each clock tick (leases running out, silences starting or ending),
/// after a reload, and when a changed alert can inhibit others.
///
/// Inhibited alerts do not count as firing; silenced ones do (the silence mutes their incident's
/// paging and containment) and show `silencedBy` in the API. Delivery to the incident service is
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
    let writes: AlertWriteQueue
    let clock: any VigilClock
    let logger: Logger
    var routing: AlertRouting
    var ladder: SeverityLadder
    var muting: (any AlertMuting)?
    let deliver: @Sendable ([RuleSignal]) async -> Void
    private(set) var entries: [String: Entry] = [:]
    /// Alerts being stored that are not yet in ``entries``: counted against ``capacity``.
    var arriving = 0
    /// Per group key, how many of its alerts are counted (a group resolves when this reaches 0).
    private(set) var countedInGroup: [String: Int] = [:]
    /// Alerts matching some inhibition rule's source side: a change to one of them can change
    /// whether others are inhibited, so it asks for a full pass.
    private(set) var inhibitionSources: Set<String> = []

    // Evaluation runs on one task at a time (the actor is reentrant across the awaits inside a
    // pass); work arriving meanwhile is coalesced into the next pass.
    /// Fingerprints stored since the last pass looked at them.
    var changed: Set<String> = []
    var fullPassRequested = false
    var evaluating = false
    /// Callers of ``evaluate()``: resumed when the next full pass has finished.
    var fullPassWaiters: [CheckedContinuation<Void, Never>] = []
    /// Callers of ``evaluated()``: resumed when nothing is left to evaluate.
    var idleWaiters: [CheckedContinuation<Void, Never>] = []
    /// Passes started and the last finished, and who waits for which (``tick()``).
    var passesTaken = 0
    var passesDone = 0
    var passWaiters: [(pass: Int, continuation: CheckedContinuation<Void, Never>)] = []

    /// When each alert's lease runs out, soonest first: a clock tick evaluates the alerts whose
    /// lease ran out since the last one, not every alert (a pass over 20,000 alerts took 40–80 ms,
    /// each second, while new alerts waited for the actor). At most one live check per alert
    /// (``leaseCheckAt``); a check that finds the lease renewed schedules the next.
    var leaseChecks = Heap<LeaseCheck>()
    /// The time of each alert's live check in ``leaseChecks`` (older ones left there are stale).
    var leaseCheckAt: [String: Int64] = [:]
    /// Ticks since start: the first and every ``fullPassTicks``-th after it are full passes.
    var ticks = 0
    /// Every this many ticks the clock runs a full pass, which also forgets long-resolved alerts.
    static let fullPassTicks = 60

    /// - Parameter deliver: hands signals to the incident service and returns once they are stored.
    public init(store: Store, routing: AlertRouting, ladder: SeverityLadder, clock: any VigilClock, logger: Logger,
                muting: (any AlertMuting)? = nil, deliver: @escaping @Sendable ([RuleSignal]) async -> Void) {
        self.store = store
        self.writes = AlertWriteQueue(store: store) { [logger] error in
            logger.warning("alerts: cannot delete expired alerts", metadata: ["error": "\(error)"])
        }
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
            put(entry(record.alert, counted: record.counted))
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
        var regrouped: [AlertRecord] = []
        for old in entries.values {
            var new = entry(old.alert, counted: old.counted)
            if new.groupKey != old.groupKey, old.counted {
                new.counted = false
                left[old.groupKey] = old
                regrouped.append(AlertRecord(new.alert, counted: false))
            }
            put(new)
        }
        let signals = left.filter { countedInGroup[$0.key, default: 0] == 0 }.map { resolvedSignal($0.value, at: clock.now()) }
        if !signals.isEmpty { await deliver(signals) }
        do { try await writes.save(regrouped) } catch {
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
            merged[fp] = entry(alert, counted: previous?.counted ?? false)
        }
        let added = merged.keys.filter { entries[$0] == nil }.count
        if entries.count + arriving + added > Self.capacity {
            dropExpired(now: now)
            guard entries.count + arriving + added <= Self.capacity else {
                throw AlertServiceError(description: "Vigil holds \(entries.count + arriving) alerts, its limit is \(Self.capacity)")
            }
        }
        arriving += added
        defer { arriving -= added }
        // Stored before the sender hears 200: a crash after the answer loses nothing.
        try await writes.save(merged.values.map { AlertRecord($0.alert, counted: $0.counted) })
        for (fp, e) in merged {
            var e = e
            // An evaluation may have run while this was being stored: it knows best what was told.
            e.counted = entries[fp]?.counted ?? e.counted
            put(e)
            changed.insert(fp)
        }
        startEvaluating()
    }

    /// The alerts firing now (not yet at their `endsAt`), without their routing or status.
    public func activeAlerts() -> [Alert] {
        let now = clock.now()
        return entries.values.map(\.alert).filter { $0.isActive(at: now) }
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

    func entry(_ alert: Alert, counted: Bool) -> Entry {
        let match = routing.route(alert.labels)
        let (key, labels) = routing.groupKey(alert.labels, match: match)
        return Entry(alert: alert, counted: counted, receiver: match.route.name ?? "vigil", groupKey: key,
                     groupLabels: labels, route: match.route)
    }

    // MARK: the indexes kept beside the entries

    /// Holds `e` (replacing the alert with its fingerprint), keeping the group counts and the
    /// inhibition sources in step. Every change to ``entries`` goes through here or ``remove(_:)``.
    func put(_ e: Entry) {
        let fp = e.alert.fingerprint
        if let old = entries[fp], old.counted { countedInGroup[old.groupKey, default: 0] -= 1 }
        if e.counted { countedInGroup[e.groupKey, default: 0] += 1 }
        if countedInGroup[e.groupKey] == 0 { countedInGroup[e.groupKey] = nil }
        entries[fp] = e
        // A lease already over cannot run out again: whatever it changes is evaluated now.
        if e.alert.endsAt > clock.now() { scheduleLeaseCheck(fp, at: e.alert.endsAt.nanoseconds) }
        if routing.inhibitRules.contains(where: { $0.source.matches(e.alert.labels) }) {
            inhibitionSources.insert(fp)
        } else {
            inhibitionSources.remove(fp)
        }
    }

    func remove(_ fp: String) {
        guard let old = entries.removeValue(forKey: fp) else { return }
        leaseCheckAt[fp] = nil
        if old.counted {
            countedInGroup[old.groupKey, default: 0] -= 1
            if countedInGroup[old.groupKey] == 0 { countedInGroup[old.groupKey] = nil }
        }
        inhibitionSources.remove(fp)
    }

    /// Makes sure the alert is looked at when its lease runs out at `endsAt`: a check already due
    /// sooner stays (it reschedules itself when it finds the lease renewed).
    private func scheduleLeaseCheck(_ fp: String, at endsAt: Int64) {
        if let due = leaseCheckAt[fp], due <= endsAt { return }
        leaseCheckAt[fp] = endsAt
        leaseChecks.insert(LeaseCheck(at: endsAt, fingerprint: fp))
        // Stale checks (leases shortened, alerts removed) wait in the heap until their time:
        // rebuilt from the live ones when they outnumber them, so a sender cannot grow it.
        if leaseChecks.count > 2 * leaseCheckAt.count + 1024 {
            leaseChecks = Heap(leaseCheckAt.map { LeaseCheck(at: $0.value, fingerprint: $0.key) })
        }
    }

    /// The clock's tick. Alerts whose lease ran out since the last tick are evaluated, found
    /// through ``leaseChecks``. The first tick (alerts restored from a previous run whose lease
    /// ran out while the daemon was down) and every ``fullPassTicks``-th after it are a full pass
    /// instead, which also forgets alerts resolved longer than the retention ago. Returns once
    /// they are evaluated.
    public func tick() async {
        ticks &+= 1
        if ticks % Self.fullPassTicks == 1 {
            await evaluate()
            return
        }
        let now = clock.now().nanoseconds
        var expired = false
        while let next = leaseChecks.min, next.at <= now {
            _ = leaseChecks.removeMin()
            guard leaseCheckAt[next.fingerprint] == next.at else { continue }
            leaseCheckAt[next.fingerprint] = nil
            guard let e = entries[next.fingerprint] else { continue }
            if e.alert.endsAt.nanoseconds > now {
                scheduleLeaseCheck(next.fingerprint, at: e.alert.endsAt.nanoseconds)
            } else {
                changed.insert(next.fingerprint)
                expired = true
            }
        }
        guard expired else { return }
        // The pass that takes these, not idleness: under a steady stream of posts evaluation may
        // never be idle, and the clock must keep its pace.
        await waitForNextPass()
    }

    func setCounted(_ fp: String, _ counted: Bool) {
        guard var e = entries[fp], e.counted != counted else { return }
        e.counted = counted
        put(e)
    }
}

/// When to look at an alert again: its lease's end.
struct LeaseCheck: Comparable {
    var at: Int64
    var fingerprint: String

    static func < (a: LeaseCheck, b: LeaseCheck) -> Bool { (a.at, a.fingerprint) < (b.at, b.fingerprint) }
}
