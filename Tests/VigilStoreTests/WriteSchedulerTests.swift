import Foundation
import Synchronization
import Testing
@testable import VigilStore

/// The store's writer goes to urgent writes (signals becoming incidents) before normal ones that
/// wait, and never starves the normal ones.
@Suite(.timeLimit(.minutes(1))) struct WriteSchedulerTests {
    /// Order in which grants happened.
    final class Log: Sendable {
        let entries = Mutex<[String]>([])
        func add(_ s: String) { entries.withLock { $0.append(s) } }
        var all: [String] { entries.withLock { $0 } }
    }

    /// Waits (yielding, no sleeps) until the scheduler holds `urgent` and `normal` waiters.
    func waitFor(_ s: WriteScheduler, urgent: Int, normal: Int) async {
        while s.waiting != (urgent, normal) { await Task.yield() }
    }

    @Test func urgentWritesGoBeforeWaitingNormalOnes() async {
        let s = WriteScheduler()
        let log = Log()
        await s.acquire(.normal)  // a write in progress
        var tasks: [Task<Void, Never>] = []
        // (priority, waiting urgent and normal writes once it is enqueued)
        let arrivals: [(WritePriority, Int, Int)] = [(.normal, 0, 1), (.normal, 0, 2), (.urgent, 1, 2), (.normal, 1, 3), (.urgent, 2, 3)]
        for (i, (p, urgent, normal)) in arrivals.enumerated() {
            tasks.append(Task {
                await s.acquire(p)
                log.add("\(p == .urgent ? "u" : "n")\(i)")
                s.release()
            })
            // Enqueued one at a time, so the arrival order is known.
            await waitFor(s, urgent: urgent, normal: normal)
        }
        s.release()
        for t in tasks { await t.value }
        #expect(log.all == ["u2", "u4", "n0", "n1", "n3"])
        #expect(s.waiting == (0, 0))
    }

    @Test func aStormOfUrgentWritesLetsNormalOnesThrough() async {
        let s = WriteScheduler()
        let log = Log()
        await s.acquire(.urgent)
        var tasks: [Task<Void, Never>] = []
        tasks.append(Task { await s.acquire(.normal); log.add("n"); s.release() })
        await waitFor(s, urgent: 0, normal: 1)
        let storm = WriteScheduler.urgentRun * 2
        for i in 0..<storm {
            tasks.append(Task { await s.acquire(.urgent); log.add("u"); s.release() })
            await waitFor(s, urgent: i + 1, normal: 1)
        }
        s.release()
        for t in tasks { await t.value }
        let all = log.all
        #expect(all.count == storm + 1)
        // The normal write went after at most `urgentRun` urgent ones, not after the whole storm.
        #expect(all.firstIndex(of: "n") == WriteScheduler.urgentRun)
    }

    @Test func anUncontendedWriteRunsAtOnceAndTheWriterIsFreedAfter() async throws {
        let store = try Store(path: try temporaryDatabase())
        let id = try await store.write(priority: .urgent) { tx in try tx.open(year: 2026, prefix: "INC") { change($0) }.0.id }
        try await store.write { tx in _ = try tx.commit(change(id, title: "again")) }
        #expect(store.scheduler.waiting == (0, 0))
        #expect(try await store.incident(id: id)?.title == "again")
        // A failing write passes the writer on too.
        await #expect(throws: (any Error).self) { try await store.write { _ in throw StoreError.notFound(what: "x", id: "y") } }
        _ = try await store.write { tx in try tx.commit(change(id, title: "after")) }
        #expect(try await store.incident(id: id)?.title == "after")
    }
}

/// An urgent transaction's thread runs at a raised priority and is put back after it.
@Suite(.enabled(if: geteuid() == 0, "raising a thread's priority needs CAP_SYS_NICE"))
struct UrgentWritePriorityTests {
    static func nice() -> Int32 { getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0) }

    @Test func urgentTransactionsRunAtTheRaisedNiceValueAndNormalOnesDoNot() async throws {
        let store = try Store(path: try temporaryDatabase())
        let (during, before) = try await store.write(priority: .urgent) { _ in (Self.nice(), 0) }
        #expect(during == ThreadPriority.urgentNice)
        #expect(before == 0)
        let normal = try await store.write(priority: .normal) { _ in Self.nice() }
        #expect(normal > ThreadPriority.urgentNice, "the writer's thread was put back after the urgent transaction")
    }
}
