import Foundation
import Synchronization
import Testing
import VigilCore
@testable import VigilDaemon
import VigilIncidents
@testable import VigilStore

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

    /// What the transactions that opened `ids` handed over: each stored page with its incident.
    static func handOver(_ rig: ContainmentTests.Rig, _ ids: [String]) async throws
        -> [(notification: NotificationRecord, incident: Incident?)] {
        var items: [(notification: NotificationRecord, incident: Incident?)] = []
        for id in ids {
            let incident = try await rig.store.incident(id: id)
            for n in try await rig.store.notifications(incidentID: id) { items.append((n, incident)) }
        }
        return items
    }

    static func outbox(_ rig: ContainmentTests.Rig, _ delivery: any NotificationDelivery) async -> NotificationOutbox {
        let outbox = NotificationOutbox(store: rig.store, clock: rig.clock, logger: quietLogger)
        await outbox.register(delivery)
        return outbox
    }

    @Test(.timeLimit(.minutes(1))) func handedOverPagesLeaveOnceEachWithTheirIncident() async throws {
        let rig = try ContainmentTests.rig()
        let delivery = RecordingDelivery()
        let outbox = await Self.outbox(rig, delivery)
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
        let items = try await Self.handOver(rig, ids)
        let delivery = RecordingDelivery()
        let outbox = await Self.outbox(rig, delivery)
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

    /// A full pass whose read of the pending pages fails keeps what was handed over: the next
    /// pass sends it (it was dropped, in flight for good, until a restart).
    @Test(.timeLimit(.minutes(1))) func aFailedReadDoesNotDropHandedPages() async throws {
        let rig = try ContainmentTests.rig()
        let ids = try await Self.declare(rig, 2)
        let items = try await Self.handOver(rig, ids)
        let delivery = RecordingDelivery()
        let outbox = await Self.outbox(rig, delivery)
        // The pending read fails (and so does storing the outcomes) while the table is away.
        try await rig.store.write { tx in try tx.db.execute(sql: "ALTER TABLE notification RENAME TO notification_away") }
        await outbox.kick(QueuedNotifications(inserted: items, unlisted: true))
        try await rig.store.write { tx in try tx.db.execute(sql: "ALTER TABLE notification_away RENAME TO notification") }
        let seen = delivery.snapshot
        #expect(Set(seen.attempts.keys) == Set(items.compactMap(\.notification.id)))
        #expect(seen.attempts.values.allSatisfy { $0 == 1 })
    }

    /// Two pages of one incident handed over by different transactions each carry their own
    /// transaction's copy of it.
    @Test(.timeLimit(.minutes(1))) func eachPageCarriesItsOwnCopyOfItsIncident() async throws {
        let rig = try ContainmentTests.rig()
        let id = try #require(try await Self.declare(rig, 1).first)
        let notes = try await rig.store.notifications(incidentID: id)
        #expect(notes.count >= 2)
        var older = try #require(try await rig.store.incident(id: id))
        older.title = "older copy"
        var newer = older
        newer.title = "newer copy"
        // The newer copy first in the queue, the older last: neither may stand in for the other.
        let items: [(notification: NotificationRecord, incident: Incident?)] =
            notes.enumerated().map { i, n in (n, i == 0 ? newer : older) }
        final class TitleDelivery: NotificationDelivery, @unchecked Sendable {
            let lock = NSLock()
            var titles: [Int64: String] = [:]
            var channels: Set<String> { ["*"] }
            var name: String { "titles" }
            func deliver(_ notification: NotificationRecord, incident: Incident?) async throws {
                lock.withLock { titles[notification.id ?? -1] = incident?.title }
            }
        }
        let delivery = TitleDelivery()
        let outbox = await Self.outbox(rig, delivery)
        await outbox.kick(QueuedNotifications(inserted: items, unlisted: false))
        let titles = delivery.lock.withLock { delivery.titles }
        for (i, n) in notes.enumerated() {
            #expect(titles[try #require(n.id)] == (i == 0 ? "newer copy" : "older copy"))
        }
    }

    /// Pages a silence put back are not listed in the hand-over: it asks for a full pass.
    @Test(.timeLimit(.minutes(1))) func anUnlistedHandOverReadsWhatIsPending() async throws {
        let rig = try ContainmentTests.rig()
        _ = try await Self.declare(rig, 2)
        let pending = Set(try await rig.store.pendingNotifications().compactMap(\.id))
        #expect(!pending.isEmpty)
        let delivery = RecordingDelivery()
        let outbox = await Self.outbox(rig, delivery)
        await outbox.kick(QueuedNotifications(inserted: [], unlisted: false))
        #expect(delivery.snapshot.attempts.isEmpty)
        await outbox.kick(QueuedNotifications(inserted: [], unlisted: true))
        #expect(Set(delivery.snapshot.attempts.keys) == pending)
        #expect(try await rig.store.pendingNotifications().isEmpty)
    }
}
