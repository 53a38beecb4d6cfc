import VigilConfig
import VigilCore
import VigilStore

/// How the outbox retries: exponential backoff from `initial`, doubling up to `maximum`, giving
/// up (state `failed`) after `maxAttempts`. Each wait is drawn between half its step and the
/// whole step ("equal jitter"): the pages one dead receiver failed together do not all come
/// back at the same instant, and none comes back sooner than half its step.
public struct RetryPolicy: Sendable, Equatable {
    public var initial: Duration
    public var maximum: Duration
    public var maxAttempts: Int

    public init(initial: Duration = .seconds(2), maximum: Duration = .seconds(300), maxAttempts: Int = 12) {
        self.initial = initial
        self.maximum = maximum
        self.maxAttempts = maxAttempts
    }

    /// The longest wait after the `attempts`-th failed attempt (1-based): `initial` doubled
    /// `attempts - 1` times, at most `maximum`.
    public func ceiling(afterAttempt attempts: Int) -> Duration {
        let factor = Int64(1) << min(max(attempts - 1, 0), 40)
        let (scaled, overflow) = initial.nanoseconds.multipliedReportingOverflow(by: factor)
        return .nanoseconds(min(overflow ? .max : scaled, maximum.nanoseconds))
    }

    /// The wait after the `attempts`-th failed attempt: between half of ``ceiling(afterAttempt:)``
    /// and all of it, drawn from `generator`.
    public func delay<R: RandomNumberGenerator>(afterAttempt attempts: Int, using generator: inout R) -> Duration {
        let top = max(ceiling(afterAttempt: attempts).nanoseconds, 0)
        let floor = top / 2
        return .nanoseconds(floor + Int64.random(in: 0...(top - floor), using: &generator))
    }
}

/// Everything the outbox decides a delivery's fate with: retries, when a person's next contact
/// method is queued, and how fast each channel may go (`notifications:`).
public struct DeliveryPolicy: Sendable, Equatable {
    public var retry: RetryPolicy
    /// Failed attempts on one contact method after which the person's next method is queued;
    /// the first keeps retrying until ``RetryPolicy/maxAttempts``.
    public var fallbackAfter: Int
    /// Per channel: deliveries start at most this fast.
    public var rateLimits: [String: ChannelRateLimit]

    public init(retry: RetryPolicy = RetryPolicy(), fallbackAfter: Int = 1, rateLimits: [String: ChannelRateLimit] = [:]) {
        self.retry = retry
        self.fallbackAfter = fallbackAfter
        self.rateLimits = rateLimits
    }

    /// The policy the configuration's `notifications:` section describes.
    public init(_ settings: NotificationSettings) {
        self.init(retry: RetryPolicy(initial: settings.retryInitial, maximum: settings.retryMaximum,
                                     maxAttempts: settings.attempts),
                  fallbackAfter: settings.fallbackAfter, rateLimits: settings.rateLimits)
    }
}

/// Each rate-limited channel's token bucket. A notification over its channel's rate is given
/// the instant its token will have been earned (the bucket goes into debt for it), so pages
/// queued together on one channel are spread one slot apart instead of all coming back at once,
/// and it holds that slot: coming back at its time, it goes without paying again.
struct ChannelRateLimits {
    private(set) var limits: [String: ChannelRateLimit]
    private var buckets: [String: TokenBucket] = [:]
    /// Notifications that were given a slot, by id: when it is.
    private var reserved: [Int64: Timestamp] = [:]
    static let maximumReserved = 100_000

    init(_ limits: [String: ChannelRateLimit]) { self.limits = limits }

    /// Nil when `notification` may go now; otherwise when it may (not before).
    mutating func admit(_ notification: NotificationRecord, now: Timestamp) -> Timestamp? {
        let id = notification.id ?? -1
        if let slot = reserved[id] {
            if now >= slot {
                reserved[id] = nil
                return nil
            }
            return slot
        }
        guard let limit = limits[notification.channel] else { return nil }
        var bucket = buckets[notification.channel]
            ?? TokenBucket(perSecond: limit.perSecond, burst: Double(limit.burst), now: now)
        let left = bucket.spend(now: now)
        buckets[notification.channel] = bucket
        guard left < 0 else { return nil }
        let slot = now + .nanoseconds(Int64((-left / limit.perSecond * 1e9).rounded(.up)))
        if reserved.count >= Self.maximumReserved {
            // Slots of notifications that never came back (their incident was deleted) are let go.
            reserved = reserved.filter { now - $0.value < .seconds(3600) }
        }
        reserved[id] = slot
        return slot
    }

    /// Forgets a notification's slot (it was attempted, muted or dropped some other way).
    mutating func release(_ id: Int64?) {
        if let id { reserved[id] = nil }
    }

    /// Takes reloaded limits: a channel whose limit changed starts a new bucket.
    mutating func replace(_ new: [String: ChannelRateLimit]) {
        for (channel, limit) in limits where new[channel] != limit { buckets[channel] = nil }
        for channel in new.keys where limits[channel] == nil { buckets[channel] = nil }
        limits = new
    }
}
