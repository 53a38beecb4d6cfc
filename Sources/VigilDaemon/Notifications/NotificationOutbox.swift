import Foundation
import Logging
import ServiceLifecycle
import VigilCore
import VigilStore

/// Delivers one notification on one channel; implemented by the notifier-plugin bridge.
public protocol NotificationDelivery: Sendable {
    /// The channels this delivery can reach (`webhook`, `email`, …).
    var channels: Set<String> { get }
    /// What delivers (`webhook`), for the timeline.
    var name: String { get }
    /// The circuit breaker it answers to (default: ``name``; a notifier plugin's own name).
    var breakerKey: String { get }
    /// Delivers `notification`; throws with a sentence when it could not.
    func deliver(_ notification: NotificationRecord, incident: Incident?) async throws
}

extension NotificationDelivery {
    /// The circuit breaker this delivery answers to (a notifier plugin's name).
    public var breakerKey: String { name }
}

/// The durable outbox of notifications: every notification is stored (state `pending`) in
/// the same transaction as the incident change that caused it, and this service delivers
/// pending ones until they are `sent` or `failed`. A daemon killed mid-delivery finds them
/// still pending at its next start, so nothing is lost (a notification may be delivered twice
/// in that window; receivers should dedup on the notification id).
/// The notifier is still starting (the daemon's start, or a restart): its pages wait for it, for
/// a while, without counting an attempt.
public struct NotifierStarting: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A delivery the receiver refused for good (the notifier said `"permanent": true` in its
/// result's evidence): not retried; the person's next contact method is tried at once.
public struct PermanentDeliveryFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

public actor NotificationOutbox {
    let store: Store
    let clock: any VigilClock
    let logger: Logger
    private(set) var policy: DeliveryPolicy
    var deliveries: [any NotificationDelivery] = []
    /// A notifier whose breaker is open is not called; its notifications wait (not counted as attempts).
    let breakers: CircuitBreakers?
    /// Draws the jitter of each retry's wait.
    var random: any RandomNumberGenerator & Sendable
    var rateLimits: ChannelRateLimits
    /// Opens the daemon's notification-failure incidents; without it a person nobody could
    /// reach is only logged and noted in the incident's timeline.
    private(set) var incidents: IncidentService?

    /// - Parameter random: the source of the retries' jitter (tests pass a seeded one).
    public init(store: Store, clock: any VigilClock, logger: Logger, policy: DeliveryPolicy = DeliveryPolicy(),
                breakers: CircuitBreakers? = nil,
                random: any RandomNumberGenerator & Sendable = SystemRandomNumberGenerator()) {
        self.store = store
        self.clock = clock
        self.logger = logger
        self.policy = policy
        self.breakers = breakers
        self.random = random
        self.rateLimits = ChannelRateLimits(policy.rateLimits)
        self.startedAt = clock.now()
    }

    /// When this outbox began: pages stored before a restart also get the starting grace.
    let startedAt: Timestamp

    public func register(_ delivery: any NotificationDelivery) { deliveries.append(delivery) }

    /// Takes a reloaded `notifications:` section; notifications already waiting keep their times.
    public func replace(policy: DeliveryPolicy) {
        self.policy = policy
        rateLimits.replace(policy.rateLimits)
    }

    /// Has every notification that fails for good, with no contact method left to try, open
    /// (or add to) the daemon's notification-failure incident through `incidents`.
    public func reportFailures(to incidents: IncidentService) { self.incidents = incidents }

    /// Says whether a silence or maintenance window mutes an incident's pages now.
    private(set) var muter: (@Sendable (Incident) -> Mute?)?

    /// Sets the check that mutes pages (the daemon's ``SilenceService``).
    public func setMuter(_ muter: @escaping @Sendable (Incident) -> Mute?) { self.muter = muter }

    private var delivering = false
    /// A pass over every pending notification is asked for (a poll, a retry falling due, pages a
    /// silence put back): the next pass reads them all.
    private var fullPassRequested = false
    /// Notifications handed over by the transaction that queued them, not yet taken by a pass
    /// (each already marked in flight), with their incidents as stored.
    private var handed: [(notification: NotificationRecord, incident: Incident?)] = []
    /// Notifications whose outcome was stored in the last ``settledMemory``, by when: a hand-over
    /// reaches the outbox in a task of its own, so a poll's full pass may have read the committed
    /// row, delivered it and stored the outcome first; the late hand-over must not send it again.
    private var settled: [Int64: ContinuousClock.Instant] = [:]
    private var settledPruned = ContinuousClock.now
    static let settledMemory: Duration = .seconds(30)
    /// Wakes a running delivery pass when new notifications are queued, so they need not wait
    /// for the deliveries in flight (a notifier that hangs until its deadline).
    private var wakeRunningPass: AsyncStream<Void>.Continuation?
    /// Notifications being attempted, or attempted and not yet stored: never attempted twice at once.
    private var inFlight: Set<Int64> = []
    /// Deliveries in flight per notifier (its breaker key).
    private var busy: [String: Int] = [:]

    /// Delivers every pending notification that is due now. While a delivery pass runs, a kick
    /// makes it look for new notifications at once (and run a full pass once more when it ends).
    public func kick() async {
        fullPassRequested = true
        await run()
    }

    /// Delivers what a committed transaction just queued (``Store/onNotificationsQueued(_:)``),
    /// starting from the records and incidents it hands over: nothing is read back from the
    /// store on a page's way out. Unlisted ones (pages a silence put back) ask for a full pass.
    public func kick(_ queued: QueuedNotifications) async {
        let now = clock.now()
        for item in queued.inserted {
            let n = item.notification
            guard let id = n.id, n.state == "pending", n.nextAttemptAt.map({ $0 <= now.nanoseconds }) ?? true,
                  settled[id] == nil, inFlight.insert(id).inserted else { continue }
            handed.append(item)
        }
        if queued.unlisted { fullPassRequested = true }
        guard !handed.isEmpty || queued.unlisted else { return }
        await run()
    }

    private func run() async {
        if delivering {
            wakeRunningPass?.yield()
            return
        }
        delivering = true
        while fullPassRequested || !handed.isEmpty {
            let full = fullPassRequested
            fullPassRequested = false
            do { try await deliverDue(readingAll: full) } catch {
                logger.error("notification outbox failed", metadata: ["error": "\(error)"])
            }
        }
        delivering = false
    }

    /// At most this many notifications are handed to notifiers at once: a notifier plugin
    /// answers requests concurrently (the Python SDK on a pool of worker threads, 4 by default
    /// and 8 in the bundled webhook, within its `processes` limit), and one slow receiver must
    /// not hold every other page back. Measured with 2,000 distinct alerts (four pages each) to
    /// the bundled webhook: 8 at once (4 per notifier) delivered 168 alerts/s, 32 (12) 224.
    public static let concurrentDeliveries = 32
    /// How soon a page held back by a half-open breaker (its one trial in flight) looks again.
    static let halfOpenRecheck: Duration = .seconds(1)
    /// A page waits this long at most for a notifier that is starting before its attempts count
    /// (a notifier that never gets running must not hold it for ever), looking again every
    /// ``startingRecheck``.
    static let startingGrace: Duration = .seconds(30)
    static let startingRecheck: Duration = .milliseconds(250)
    /// At most this many of them go to one notifier: a notifier that hangs (until the deadline
    /// of its requests) holds these slots, never the other notifiers' pages.
    public static let concurrentDeliveriesPerNotifier = 12

    /// What one attempt decided: the notification's new state and the timeline line, if any.
    struct Outcome: Sendable {
        var notification: NotificationRecord
        var timeline: String?
        var sent: Bool
        /// The incident as the attempt saw it: its timeline line is appended without reading it again.
        var incident: Incident? = nil
        /// A delivery was attempted and failed (not a wait for a breaker, a rate limit or a notifier).
        var failed = false
    }

    /// What a delivery pass waits for.
    private enum Step: Sendable {
        /// One attempt ended (nil: nothing to store); its notifier's slot is free.
        case attempted(Outcome?, notifier: String?, id: Int64?)
        /// A batch of outcomes was stored (or could not be).
        case stored(ids: [Int64], error: (any Error)?)
        /// New notifications were queued.
        case kicked
    }

    /// Attempts every pending notification that is due: up to ``concurrentDeliveries`` at once,
    /// at most ``concurrentDeliveriesPerNotifier`` per notifier, each next one started as soon as
    /// a slot is free — a slow notifier never holds another's page back. Outcomes (states and
    /// timeline lines) are stored as they come, those that arrive together in one transaction.
    /// Notifications queued while the pass runs are picked up by it. Returns how many were sent.
    @discardableResult
    public func deliverDue() async throws -> Int {
        try await deliverDue(readingAll: true)
    }

    /// A delivery pass over what was handed over, and every pending notification that is due
    /// when `readingAll`.
    private func deliverDue(readingAll: Bool) async throws -> Int {
        // Listening from the start: what is handed over while the pending ones are read is
        // taken by this pass, not left for the next.
        let (kicks, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let previousWake = wakeRunningPass
        wakeRunningPass = wake
        defer { wakeRunningPass = previousWake; wake.finish() }
        var queue = DueQueue()
        var newest: Int64 = 0
        // Incidents as their notifications' transaction stored them: not read again.
        var snapshots: [Int64: Incident] = [:]
        func take(_ items: [(notification: NotificationRecord, incident: Incident?)]) {
            for (n, incident) in items {
                queue.append(n, key: delivery(for: n)?.breakerKey)
                newest = max(newest, n.id ?? 0)
                if let id = n.id, let incident { snapshots[id] = incident }
            }
        }
        // The pending ones are read before the hand-overs are taken: if the read fails, those
        // stay handed (and in flight) for the next pass rather than being dropped with this one.
        if readingAll {
            for n in try await due(after: nil) {
                queue.append(n, key: delivery(for: n)?.breakerKey)
                newest = max(newest, n.id ?? 0)
            }
        }
        take(handed)
        handed = []
        guard !queue.isEmpty else { return 0 }
        var sent = 0
        var failure: (any Error)?
        var unsaved: [Outcome] = []
        var storing = false
        var running = 0

        let leftover = await withTaskGroup(of: Step.self) { group -> [Int64] in
            // Starts what fits: each notifier's queue in order, none beyond its share of the slots.
            // Returns why nothing could start (the store could not be read), if so.
            func fill() async -> (any Error)? {
                var starting: [(NotificationRecord, String?)] = []
                var load = busy
                while running + starting.count < Self.concurrentDeliveries,
                      let (n, key) = queue.next(where: { load[$0, default: 0] < Self.concurrentDeliveriesPerNotifier }) {
                    if let key { load[key, default: 0] += 1 }
                    starting.append((n, key))
                }
                busy = load
                guard !starting.isEmpty else { return nil }
                // Each page's incident: the copy its own transaction handed over, else one read
                // for the rest, each incident once (an incident has several pages).
                var handedIncident: [Int64: Incident] = [:]
                for (n, _) in starting {
                    if let id = n.id, let incident = snapshots.removeValue(forKey: id) { handedIncident[id] = incident }
                }
                let unread = Set(starting.filter { n, _ in n.id.map { handedIncident[$0] == nil } ?? true }
                    .compactMap(\.0.incidentID))
                var incidents: [String: Incident] = [:]
                do {
                    if !unread.isEmpty { incidents = try await store.incidents(ids: unread) }
                } catch {
                    // Not attempted now: they stay pending for the next pass.
                    for (n, key) in starting {
                        if let key { busy[key, default: 1] -= 1 }
                        if let id = n.id { inFlight.remove(id) }
                    }
                    return error
                }
                for (n, key) in starting {
                    running += 1
                    let incident = n.id.flatMap { handedIncident[$0] } ?? n.incidentID.flatMap { incidents[$0] }
                    group.addTask {
                        var outcome = await self.attempt(n, incident: incident)
                        outcome?.incident = incident
                        return .attempted(outcome, notifier: key, id: n.id)
                    }
                }
                return nil
            }
            func storeOutcomes() {
                guard !storing, !unsaved.isEmpty else { return }
                storing = true
                let batch = unsaved
                unsaved = []
                group.addTask {
                    do {
                        try await self.save(batch)
                        return .stored(ids: batch.compactMap(\.notification.id), error: nil)
                    } catch {
                        return .stored(ids: batch.compactMap(\.notification.id), error: error)
                    }
                }
            }
            func listen() {
                group.addTask {
                    for await _ in kicks { return .kicked }
                    return .kicked
                }
            }

            if let error = await fill() { failure = error }
            listen()
            while running > 0 || storing || !unsaved.isEmpty {
                guard let step = await group.next() else { break }
                switch step {
                case .attempted(let outcome, let key, let id):
                    running -= 1
                    if let key { busy[key, default: 1] -= 1 }
                    if let outcome {
                        if outcome.sent { sent += 1 }
                        unsaved.append(outcome)
                    } else if let id {
                        inFlight.remove(id)
                    }
                    storeOutcomes()
                    if let error = await fill(), failure == nil { failure = error }
                case .stored(let ids, let error):
                    storing = false
                    inFlight.subtract(ids)
                    if error == nil { remember(settled: ids) }
                    if let error, failure == nil { failure = error }
                    storeOutcomes()
                case .kicked:
                    take(handed)
                    handed = []
                    // A full pass asked for: what was queued since now, older pending
                    // notifications that became due again (retries, pages a silence released)
                    // in the full pass that follows this one.
                    if fullPassRequested, let fresh = try? await due(after: newest) {
                        for n in fresh {
                            queue.append(n, key: delivery(for: n)?.breakerKey)
                            newest = max(newest, n.id ?? 0)
                        }
                    }
                    if let error = await fill(), failure == nil { failure = error }
                    listen()
                }
            }
            group.cancelAll()
            return queue.remainingIDs
        }
        // Whatever could not start (its notifier busy with another pass's deliveries) waits for the next pass.
        inFlight.subtract(leftover)
        if let failure { throw failure }
        return sent
    }

    private func remember(settled ids: [Int64]) {
        let now = ContinuousClock.now
        for id in ids { settled[id] = now }
        if now - settledPruned >= .seconds(1) {
            settledPruned = now
            settled = settled.filter { now - $0.value < Self.settledMemory }
        }
    }

    /// The pending notifications that are due now (with an id above `after`, when given) and not
    /// already being attempted; each is marked as being attempted.
    private func due(after: Int64?) async throws -> [NotificationRecord] {
        let now = clock.now()
        let due = try await store.pendingNotifications(after: after).filter { n in
            (n.nextAttemptAt.map { $0 <= now.nanoseconds } ?? true) && !inFlight.contains(n.id ?? -1)
        }
        inFlight.formUnion(due.compactMap(\.id))
        return due
    }

    /// A delivery pass's notifications waiting for a slot: one first-in-first-out line per
    /// notifier, so finding the next one a free notifier can take never scans the others.
    struct DueQueue {
        private var lines: [String: (items: [NotificationRecord], head: Int)] = [:]
        /// The notifiers in the order their first notification came.
        private var order: [String] = []
        private static let unclaimed = "\u{0}unclaimed"
        private(set) var count = 0

        var isEmpty: Bool { count == 0 }

        mutating func append(_ n: NotificationRecord, key: String?) {
            let k = key ?? Self.unclaimed
            if lines[k] == nil { order.append(k); lines[k] = ([], 0) }
            lines[k]?.items.append(n)
            count += 1
        }

        /// The oldest notification of the first notifier in order that has one and `hasRoom`
        /// (a notification no notifier claims always has room), taken off the queue.
        mutating func next(where hasRoom: (String) -> Bool) -> (NotificationRecord, String?)? {
            for k in order {
                guard let line = lines[k], line.head < line.items.count else { continue }
                let key: String? = k == Self.unclaimed ? nil : k
                if let key, !hasRoom(key) { continue }
                let n = line.items[line.head]
                if line.head + 1 == line.items.count {
                    lines[k] = ([], 0)
                } else {
                    lines[k]?.head += 1
                }
                count -= 1
                return (n, key)
            }
            return nil
        }

        var remainingIDs: [Int64] {
            lines.values.flatMap { $0.items[$0.head...].compactMap(\.id) }
        }
    }
}

/// Runs the outbox every `interval` until shutdown.
struct NotificationOutboxService: Service {
    let outbox: NotificationOutbox
    let interval: Duration
    let logger: Logger

    func run() async throws {
        try await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await outbox.kick()
                try? await Task.sleep(for: interval)
            }
        }
    }
}
