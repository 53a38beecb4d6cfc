import Foundation
import Logging
import Synchronization
import VigilCore
import VigilMatchers
import VigilSilences
import VigilStore

/// What muted a page or an automated action: a silence or an open maintenance window.
public struct Mute: Sendable, Equatable, CustomStringConvertible {
    /// The silence's id, or `maintenance window NAME`.
    public var by: String
    public var isMaintenanceWindow: Bool
    public var description: String { by }
}

/// The daemon's silences: created, updated and expired through the control socket and the HTTP
/// API (each change stored, with an entry in every affected open incident's timeline, before it
/// is answered), and asked synchronously by the notification outbox and the response engine
/// whether an incident is muted now.
public actor SilenceService {
    let store: Store
    let clock: any VigilClock
    let logger: Logger
    /// What the mute checks read without awaiting the actor.
    private let snapshot: Mutex<SilenceBook>
    private let windows: Mutex<WindowState>
    struct WindowState {
        var all: [MaintenanceWindow]
        /// The minute (since the epoch) `open` was worked out for.
        var minute: Int64 = .min
        var open: [MaintenanceWindow] = []
    }
    /// Changes are made one at a time (planning reads the book that the previous change updated).
    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []
    /// The state each silence and window was last announced in, for the clock's expiry entries.
    var announced: [UUID: SilenceState] = [:]
    var openWindows: Set<String> = []
    /// Told about open incidents a silence or window stopped muting (the response engine looks again).
    var onUnmuted: (@Sendable ([Incident]) -> Void)?

    public init(store: Store, clock: any VigilClock, logger: Logger, windows: [MaintenanceWindow] = []) async throws {
        self.store = store
        self.clock = clock
        self.logger = logger
        var silences: [Silence] = []
        var announced: [UUID: SilenceState] = [:]
        for record in try await store.silences() {
            do {
                let s = try SilenceConversion.silence(record)
                silences.append(s)
                announced[s.id] = record.announced.flatMap(SilenceState.init(rawValue:))
            } catch {
                logger.error("stored silence no longer valid; ignored", metadata: ["id": "\(record.id)", "error": "\(error)"])
            }
        }
        let book = SilenceBook(silences)
        snapshot = Mutex(book)
        self.windows = Mutex(WindowState(all: windows))
        let now = clock.now()
        // What the timelines were last told; the first tick announces what changed while the daemon was down.
        for s in silences { self.announced[s.id] = announced[s.id] ?? s.state(at: now) }
        openWindows = Set(windows.filter { $0.isOpen(at: now) }.map(\.name))
    }

    public func setOnUnmuted(_ body: @escaping @Sendable ([Incident]) -> Void) { onUnmuted = body }

    /// Swaps in the maintenance windows of a reloaded configuration.
    public nonisolated func replace(windows new: [MaintenanceWindow]) { windows.withLock { $0 = WindowState(all: new) } }

    // MARK: reads (no awaiting)

    /// The first silence or open maintenance window muting `labels` now, if any.
    public nonisolated func muting(_ labels: [String: String]) -> Mute? {
        let now = clock.now()
        if let s = snapshot.withLock({ $0.muting(labels, at: now).first }) {
            return Mute(by: s.idText, isMaintenanceWindow: false)
        }
        if let w = openWindows(at: now).first(where: { $0.matchers.matches(labels) }) {
            return Mute(by: "maintenance window \(w.name)", isMaintenanceWindow: true)
        }
        return nil
    }

    /// The windows open at `now`, worked out once per minute (a cron window looks back minute by
    /// minute over its duration, too slow to repeat for every page).
    nonisolated func openWindows(at now: Timestamp) -> [MaintenanceWindow] {
        let minute = now.nanoseconds / 60_000_000_000
        return windows.withLock { state in
            if state.minute != minute {
                state.open = state.all.filter { $0.isOpen(at: now) }
                state.minute = minute
            }
            return state.open
        }
    }

    /// Ids of every active silence muting `labels` now (Alertmanager's `status.silencedBy` of an alert),
    /// and the names of the open maintenance windows that do.
    public nonisolated func silencedBy(_ labels: [String: String]) -> (silences: [String], windows: [String]) {
        let now = clock.now()
        let ids = snapshot.withLock { $0.muting(labels, at: now).map(\.idText) }
        return (ids, openWindows(at: now).filter { $0.matchers.matches(labels) }.map(\.name))
    }

    /// The mute of an incident (matched by ``SilenceLabels``).
    public nonisolated func muting(_ incident: Incident) -> Mute? { muting(SilenceLabels.of(incident)) }

    /// Every silence in Alertmanager's order (active by end, then pending by start, then expired,
    /// latest end first); with `filter`, only those Alertmanager's `GET /silences?filter=` lists: each
    /// filter matcher matches the silence's matcher value for that name (an empty filter value
    /// lets a silence without, or with, that name through, as Alertmanager's `matchFilterLabels`).
    public nonisolated func list(filter: LabelMatchers? = nil) -> [Silence] {
        let now = clock.now()
        let all = snapshot.withLock { Array($0.silences.values) }.filter { s in
            guard let filter else { return true }
            var values: [String: String] = [:]
            for m in s.matchers.matchers { values[m.name] = m.value }
            return filter.matchers.allSatisfy { m in
                let present = values[m.name] != nil
                if m.value.isEmpty, (m.type == .notEqual || m.type == .notRegexp) ? present : !present { return true }
                return m.matches(value: values[m.name] ?? "")
            }
        }
        func rank(_ s: Silence) -> Int {
            switch s.state(at: now) {
            case .active: 0
            case .pending: 1
            case .expired: 2
            }
        }
        return all.sorted { a, b in
            let (ra, rb) = (rank(a), rank(b))
            if ra != rb { return ra < rb }
            switch ra {
            case 0: return (a.endsAt, a.idText) < (b.endsAt, b.idText)
            case 1: return (a.startsAt, a.idText) < (b.startsAt, b.idText)
            default: return (a.endsAt, a.idText) > (b.endsAt, b.idText)
            }
        }
    }

    public nonisolated func silence(_ id: UUID) -> Silence? { snapshot.withLock { $0.silences[id] } }

    public nonisolated var maintenanceWindows: [MaintenanceWindow] { windows.withLock { $0.all } }

    // MARK: changes

    /// Creates or updates a silence (Alertmanager's rules); stored with its timeline entries before it returns.
    public func set(_ draft: SilenceDraft, actor: String) async throws -> SilenceBook.Change {
        await acquire()
        defer { release() }
        let now = clock.now()
        let change = try snapshot.withLock { book throws(SilenceError) in try book.plan(draft, now: now, newID: UUID()) }
        var rows = [change.silence]
        if let e = change.expired { rows.append(e) }
        try await persist(rows, now: now, actor: actor) { incident, labels in
            var lines: [String] = []
            if let old = change.expired, old.matchers.matches(labels) {
                lines.append("Silence \(old.idText) expired (replaced by \(change.silence.idText))")
            }
            let s = change.silence
            if s.matchers.matches(labels) {
                let verb = change.created ? "Silenced" : "Silence updated"
                let when = s.state(at: now) == .pending ? "from \(s.startsAt.rfc3339) " : ""
                lines.append("\(verb) by \(s.idText) \(when)until \(s.endsAt.rfc3339) (\(s.createdBy)): \(s.comment)")
            }
            return lines
        }
        snapshot.withLock { $0.apply(rows) }
        for r in rows { announced[r.id] = r.state(at: now) }
        logger.notice(change.created ? "silence created" : "silence updated", metadata: [
            "id": "\(change.silence.idText)", "matchers": "\(change.silence.matchers)", "actor": "\(actor)"])
        if let old = change.expired { await unmuted(by: old) }
        return change
    }

    /// Expires a silence now (`DELETE`); nil when it had already expired.
    @discardableResult
    public func expire(_ id: UUID, actor: String) async throws -> Silence? {
        await acquire()
        defer { release() }
        let now = clock.now()
        guard let expired = try snapshot.withLock({ book throws(SilenceError) in try book.planExpiry(id, now: now) }) else {
            return nil
        }
        try await persist([expired], now: now, actor: actor) { _, labels in
            expired.matchers.matches(labels) ? ["Silence \(expired.idText) expired by \(actor); paging and automated containment resume"] : []
        }
        snapshot.withLock { $0.apply([expired]) }
        announced[id] = .expired
        logger.notice("silence expired", metadata: ["id": "\(expired.idText)", "actor": "\(actor)"])
        await unmuted(by: expired)
        return expired
    }

    /// Stores `rows` and, in the same transaction, the lines `entries` gives for each open incident.
    func persist(_ rows: [Silence], now: Timestamp, actor: String,
                 entries: @escaping @Sendable (Incident, [String: String]) -> [String]) async throws {
        let records = rows.map { SilenceConversion.record($0, announced: $0.state(at: now)) }
        _ = try await store.write { tx in
            for r in records { try tx.save(silence: r) }
            for incident in try tx.openIncidents() {
                let lines = entries(incident, SilenceLabels.of(incident))
                guard !lines.isEmpty else { continue }
                try tx.commit(StoreChange(incident: incident, timeline: lines.map {
                    TimelineEntry(incidentID: incident.id, time: now, actor: actor, kind: .comment, message: $0,
                                  data: ["silence": rows[0].idText])
                }))
            }
        }
    }

    /// Offers the open incidents `silence` matched to the response engine again, and sends the
    /// pages it kept back for those nobody has acknowledged.
    func unmuted(by silence: Silence) async {
        guard let open = try? await store.openIncidents() else { return }
        let affected = open.filter { silence.matchers.matches(SilenceLabels.of($0)) && muting($0) == nil }
        guard !affected.isEmpty else { return }
        await resendMutedPages(affected, because: "silence \(silence.idText) ended")
        onUnmuted?(affected)
    }

    /// Puts back in the outbox the pages a silence or window kept from leaving, for each of
    /// `incidents` still unacknowledged (Alertmanager notifies what still fires once its silence
    /// ends; an acknowledged incident already has its responder), with a line in its timeline.
    func resendMutedPages(_ incidents: [Incident], because reason: String) async {
        let waiting = incidents.filter { $0.acknowledgedAt == nil }
        guard !waiting.isEmpty else { return }
        let now = clock.now()
        do {
            let resent = try await store.write { tx -> Int in
                var total = 0
                for incident in waiting {
                    let count = try tx.requeueSilencedNotifications(incidentID: incident.id, at: now)
                    guard count > 0 else { continue }
                    total += count
                    try tx.commit(StoreChange(incident: incident, timeline: [TimelineEntry(
                        incidentID: incident.id, time: now, actor: "vigild", kind: .comment,
                        message: "Paging resumed (\(reason)): \(count) muted notification\(count == 1 ? "" : "s") sent now",
                        data: ["resent": "\(count)"])]))
                }
                return total
            }
            if resent > 0 { logger.notice("muted pages re-sent", metadata: ["count": "\(resent)", "reason": "\(reason)"]) }
        } catch {
            logger.error("cannot re-send muted pages", metadata: ["reason": "\(reason)", "error": "\(error)"])
        }
    }

    /// Forgets (and deletes) silences past their retention.
    func purge(now: Timestamp) async {
        await acquire()
        defer { release() }
        let old = snapshot.withLock { $0.silences.values.filter { now - $0.endsAt > SilenceBook.retention }.map(\.id) }
        guard !old.isEmpty else { return }
        do {
            try await store.deleteSilences(ids: old.map { $0.uuidString.lowercased() })
            snapshot.withLock { _ = $0.purge(now: now) }
            for id in old { announced[id] = nil }
        } catch {
            logger.error("cannot purge old silences", metadata: ["error": "\(error)"])
        }
    }

    private func acquire() async {
        if !busy {
            busy = true
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    private func release() {
        if waiting.isEmpty { busy = false } else { waiting.removeFirst().resume() }
    }
}

extension SilenceService: AlertMuting {
    /// Ids of the active silences matching an alert's labels at `now`: `silencedBy` in the alerts
    /// API (maintenance windows mute incidents, not alerts' status).
    public nonisolated func silences(matching labels: [String: String], at now: Timestamp) async -> [String] {
        snapshot.withLock { $0.muting(labels, at: now).map(\.idText) }
    }

    /// The same for every alert of an evaluation pass under one lock hold.
    public nonisolated func silences(matchingEach labelSets: [[String: String]], at now: Timestamp) async -> [[String]] {
        snapshot.withLock { s in labelSets.map { s.muting($0, at: now).map(\.idText) } }
    }
}
