import DequeModule
import Synchronization

/// How soon a write transaction must run.
public enum WritePriority: Sendable {
    /// Most writes: plugin state, delivery attempts, containment bookkeeping.
    case normal
    /// Writes a person is waiting on through a page: signals becoming incidents. They go before
    /// every normal write still waiting, so a burst of breaches is stored before the bookkeeping
    /// the same burst causes (restarts, quarantines, delivery attempts).
    case urgent
}

/// Hands the store's single writer to one asynchronous write at a time, urgent ones first.
///
/// SQLite has one writer, and GRDB queues writes first come, first served: without this, an
/// incident that opens during a storm of plugin-state and delivery writes waits behind all of
/// them. With it, at most one write is queued in GRDB at a time, so an urgent write waits for
/// at most the one in progress. Fairness: after ``urgentRun`` urgent grants in a row while a
/// normal write waits, the normal one goes next, so a signal storm cannot starve the rest.
final class WriteScheduler: Sendable {
    static let urgentRun = 8

    private struct State {
        var busy = false
        var urgent = Deque<CheckedContinuation<Void, Never>>()
        var normal = Deque<CheckedContinuation<Void, Never>>()
        var urgentStreak = 0
    }

    private let state = Mutex(State())

    /// Waits for the writer; the caller must call ``release()`` once its write has finished.
    func acquire(_ priority: WritePriority) async {
        // Checked and enqueued under one lock hold, so a release cannot slip in between.
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let run = state.withLock { s -> Bool in
                if !s.busy {
                    s.busy = true
                    return true
                }
                switch priority {
                case .urgent: s.urgent.append(c)
                case .normal: s.normal.append(c)
                }
                return false
            }
            if run { c.resume() }
        }
    }

    /// Passes the writer to the next waiting write (urgent first, within the fairness bound).
    func release() {
        let next = state.withLock { s -> CheckedContinuation<Void, Never>? in
            let next: CheckedContinuation<Void, Never>?
            if s.urgentStreak >= Self.urgentRun, !s.normal.isEmpty {
                s.urgentStreak = 0
                next = s.normal.popFirst()
            } else if let u = s.urgent.popFirst() {
                s.urgentStreak = s.normal.isEmpty ? 0 : s.urgentStreak + 1
                next = u
            } else {
                s.urgentStreak = 0
                next = s.normal.popFirst()
            }
            if next == nil { s.busy = false }
            return next
        }
        next?.resume()
    }

    /// Writes waiting for the writer (for tests).
    var waiting: (urgent: Int, normal: Int) {
        state.withLock { ($0.urgent.count, $0.normal.count) }
    }
}
