import Synchronization

/// The alert table's writes, group-committed: writes that arrive while a transaction is on its
/// way to disk wait in a queue and are committed together in the next one, so N concurrent
/// senders cost about one fsync, not N. Each caller returns once the transaction holding its
/// write has committed (durable: `synchronous=FULL`), or throws that transaction's error.
///
/// Writes are applied in the order they were queued, saves and deletions alike: a deletion of
/// an expired alert queued before a sender re-posts it cannot remove the new copy.
public final class AlertWriteQueue: Sendable {
    enum Operation: Sendable {
        case save(AlertRecord)
        case remove(String)
    }

    struct Queue {
        var operations: [Operation] = []
        var waiters: [CheckedContinuation<Void, any Error>] = []
        var committing = false
        /// Callers not yet answered, queued or in the transaction under way.
        var unanswered = 0
    }

    let store: Store
    private let queue = Mutex(Queue())
    private let transactions = Atomic<Int>(0)

    let unawaitedFailure: @Sendable (any Error) -> Void

    /// - Parameter unawaitedFailure: told when a transaction holding only ``saveEventually(_:removing:)``
    ///   writes fails (nobody else hears of it).
    public init(store: Store, unawaitedFailure: @escaping @Sendable (any Error) -> Void = { _ in }) {
        self.store = store
        self.unawaitedFailure = unawaitedFailure
    }

    /// Saves `records` (insert or replace by fingerprint) and deletes `removing`; returns once
    /// they are on disk.
    public func save(_ records: [AlertRecord], removing: [String] = []) async throws {
        guard !records.isEmpty || !removing.isEmpty else { return }
        try await withCheckedThrowingContinuation { (waiter: CheckedContinuation<Void, any Error>) in
            let startCommitting = queue.withLock { q in
                q.operations += records.map(Operation.save)
                q.operations += removing.map(Operation.remove)
                q.waiters.append(waiter)
                q.unanswered += 1
                defer { q.committing = true }
                return !q.committing
            }
            if startCommitting { Task { await self.commitQueued() } }
        }
    }

    /// Queues `records` and `removing` behind every write queued so far, without waiting for
    /// them: for what may be lost in a crash (deleting expired alerts, which a restart drops again).
    public func saveEventually(_ records: [AlertRecord], removing: [String] = []) {
        guard !records.isEmpty || !removing.isEmpty else { return }
        let startCommitting = queue.withLock { q in
            q.operations += records.map(Operation.save)
            q.operations += removing.map(Operation.remove)
            defer { q.committing = true }
            return !q.committing
        }
        if startCommitting { Task { await self.commitQueued() } }
    }

    /// Callers waiting for their write to commit, for tests.
    var pendingCount: Int { queue.withLock { $0.unanswered } }

    /// How many transactions have been committed (each holding one or more callers' writes).
    public var committedTransactions: Int { transactions.load(ordering: .relaxed) }

    private func commitQueued() async {
        while true {
            let (operations, waiters) = queue.withLock { q in
                let taken = (q.operations, q.waiters)
                q.operations = []
                q.waiters = []
                // Nothing queued: the next caller starts committing again.
                q.committing = !taken.0.isEmpty
                return taken
            }
            guard !operations.isEmpty else { return }
            defer { queue.withLock { $0.unanswered -= waiters.count } }
            do {
                try await store.applyAlertOperations(operations)
                transactions.add(1, ordering: .relaxed)
                for w in waiters { w.resume() }
            } catch {
                for w in waiters { w.resume(throwing: error) }
                if waiters.isEmpty { unawaitedFailure(error) }
            }
        }
    }
}
