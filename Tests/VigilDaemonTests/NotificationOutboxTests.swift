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
        for i in 0..<6 {
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
}
