import Logging
import VigilCore
import VigilIncidents
import VigilStore

extension NotificationOutbox {
    /// The notifier for a notification's channel: one claiming the channel by name wins, one
    /// claiming `*` takes the rest.
    func delivery(for n: NotificationRecord) -> (any NotificationDelivery)? {
        deliveries.first { $0.channels.contains(n.channel) } ?? deliveries.first { $0.channels.contains("*") }
    }

    /// One attempt at one notification: nil when nothing changed.
    func attempt(_ notification: NotificationRecord, incident: Incident?) async -> Outcome? {
        let now = clock.now()
        var n = notification
        // A silence or maintenance window mutes the page: recorded as such, never delivered.
        if let incident, let mute = muter?(incident) {
            rateLimits.release(n.id)
            n.state = "silenced"
            n.lastError = "silenced by \(mute)"
            n.nextAttemptAt = nil
            return Outcome(notification: n, timeline: "Did not send \(n.channel) notification to \(n.recipients.joined(separator: ", ")): "
                + "silenced by \(mute): \(n.subject)", sent: false)
        }
        guard let delivery = delivery(for: n) else {
            // Notifiers are registered from their manifests before the outbox first runs (a
            // plugin still starting fails in `deliver`), so none for a channel means none is
            // configured: a failed attempt like any other, so the person's next method is tried
            // and a page nobody can deliver ends in a notification-failure incident, not pending for ever.
            n.attempts += 1
            return failed(n, error: "no notifier handles channel \"\(n.channel)\"", now: now, permanent: true)
        }
        // Over its channel's rate it waits for its slot: neither an attempt nor a failure. Asked
        // before the breaker, whose half-open trial must be a real call once let through.
        if let slot = rateLimits.admit(n, now: now) {
            n.nextAttemptAt = slot.nanoseconds
            return Outcome(notification: n, timeline: nil, sent: false)
        }
        if let breakers, !breakers.allow(delivery.breakerKey, now: now) {
            let b = breakers.breaker(delivery.breakerKey)
            // Open: until its trial is due. Half-open, its one trial in flight: soon, to follow the
            // trial's outcome (not a whole open period more for every page checked meanwhile).
            let wait = b.state == .halfOpen ? Self.halfOpenRecheck : breakers.openFor
            n.nextAttemptAt = (b.retryAt(openFor: breakers.openFor) ?? now + wait).nanoseconds
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
        } catch let error as NotifierStarting where now - max(Timestamp(nanoseconds: n.createdAt), startedAt) < Self.startingGrace {
            // Not an attempt: the notifier is coming up (the daemon just started, or a restart).
            // Were it the breaker's half-open trial, the trial is given back, not left in flight.
            breakers?.abandonTrial(delivery.breakerKey)
            n.attempts -= 1
            n.lastError = error.description
            n.nextAttemptAt = (now + Self.startingRecheck).nanoseconds
            return Outcome(notification: n, timeline: nil, sent: false)
        } catch let error as PermanentDeliveryFailure {
            // The receiver refused it for good: no retry, the person's next method at once. The
            // notifier itself works (it answered): for its breaker that is a success (which also
            // ends a half-open trial).
            breakers?.succeeded(delivery.breakerKey)
            return failed(n, error: error.description, now: now, permanent: true)
        } catch {
            if let breakers {
                let wasOpen = breakers.breaker(delivery.breakerKey).state == .open
                breakers.failed(delivery.breakerKey, now: now, reason: "\(error)")
                if !wasOpen, breakers.breaker(delivery.breakerKey).state == .open {
                    logger.warning("notifier circuit breaker opened: its pages wait, then one trial", metadata: [
                        "notifier": "\(delivery.breakerKey)", "for": "\(breakers.openFor)", "error": "\(error)"])
                }
            }
            return failed(n, error: "\(error)", now: now)
        }
    }

    /// The outcome of a failed attempt (already counted in `notification`): retried after a
    /// jittered wait, or failed for good after the last attempt.
    func failed(_ notification: NotificationRecord, error: String, now: Timestamp, permanent: Bool = false) -> Outcome {
        var n = notification
        n.lastError = error
        if permanent || n.attempts >= policy.retry.maxAttempts {
            n.state = "failed"
            n.nextAttemptAt = nil
            logger.error("notification failed for good", metadata: [
                "id": "\(n.id ?? -1)", "incident": "\(n.incidentID ?? "-")", "error": "\(error)"])
            return Outcome(notification: n, timeline: "Giving up on \(n.channel) notification to "
                + "\(n.recipients.joined(separator: ", ")) after \(n.attempts) attempt(s)"
                + (permanent ? " (refused for good)" : "") + ": \(error)", sent: false, failed: true)
        }
        n.nextAttemptAt = (now + policy.retry.delay(afterAttempt: n.attempts, using: &random)).nanoseconds
        logger.warning("notification delivery failed; will retry", metadata: [
            "id": "\(n.id ?? -1)", "attempt": "\(n.attempts)", "error": "\(error)"])
        return Outcome(notification: n, timeline: nil, sent: false, failed: true)
    }

