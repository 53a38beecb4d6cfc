import VigilCore

/// `burst` tokens refilled at `perSecond`: the one rate limit behind a plugin's log lines
/// (``LineRateLimit``), its control frames (`PluginChannelHandler`) and its watched syscalls
/// (`BreachWatcher`). Tokens may be spent below zero; the debt says how long until one is back.
/// A clock that goes back refills nothing.
struct TokenBucket: Sendable, Equatable {
    let perSecond: Double
    let burst: Double
    private(set) var tokens: Double
    private var refilledAt: Timestamp

    init(perSecond: Double, burst: Double, now: Timestamp) {
        self.perSecond = perSecond
        self.burst = burst
        tokens = burst
        refilledAt = now
    }

    /// Adds what the time since the last refill earned, up to ``burst``.
    mutating func refill(now: Timestamp) {
        let elapsed = now >= refilledAt ? (now - refilledAt).inSeconds : 0
        tokens = min(burst, tokens + elapsed * perSecond)
        refilledAt = max(refilledAt, now)
    }

    /// Refills, then spends one token (going into debt if there is none); the tokens left.
    @discardableResult
    mutating func spend(now: Timestamp) -> Double {
        refill(now: now)
        tokens -= 1
        return tokens
    }
}
