import Foundation
import Synchronization
import Testing
import VigilCore
@testable import VigilStore

/// Group commit of the alert table: writes waiting behind a transaction share the next one,
/// every caller returns only once its write is on disk, and writes land in the order queued.
@Suite struct AlertWriteQueueTests {
    func record(_ name: String, endsAt: Timestamp = t0 + .seconds(60)) -> AlertRecord {
        AlertRecord(Alert(labels: ["alertname": name], startsAt: t0, endsAt: endsAt, updatedAt: t0), counted: false)
    }

    @Test(.timeLimit(.minutes(1))) func writesWaitingBehindATransactionShareTheNext() async throws {
        let path = try temporaryDatabase()
        let store = try Store(path: path)
        let queue = AlertWriteQueue(store: store)
        // Hold SQLite's single writer until every save is queued.
        let gate = DispatchSemaphore(value: 0)
        let (entered, enteredFeed) = AsyncStream.makeStream(of: Void.self)
        let holder = Task { try await store.write { _ in enteredFeed.yield(); gate.wait() } }
        for await _ in entered { break }
        let saved = Tally()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<40 {
                group.addTask {
                    try await queue.save([self.record("A\(i)")])
                    saved.count.add(1, ordering: .relaxed)
                }
            }
            // Nobody is answered while the writer is held.
            while queue.pendingCount < 40 { await Task.yield() }
            #expect(saved.count.load(ordering: .relaxed) == 0)
            gate.signal()
            try await group.waitForAll()
        }
        try await holder.value
        #expect(saved.count.load(ordering: .relaxed) == 40)
        // The first may have left alone before the others queued; the rest went together.
        #expect(queue.committedTransactions <= 2)
        // Durable: a second connection (a restarted daemon) reads all of them.
        #expect(try await Store(path: path).alerts().count == 40)
    }

    @Test(.timeLimit(.minutes(1))) func writesLandInTheOrderQueued() async throws {
        let store = try Store(path: try temporaryDatabase())
        let queue = AlertWriteQueue(store: store)
        try await queue.save([record("Gone"), record("Back")])
        // A deletion queued before a re-post cannot remove the re-posted alert.
        queue.saveEventually([], removing: [record("Back").fingerprint, record("Gone").fingerprint])
        try await queue.save([record("Back", endsAt: t0 + .seconds(600))])
        let stored = try await store.alerts()
        #expect(stored.map(\.fingerprint) == [record("Back").fingerprint])
        #expect(stored.first?.endsAt == (t0 + .seconds(600)).nanoseconds)
    }

    @Test(.timeLimit(.minutes(1))) func aFailedTransactionFailsEveryWriteInIt() async throws {
        let path = try temporaryDatabase()
        let store = try Store(path: path)
        let queue = AlertWriteQueue(store: store)
        try await store.write { tx in try tx.db.execute(sql: "DROP TABLE alert") }
        await #expect(throws: (any Error).self) { try await queue.save([self.record("A")]) }
        // The queue is not wedged by the failure.
        await #expect(throws: (any Error).self) { try await queue.save([self.record("B")]) }
    }
}

final class Tally: Sendable {
    let count = Atomic<Int>(0)
}
