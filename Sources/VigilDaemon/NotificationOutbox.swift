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

/// How the outbox retries: exponential backoff from `initial`, doubling up to `maximum`,
/// giving up (state `failed`) after `maxAttempts`.
public struct RetryPolicy: Sendable, Equatable {
    public var initial: Duration
    public var maximum: Duration
    public var maxAttempts: Int

    public init(initial: Duration = .seconds(2), maximum: Duration = .seconds(300), maxAttempts: Int = 12) {
        self.initial = initial
        self.maximum = maximum
        self.maxAttempts = maxAttempts
    }

    /// The wait after the `attempts`-th failed attempt (1-based).
    public func delay(afterAttempt attempts: Int) -> Duration {
        let factor = 1 << min(max(attempts - 1, 0), 20)
        let nanos = min(initial.nanoseconds.multipliedReportingOverflow(by: Int64(factor)).partialValue,
                        maximum.nanoseconds)
        return .nanoseconds(nanos)
    }
}

/// The durable outbox of notifications: every notification is stored (state `pending`) in
/// the same transaction as the incident change that caused it, and this service delivers
/// pending ones until they are `sent` or `failed`. A daemon killed mid-delivery finds them
/// still pending at its next start, so nothing is lost (a notification may be delivered twice
/// in that window; receivers should dedup on the notification id).
public actor NotificationOutbox {
    private let store: Store
    private let clock: any VigilClock
    private let logger: Logger
    private let retry: RetryPolicy
    private var deliveries: [any NotificationDelivery] = []
    /// A notifier whose breaker is open is not called; its notifications wait (not counted as attempts).
    private let breakers: CircuitBreakers?

    public init(store: Store, clock: any VigilClock, logger: Logger, retry: RetryPolicy = RetryPolicy(),
                breakers: CircuitBreakers? = nil) {
        self.store = store
        self.clock = clock
        self.logger = logger
        self.retry = retry
        self.breakers = breakers
    }

    public func register(_ delivery: any NotificationDelivery) { deliveries.append(delivery) }

    /// Says whether a silence or maintenance window mutes an incident's pages now.
    private var muter: (@Sendable (Incident) -> Mute?)?

    /// Sets the check that mutes pages (the daemon's ``SilenceService``).
    public func setMuter(_ muter: @escaping @Sendable (Incident) -> Mute?) { self.muter = muter }

    private var delivering = false
    private var again = false

    /// Delivers what is due now, unless a delivery pass is running (which then runs once more).
    /// The store calls this after every commit that queued notifications.
    public func kick() async {
        if delivering {
            again = true
            return
        }
        delivering = true
        repeat {
            again = false
            do { try await deliverDue() } catch {
                logger.error("notification outbox failed", metadata: ["error": "\(error)"])
            }
        } while again
        delivering = false
    }

    /// At most this many notifications are handed to notifiers at once: a notifier plugin
    /// answers requests concurrently (the Python SDK on a pool of 4 worker threads, within its
    /// `processes` limit), and one slow receiver must not hold every other page back.
    public static let concurrentDeliveries = 8

    /// What one attempt decided: the notification's new state and the timeline line, if any.
    struct Outcome: Sendable {
        var notification: NotificationRecord
        var timeline: String?
        var sent: Bool
    }

    /// Attempts every pending notification that is due, a few at a time; the outcomes of each
    /// round are stored in one transaction (their states and timeline lines). Returns how many were sent.
    @discardableResult
    public func deliverDue() async throws -> Int {
        let now = clock.now()
        let due = try await store.pendingNotifications().filter { n in n.nextAttemptAt.map { $0 <= now.nanoseconds } ?? true }
        var sent = 0
        var start = 0
        while start < due.count {
            let round = due[start..<min(start + Self.concurrentDeliveries, due.count)]
            start += round.count
            // The round's incidents in one read, each once (an incident has several pages).
            let incidents = try await store.incidents(ids: Set(round.compactMap(\.incidentID)))
            let outcomes = await withTaskGroup(of: Outcome?.self) { group in
                for n in round {
                    let incident = n.incidentID.flatMap { incidents[$0] }
                    group.addTask { await self.attempt(n, incident: incident, now: now) }
                }
                var out: [Outcome] = []
                for await o in group { if let o { out.append(o) } }
                return out
            }
            sent += outcomes.filter(\.sent).count
            try await save(outcomes, at: now)
        }
        return sent
    }

    /// One attempt at one notification: nil when nothing changed.
    private func attempt(_ notification: NotificationRecord, incident: Incident?, now: Timestamp) async -> Outcome? {
        var n = notification
        // A silence or maintenance window mutes the page: recorded as such, never delivered.
        if let incident, let mute = muter?(incident) {
            n.state = "silenced"
            n.lastError = "silenced by \(mute)"
            n.nextAttemptAt = nil
            return Outcome(notification: n, timeline: "Did not send \(n.channel) notification to \(n.recipients.joined(separator: ", ")): "
                + "silenced by \(mute): \(n.subject)", sent: false)
        }
        // A notifier claiming the channel by name wins; one claiming "*" takes the rest.
        let claimed = deliveries.first { $0.channels.contains(n.channel) } ?? deliveries.first { $0.channels.contains("*") }
        guard let delivery = claimed else {
            // No notifier for this channel yet (plugins may still be starting): wait, don't fail.
            n.nextAttemptAt = (now + retry.initial).nanoseconds
            n.lastError = "no notifier handles channel \"\(n.channel)\""
            return Outcome(notification: n, timeline: nil, sent: false)
        }
        if let breakers, !breakers.allow(delivery.breakerKey, now: now) {
            let b = breakers.breaker(delivery.breakerKey)
            n.nextAttemptAt = (b.retryAt(openFor: breakers.openFor) ?? now + breakers.openFor).nanoseconds
            n.lastError = "circuit breaker of \(delivery.breakerKey) is \(b.state.rawValue)" + (b.reason.map { ": \($0)" } ?? "")
            return Outcome(notification: n, timeline: nil, sent: false)
        }
        n.attempts += 1
        do {
            try await delivery.deliver(n, incident: incident)
            breakers?.succeeded(delivery.breakerKey)
            n.state = "sent"
            n.lastError = nil
            n.nextAttemptAt = nil
            return Outcome(notification: n, timeline: "Delivered \(n.channel) notification to \(n.recipients.joined(separator: ", ")) "
                + "via \(delivery.name) (attempt \(n.attempts)): \(n.subject)", sent: true)
        } catch {
            n.lastError = "\(error)"
            breakers?.failed(delivery.breakerKey, now: now, reason: "\(error)")
            if n.attempts >= retry.maxAttempts {
                n.state = "failed"
                logger.error("notification failed for good", metadata: [
                    "id": "\(n.id ?? -1)", "incident": "\(n.incidentID ?? "-")", "error": "\(error)"])
                return Outcome(notification: n, timeline: "Giving up on \(n.channel) notification to "
                    + "\(n.recipients.joined(separator: ", ")) after \(n.attempts) attempts: \(error)", sent: false)
            }
            n.nextAttemptAt = (now + retry.delay(afterAttempt: n.attempts)).nanoseconds
            logger.warning("notification delivery failed; will retry", metadata: [
                "id": "\(n.id ?? -1)", "attempt": "\(n.attempts)", "error": "\(error)"])
            return Outcome(notification: n, timeline: nil, sent: false)
        }
    }

    /// Stores a round's outcomes in one transaction: each notification's state, and the
    /// delivery lines in their incidents' timelines.
    private func save(_ outcomes: [Outcome], at now: Timestamp) async throws {
        guard !outcomes.isEmpty else { return }
        try await store.write { tx in
            var lines: [String: [TimelineEntry]] = [:]
            var order: [String] = []
            for o in outcomes {
                try tx.update(o.notification)
                guard let id = o.notification.incidentID, let message = o.timeline else { continue }
                if lines[id] == nil { order.append(id) }
                lines[id, default: []].append(TimelineEntry(
                    incidentID: id, time: now, actor: "vigild", kind: .notification, message: message,
                    data: ["notification": "\(o.notification.id ?? 0)", "channel": o.notification.channel,
                           "state": o.notification.state]))
            }
            for id in order {
                guard let incident = try tx.incident(id: id) else { continue }
                _ = try tx.commit(StoreChange(incident: incident, timeline: lines[id] ?? []))
            }
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
