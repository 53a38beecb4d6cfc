import Foundation
import Synchronization
import Testing
import VigilCore
@testable import VigilDaemon
import VigilIncidents
import VigilStore

/// Pages leave from what the transaction that queued them hands over (no read back), exactly
/// once each, whatever full passes run beside them.
@Suite struct NotificationHandOverTests {
    /// Records every attempt: how many times each notification was delivered, with which incident.
    final class RecordingDelivery: NotificationDelivery, @unchecked Sendable {
        let lock = NSLock()
        var attempts: [Int64: Int] = [:]
        var incidents: [Int64: String] = [:]
        var channels: Set<String> { ["*"] }
        var name: String { "recording" }
        func deliver(_ notification: NotificationRecord, incident: Incident?) async throws {
            await Task.yield()
            lock.withLock {
                attempts[notification.id ?? -1, default: 0] += 1
                incidents[notification.id ?? -1] = incident?.id
            }
        }
        var snapshot: (attempts: [Int64: Int], incidents: [Int64: String]) { lock.withLock { (attempts, incidents) } }
    }

    static func declare(_ rig: ContainmentTests.Rig, _ count: Int) async throws -> [String] {
        var ids: [String] = []
        for i in 0..<count {
            ids.append(try await rig.incidents.declare(ClassificationInput(title: "cpu \(i)", incidentType: "High CPU utilization"),
                                                      actor: "dave").id)
        }
        return ids
    }

    @Test(.timeLimit(.minutes(1))) func handedOverPagesLeaveOnceEachWithTheirIncident() async throws {
        let rig = try ContainmentTests.rig()
        let delivery = RecordingDelivery()
        let outbox = NotificationOutbox(store: rig.store, clock: rig.clock, logger: quietLogger)
        await outbox.register(delivery)
        rig.store.onNotificationsQueued { queued in Task { await outbox.kick(queued) } }
        // Full passes (the outbox's poll) run all along: nothing may go out twice.
        let polling = Task {
            while !Task.isCancelled {
                await outbox.kick()
                await Task.yield()
            }
        }
        let ids = try await Self.declare(rig, 8)
        var notes: [NotificationRecord] = []
        for id in ids { notes += try await rig.store.notifications(incidentID: id) }
        #expect(notes.count > 8)
        try await NotificationOutboxTests.until {
            try await rig.store.pendingNotifications().isEmpty && Set(delivery.snapshot.attempts.keys) == Set(notes.compactMap(\.id))
        }
        polling.cancel()
        await polling.value
        let seen = delivery.snapshot
        for n in notes {
            let id = try #require(n.id)
            #expect(seen.attempts[id] == 1, "notification \(id) attempted \(seen.attempts[id] ?? 0) times")
            #expect(seen.incidents[id] == n.incidentID)
        }
        for id in ids {
            let sent = try await rig.store.notifications(incidentID: id)
            #expect(sent.allSatisfy { $0.state == "sent" && $0.attempts == 1 })
            let lines = try await rig.store.timeline(incidentID: id).filter { $0.kind == .notification && $0.message.hasPrefix("Delivered ") }
            #expect(lines.count == sent.count)
        }
    }

    /// The same hand-over twice (or a hand-over of what a pass already took) is attempted once.
    @Test(.timeLimit(.minutes(1))) func aRepeatedHandOverIsAttemptedOnce() async throws {
        let rig = try ContainmentTests.rig()
        let ids = try await Self.declare(rig, 3)
        var items: [(notification: NotificationRecord, incident: Incident?)] = []
        for id in ids {
            let incident = try await rig.store.incident(id: id)
            for n in try await rig.store.notifications(incidentID: id) { items.append((n, incident)) }
        }
        let delivery = RecordingDelivery()
        let outbox = NotificationOutbox(store: rig.store, clock: rig.clock, logger: quietLogger)
        await outbox.register(delivery)
        let queued = QueuedNotifications(inserted: items, unlisted: false)
        async let first: Void = outbox.kick(queued)
        async let second: Void = outbox.kick(queued)
        async let full: Void = outbox.kick()
        _ = await (first, second, full)
        await outbox.kick(queued)
        try await NotificationOutboxTests.until { try await rig.store.pendingNotifications().isEmpty }
        let seen = delivery.snapshot
        #expect(seen.attempts.count == items.count)
        #expect(seen.attempts.values.allSatisfy { $0 == 1 })
    }

    /// Pages a silence put back are not listed in the hand-over: it asks for a full pass.
    @Test(.timeLimit(.minutes(1))) func anUnlistedHandOverReadsWhatIsPending() async throws {
        let rig = try ContainmentTests.rig()
        _ = try await Self.declare(rig, 2)
        let pending = Set(try await rig.store.pendingNotifications().compactMap(\.id))
        #expect(!pending.isEmpty)
        let delivery = RecordingDelivery()
        let outbox = NotificationOutbox(store: rig.store, clock: rig.clock, logger: quietLogger)
        await outbox.register(delivery)
        await outbox.kick(QueuedNotifications(inserted: [], unlisted: false))
        #expect(delivery.snapshot.attempts.isEmpty)
        await outbox.kick(QueuedNotifications(inserted: [], unlisted: true))
        #expect(Set(delivery.snapshot.attempts.keys) == pending)
        #expect(try await rig.store.pendingNotifications().isEmpty)
    }
}
