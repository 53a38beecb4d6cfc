/// `burst` tokens refilled at `perSecond`: the one rate limit behind a plugin's log lines
/// (`LineRateLimit`), its control frames (`PluginChannelHandler`), its watched syscalls
/// (`BreachWatcher`) and the notification outbox's per-channel limits. Tokens may be spent below
/// zero; the debt says how long until one is back. A clock that goes back refills nothing.
public struct TokenBucket: Sendable, Equatable {
    public let perSecond: Double
    public let burst: Double
    public private(set) var tokens: Double
    private var refilledAt: Timestamp

    public init(perSecond: Double, burst: Double, now: Timestamp) {
        self.perSecond = perSecond
        self.burst = burst
        tokens = burst
        refilledAt = now
    }

    /// Adds what the time since the last refill earned, up to ``burst``.
    public mutating func refill(now: Timestamp) {
        let elapsed = now >= refilledAt ? (now - refilledAt).inSeconds : 0
        tokens = min(burst, tokens + elapsed * perSecond)
        refilledAt = max(refilledAt, now)
    }

    /// Refills, then spends one token (going into debt if there is none); the tokens left.
    @discardableResult
    public mutating func spend(now: Timestamp) -> Double {
        refill(now: now)
        tokens -= 1
        return tokens
    }

    /// Refills, then spends one token if a whole one is there: nil when it was spent, else how
    /// long until one is (nothing is spent, so whoever waits that long finds it).
    public mutating func take(now: Timestamp) -> Duration? {
        refill(now: now)
        if tokens >= 1 {
            tokens -= 1
            return nil
        }
        let seconds = (1 - tokens) / perSecond
        // At least a millisecond: a wait rounded down to nothing would find no token either.
        return .nanoseconds(max(Int64((seconds * 1e9).rounded(.up)), 1_000_000))
    }
}
