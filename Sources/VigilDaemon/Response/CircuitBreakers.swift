import Synchronization
import VigilCore

/// One circuit breaker: `closed` (calls go through) → `open` after `threshold` consecutive
/// failures or when opened by implement_circuit_breakers (calls are refused for `openFor`) →
/// `halfOpen` (one trial call goes through) → `closed` if it succeeds, `open` again if it fails.
public struct CircuitBreaker: Sendable, Equatable {
    public enum State: String, Sendable, Equatable, Codable {
        case closed
        case open
        case halfOpen = "half-open"
    }

    public private(set) var state: State = .closed
    public private(set) var consecutiveFailures = 0
    public private(set) var openedAt: Timestamp?
    public private(set) var reason: String?
    /// A half-open breaker has let its one trial through and waits for its result.
    private var trialInFlight = false

    public init() {}

    /// Whether a call may go now; an open breaker whose time is up becomes half-open and lets one through.
    public mutating func allow(now: Timestamp, openFor: Duration) -> Bool {
        switch state {
        case .closed: return true
        case .open:
            guard let at = openedAt, now - at >= openFor else { return false }
            state = .halfOpen
            trialInFlight = true
            return true
        case .halfOpen:
            if trialInFlight { return false }
            trialInFlight = true
            return true
        }
    }

    /// When an open breaker lets its next trial through.
    public func retryAt(openFor: Duration) -> Timestamp? { state == .open ? openedAt.map { $0 + openFor } : nil }

    public mutating func succeeded() {
        state = .closed
        consecutiveFailures = 0
        openedAt = nil
        reason = nil
        trialInFlight = false
    }

    public mutating func failed(now: Timestamp, threshold: Int, reason why: String) {
        consecutiveFailures += 1
        trialInFlight = false
        if state == .halfOpen || consecutiveFailures >= threshold { open(now: now, reason: why) }
    }

    public mutating func open(now: Timestamp, reason why: String) {
        state = .open
        openedAt = now
        reason = why
        trialInFlight = false
    }

    public mutating func close() { succeeded() }

    /// A half-open trial that never reached the notifier (it was still starting): the next
    /// call may be the trial.
    public mutating func abandonTrial() { trialInFlight = false }
}

/// The daemon's breakers, by plugin name: the notification outbox asks before each delivery and
/// reports the result; implement_circuit_breakers opens them.
public final class CircuitBreakers: Sendable {
    private let table = Mutex<[String: CircuitBreaker]>([:])
    private let settings = Mutex<(threshold: Int, openFor: Duration)>((5, .seconds(60)))

    public init() {}

    public func configure(threshold: Int, openFor: Duration) { settings.withLock { $0 = (threshold, openFor) } }

    public var openFor: Duration { settings.withLock { $0.openFor } }

    /// Whether `name` may be called now.
    public func allow(_ name: String, now: Timestamp) -> Bool {
        let openFor = self.openFor
        return table.withLock { t in
            var b = t[name] ?? CircuitBreaker()
            defer { t[name] = b }
            return b.allow(now: now, openFor: openFor)
        }
    }

    /// See ``CircuitBreaker/abandonTrial()``.
    public func abandonTrial(_ name: String) {
        table.withLock { t in t[name]?.abandonTrial() }
    }

    public func succeeded(_ name: String) {
        table.withLock { t in
            guard t[name] != nil else { return }
            t[name]?.succeeded()
        }
    }

    public func failed(_ name: String, now: Timestamp, reason: String) {
        let threshold = settings.withLock { $0.threshold }
        table.withLock { t in
            var b = t[name] ?? CircuitBreaker()
            b.failed(now: now, threshold: threshold, reason: reason)
            t[name] = b
        }
    }

    public func open(_ name: String, now: Timestamp, reason: String) {
        table.withLock { t in
            var b = t[name] ?? CircuitBreaker()
            b.open(now: now, reason: reason)
            t[name] = b
        }
    }

    public func close(_ name: String) { table.withLock { $0[name]?.close() } }

    public func breaker(_ name: String) -> CircuitBreaker { table.withLock { $0[name] ?? CircuitBreaker() } }

    public func all() -> [String: CircuitBreaker] { table.withLock { $0 } }
}