    /// A person's next contact method, when the one that just failed has had its
    /// ``DeliveryPolicy/fallbackAfter`` attempts (or failed for good): queued once, because the
    /// rest of the list moves to it. The failing one keeps retrying up to its own limit.
    func fallback(after o: Outcome, now: Timestamp) -> (outcome: Outcome, next: NotificationRecord?, line: String?) {
        var n = o.notification
        guard o.failed, let next = n.fallbacks.first, n.state == "failed" || n.attempts >= policy.fallbackAfter else {
            return (o, nil, nil)
        }
        let queued = NotificationRecord(incidentID: n.incidentID, createdAt: now, channel: next.channel,
                                        recipients: [next.address], people: n.people, subject: n.subject, body: n.body,
                                        purpose: n.purpose, person: n.person, fallbacks: Array(n.fallbacks.dropFirst()),
                                        chain: n.chainRoot)
        n.fallbacks = []
        var out = o
        out.notification = n
        let who = n.person ?? n.recipients.joined(separator: ", ")
        let line = "\(n.channel) notification to \(who) failed \(n.attempts) attempt(s) (\(Self.clipped(n.lastError))): "
            + "falling back to \(next.channel) \(next.address)"
            + (n.state == "failed" ? "" : "; \(n.channel) keeps retrying (up to \(policy.retry.maxAttempts) attempts)")
        return (out, queued, line)
    }

    /// Stores a round's outcomes in one transaction: each notification's state, the delivery
    /// lines in their incidents' timelines, each person's next contact method when theirs is
    /// failing, and — when every method to someone failed for good — the daemon's
    /// notification-failure incident (``NotificationFailureIncident``), in the same transaction
    /// as the outcome that made it so, so a restart can neither lose nor repeat it.
    func save(_ outcomes: [Outcome]) async throws {
        guard !outcomes.isEmpty else { return }
        let now = clock.now()
        let decided = outcomes.map { fallback(after: $0, now: now) }
        let anyFinal = decided.contains { $0.outcome.notification.state == "failed" }
        // The incident manager's policy is read only when someone may have been left untold.
        let workflow = anyFinal ? await incidents?.workflow : nil
        let logger = self.logger
        let opened = try await store.write { tx -> [Incident] in
            var lines: [String: [TimelineEntry]] = [:]
            var queued: [String: [NotificationRecord]] = [:]
            var order: [String] = []
            var seen: [String: Incident] = [:]
            for (o, next, fallbackLine) in decided {
                try tx.update(o.notification)
                guard let id = o.notification.incidentID else { continue }
                let entries = [o.timeline, fallbackLine].compactMap { $0 }
                guard !entries.isEmpty || next != nil else { continue }
                if lines[id] == nil, queued[id] == nil { order.append(id) }
                if let incident = o.incident, incident.id == id { seen[id] = incident }
                if let next { queued[id, default: []].append(next) }
                for message in entries {
                    lines[id, default: []].append(TimelineEntry(
                        incidentID: id, time: now, actor: IncidentWorkflow.systemActor, kind: .notification, message: message,
                        data: ["notification": "\(o.notification.id ?? 0)", "channel": o.notification.channel,
                               "state": o.notification.state]))
                }
            }
            for id in order {
                // The lines change nothing in the incident's row: the copy the attempt saw names
                // it (``StoreTransaction/record(_:)`` checks it still exists).
                guard let incident = try seen[id] ?? tx.incident(id: id) else { continue }
                do {
                    _ = try tx.record(StoreChange(incident: incident, timeline: lines[id] ?? [],
                                                  notifications: queued[id] ?? []))
                } catch StoreError.notFound { continue }
            }
            // Whoever is now left untold, once per chain: the last of its methods to fail reports it.
            var opened: [Incident] = []
            var reported = Set<Int64>()
            for (o, _, _) in decided where o.notification.state == "failed" {
                guard let root = o.notification.chainRoot, reported.insert(root).inserted,
                      let tries = try Self.exhausted(o.notification, tx: tx),
                      let incidentID = o.notification.incidentID else { continue }
                let failure = NotificationFailure(incidentID: incidentID, person: o.notification.person, tries: tries)
                let filed = try NotificationFailureIncident.file(failure, workflow: workflow, tx: tx, now: now)
                if let incident = filed.opened { opened.append(incident) }
                logger.error("nobody could deliver a notification: every contact method failed for good", metadata: [
                    "incident": "\(incidentID)", "person": "\(failure.person ?? "-")",
                    "channels": "\(tries.map(\.channel).joined(separator: ","))",
                    "failure_incident": "\(filed.failureIncident ?? "-")"])
            }
            return opened
        }
        if !opened.isEmpty { await incidents?.failureIncidentsOpened(opened) }
    }

    /// The whole chain `n` ends, when every notification in it failed for good and none has a
    /// method left to try: a channel or group message is its own chain.
    static func exhausted(_ n: NotificationRecord, tx: StoreTransaction) throws -> [NotificationRecord]? {
        guard n.person != nil, let root = n.chainRoot else { return n.fallbacks.isEmpty ? [n] : nil }
        let chain = try tx.notificationChain(root: root)
        return chain.allSatisfy({ $0.state == "failed" && $0.fallbacks.isEmpty }) ? chain : nil
    }

    /// A notifier's error as a timeline shows it: at most 300 characters (a plugin writes it).
    static func clipped(_ error: String?) -> String {
        guard let error else { return "no error recorded" }
        return error.count > 300 ? String(error.prefix(300)) + "…" : error
    }
}
