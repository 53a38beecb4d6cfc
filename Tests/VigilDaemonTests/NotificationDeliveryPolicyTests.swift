import Foundation
import Testing
import VigilConfig
import VigilTestSupport
import VigilCore
@testable import VigilDaemon
import VigilIncidents
@testable import VigilStore

/// Retries back off with jitter within their bounds; a channel over its rate waits for its
/// slot without it counting as an attempt, while other channels flow.
@Suite struct NotificationDeliveryPolicyTests {
    @Test func retryWaitsDoubleUpToTheMaximumWithJitterInTheUpperHalf() {
        let retry = RetryPolicy(initial: .seconds(2), maximum: .seconds(300), maxAttempts: 12)
        #expect((1...10).map { retry.ceiling(afterAttempt: $0) }
            == [2, 4, 8, 16, 32, 64, 128, 256, 300, 300].map { Duration.seconds($0) })
        #expect(retry.ceiling(afterAttempt: 0) == .seconds(2) && retry.ceiling(afterAttempt: 10_000) == .seconds(300))
        var a = SplitMix64(seed: 42)
        var b = SplitMix64(seed: 42)
        var spread = Set<Duration>()
        for attempt in 1...200 {
            let d = retry.delay(afterAttempt: attempt % 12 + 1, using: &a)
            let top = retry.ceiling(afterAttempt: attempt % 12 + 1)
            #expect(d >= top / 2 && d <= top, "attempt \(attempt % 12 + 1): \(d)")
            #expect(d == retry.delay(afterAttempt: attempt % 12 + 1, using: &b), "the same seed draws the same wait")
            if attempt % 12 == 8 { spread.insert(d) }
        }
        #expect(spread.count > 10, "waits for one step differ: \(spread.count)")
        // An overflowing step is the maximum, not a trap.
        let huge = RetryPolicy(initial: .seconds(1 << 20), maximum: .seconds(1 << 30), maxAttempts: 3)
        #expect(huge.ceiling(afterAttempt: 60) == .seconds(1 << 30))
    }

    /// The wait the outbox stores is the policy's, drawn from the generator it was given.
    @Test(.timeLimit(.minutes(1))) func theOutboxStoresAJitteredWait() async throws {
        let rig = try ContainmentTests.rig()
        let id = try await rig.incidents.declare(ClassificationInput(title: "cpu", incidentType: "High CPU utilization"),
                                                 actor: "dave").id
        let retry = RetryPolicy(initial: .seconds(10), maximum: .seconds(60), maxAttempts: 5)
        let outbox = NotificationOutbox(store: rig.store, clock: rig.clock, logger: quietLogger,
                                        policy: DeliveryPolicy(retry: retry), random: SplitMix64(seed: 3))
        await outbox.register(ScriptedDelivery(["*"], failing: true))
        try await outbox.deliverDue()
        let waits = try await rig.store.notifications(incidentID: id).map { Duration.nanoseconds(($0.nextAttemptAt ?? 0) - monday.nanoseconds) }
        #expect(waits.count >= 2 && waits.allSatisfy { $0 >= .seconds(5) && $0 <= .seconds(10) }, "\(waits)")
        #expect(Set(waits).count > 1, "pages failed together come back apart: \(waits)")
    }

    /// Five Slack messages at 1 a second (burst 1): one goes, the others are given one slot each,
    /// a second apart — no attempt counted, no error — while the email pages all leave at once.
    @Test(.timeLimit(.minutes(1))) func aChannelOverItsRateWaitsItsTurnAndOthersFlow() async throws {
        let rig = try ContainmentTests.rig()
        let id = try await rig.incidents.declare(ClassificationInput(title: "cpu", incidentType: "High CPU utilization"),
                                                 actor: "dave").id
        let incident = try #require(try await rig.store.incident(id: id))
        let notes = (0..<5).map { i in
            NotificationRecord(incidentID: id, createdAt: monday, channel: "slack", recipients: ["#ops-\(i)"],
                               subject: "s\(i)", body: "b", purpose: "channel")
        }
        _ = try await rig.store.write { tx in try tx.record(StoreChange(incident: incident, notifications: notes)) }
        let slack = ScriptedDelivery(["slack"], failing: false)
        let others = ScriptedDelivery(["*"], failing: false)
        let outbox = NotificationOutbox(store: rig.store, clock: rig.clock, logger: quietLogger,
                                        policy: DeliveryPolicy(rateLimits: ["slack": ChannelRateLimit(perSecond: 1, burst: 1)]))
        await outbox.register(slack)
        await outbox.register(others)

        try await outbox.deliverDue()
        let all = try await rig.store.notifications(incidentID: id)
        let onSlack = all.filter { $0.channel == "slack" }
        #expect(all.filter { $0.channel != "slack" }.allSatisfy { $0.state == "sent" }, "other channels flow")
        #expect(slack.count("slack") == 1)
        let waiting = onSlack.filter { $0.state == "pending" }
        #expect(waiting.count == 4 && waiting.allSatisfy { $0.attempts == 0 && $0.lastError == nil })
        #expect(waiting.compactMap(\.nextAttemptAt).sorted() == (1...4).map { (monday + .seconds($0)).nanoseconds },
                "one slot each, a second apart")

        for second in 1...4 {
            rig.clock.set(monday + .milliseconds(second * 1000 - 1))
            try await outbox.deliverDue()
            #expect(slack.count("slack") == second, "not before its slot")
            rig.clock.set(monday + .seconds(second))
            try await outbox.deliverDue()
            #expect(slack.count("slack") == second + 1)
        }
        let done = try await rig.store.notifications(incidentID: id).filter { $0.channel == "slack" }
        #expect(done.allSatisfy { $0.state == "sent" && $0.attempts == 1 })
    }

    /// A notifier that hangs holds back neither another channel's page nor a rate-limited one's turn.
    @Test(.timeLimit(.minutes(1))) func aHangingNotifierDelaysNobodyElse() async throws {
        let rig = try ContainmentTests.rig()
        let id = try await rig.incidents.declare(ClassificationInput(title: "cpu", incidentType: "High CPU utilization"),
                                                 actor: "dave").id
        let hanging = NotificationOutboxTests.HangingDelivery(channel: "chat")
        let email = ScriptedDelivery(["email"], failing: false)
        let outbox = NotificationOutbox(store: rig.store, clock: rig.clock, logger: quietLogger,
                                        policy: DeliveryPolicy(rateLimits: ["email": ChannelRateLimit(perSecond: 1000, burst: 100)]))
        await outbox.register(hanging)
        await outbox.register(email)
        let pass = Task { try await outbox.deliverDue() }
        let pages = try await rig.store.notifications(incidentID: id).filter { $0.channel == "email" }
        #expect(!pages.isEmpty)
        try await NotificationOutboxTests.until { email.count("email") == pages.count }
        try await NotificationOutboxTests.until {
            try await rig.store.notifications(incidentID: id).filter { $0.channel == "email" }.allSatisfy { $0.state == "sent" }
        }
        #expect(hanging.lock.withLock { hanging.waiting.count } == 1, "the chat message is still in its notifier")
        hanging.release()
        _ = try await pass.value
        #expect(try await rig.store.pendingNotifications().isEmpty)
    }
}
