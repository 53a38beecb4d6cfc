import Foundation
import Synchronization
import Testing
import VigilCore
@testable import VigilDaemon
import VigilIncidents
import VigilStore

/// The outbox hands several notifications to notifiers at once (bounded), and stores each
/// round's outcomes — states and timeline lines — as before.
@Suite struct NotificationOutboxTests {
    /// Holds every delivery until `concurrentDeliveries` are in flight (or all that remain),
    /// recording the most seen at once.
    final class GatedDelivery: NotificationDelivery, @unchecked Sendable {
        let lock = NSLock()
        var inFlight = 0
        var most = 0
        var delivered = 0
        var channels: Set<String> { ["*"] }
        var name: String { "gated" }
        func deliver(_ notification: NotificationRecord, incident: Incident?) async throws {
            lock.withLock { inFlight += 1; most = max(most, inFlight) }
            // Let the other deliveries of the round start before this one finishes.
            for _ in 0..<200 { await Task.yield() }
            lock.withLock { inFlight -= 1; delivered += 1 }
        }
    }

    @Test(.timeLimit(.minutes(1))) func deliversSeveralAtOnceAndRecordsEachOutcome() async throws {
        let rig = try ContainmentTests.rig()
        let delivery = GatedDelivery()
        let outbox = NotificationOutbox(store: rig.store, clock: rig.clock, logger: quietLogger)
        await outbox.register(delivery)
        var ids: [String] = []
        for i in 0..<12 {
            ids.append(try await rig.incidents.declare(ClassificationInput(title: "cpu \(i)", incidentType: "High CPU utilization"),
                                                      actor: "dave").id)
        }
        let pending = try await rig.store.pendingNotifications().count
        #expect(pending > NotificationOutbox.concurrentDeliveries)
        #expect(try await outbox.deliverDue() == pending)
        #expect(delivery.lock.withLock { delivery.delivered } == pending)
        let most = delivery.lock.withLock { delivery.most }
        #expect(most > 1 && most <= NotificationOutbox.concurrentDeliveries)
        for id in ids {
            let notes = try await rig.store.notifications(incidentID: id)
            #expect(!notes.isEmpty && notes.allSatisfy { $0.state == "sent" && $0.attempts == 1 })
            let lines = try await rig.store.timeline(incidentID: id).filter { $0.kind == .notification && $0.message.hasPrefix("Delivered ") }
            #expect(lines.count == notes.count)
        }
        #expect(try await rig.store.pendingNotifications().isEmpty)
    }

    /// Claims one channel and holds every delivery until released: a notifier that hangs until
    /// the deadline of its requests.
    final class HangingDelivery: NotificationDelivery, @unchecked Sendable {
        let lock = NSLock()
        let channel: String
        var waiting: [CheckedContinuation<Void, Never>] = []
        var released = false
        var most = 0
        init(channel: String) { self.channel = channel }
        var channels: Set<String> { [channel] }
        var name: String { "hanging" }
        func deliver(_ notification: NotificationRecord, incident: Incident?) async throws {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let now = lock.withLock { () -> Bool in
                    if released { return true }
                    waiting.append(c)
                    most = max(most, waiting.count)
                    return false
                }
                if now { c.resume() }
            }
        }
        func release() {
            let all = lock.withLock { released = true; defer { waiting = [] }; return waiting }
            for c in all { c.resume() }
        }
    }

    /// Takes every other channel and counts what it delivered.
    final class CountingDelivery: NotificationDelivery, @unchecked Sendable {
        let lock = NSLock()
        var ids: Set<Int64> = []
        var channels: Set<String> { ["*"] }
        var name: String { "counting" }
        func deliver(_ notification: NotificationRecord, incident: Incident?) async throws {
            _ = lock.withLock { ids.insert(notification.id ?? -1) }
        }
    }

    /// Polls `condition` (state another task changes) until it holds; the test's time limit bounds it.
    static func until(_ condition: () async throws -> Bool) async throws {
        while try await !condition() { try await Task.sleep(for: .milliseconds(5)) }
    }

    /// Issue 16: a notifier that hangs until its requests' deadline held every other page of the
    /// round (and every page queued after it) for that long. It may hold only its own slots.
    @Test(.timeLimit(.minutes(1))) func aHangingNotifierHoldsBackOnlyItsOwnPages() async throws {
        let rig = try ContainmentTests.rig()
        for i in 0..<6 {
            _ = try await rig.incidents.declare(ClassificationInput(title: "cpu \(i)", incidentType: "High CPU utilization"), actor: "dave")
        }
        let first = try await rig.store.pendingNotifications()
        let stuckChannel = try #require(first.first?.channel)
        let stuck = first.filter { $0.channel == stuckChannel }
        let others = first.filter { $0.channel != stuckChannel }
        #expect(stuck.count > NotificationOutbox.concurrentDeliveriesPerNotifier, "\(first.map(\.channel))")
        try #require(!others.isEmpty, "pages on more than one channel: \(first.map(\.channel))")

        let hanging = HangingDelivery(channel: stuckChannel)
        let counting = CountingDelivery()
        let outbox = NotificationOutbox(store: rig.store, clock: rig.clock, logger: quietLogger)
        await outbox.register(hanging)
        await outbox.register(counting)
        let pass = Task { await outbox.kick() }

        // The healthy notifier's pages all leave while the hanging one holds its slots.
        let wanted = Set(others.compactMap(\.id))
        try await Self.until { counting.lock.withLock { wanted.isSubset(of: counting.ids) } }
        try await Self.until {
            try await rig.store.pendingNotifications().allSatisfy { $0.channel == stuckChannel }
        }
        #expect(hanging.lock.withLock { hanging.most } == NotificationOutbox.concurrentDeliveriesPerNotifier)

        // A page queued now goes out at once too, without waiting for the hanging deliveries.
        _ = try await rig.incidents.declare(ClassificationInput(title: "disk", incidentType: "High CPU utilization"), actor: "dave")
        let later = Set(try await rig.store.pendingNotifications().filter { $0.channel != stuckChannel }.compactMap(\.id))
        #expect(!later.isEmpty)
        await outbox.kick()
        try await Self.until { counting.lock.withLock { later.isSubset(of: counting.ids) } }
        #expect(hanging.lock.withLock { hanging.waiting.count } == NotificationOutbox.concurrentDeliveriesPerNotifier)

        hanging.release()
        await pass.value
        #expect(try await rig.store.pendingNotifications().isEmpty)
        let all = try await rig.store.notifications(incidentID: stuck[0].incidentID ?? "")
        #expect(all.allSatisfy { $0.state == "sent" && $0.attempts == 1 })
    }
}
