import VigilCore

/// How many lines of a plugin's text (`log` frames, stderr) reach the daemon's log: a token
/// bucket of ``burst`` lines refilled at ``linesPerSecond``. What it drops is counted and
/// reported rolled up — at most one report every ``reportEvery`` — so a plugin writing in a
/// loop costs the log 20 of its lines a second and one count every 10 seconds, not a warning
/// per line.
struct LineRateLimit: Sendable {
    static let linesPerSecond = 20.0
    static let burst = 100.0
    static let reportEvery: Duration = .seconds(10)

    private var bucket: TokenBucket
    private var dropped = 0
    private var reportedAt: Timestamp?

    init(now: Timestamp) { bucket = TokenBucket(perSecond: Self.linesPerSecond, burst: Self.burst, now: now) }

    /// Whether a line may be written now, and how many dropped lines to report first (nil: none
    /// now; they are reported with a later line, at most once every ``reportEvery``).
    mutating func admit(now: Timestamp) -> (write: Bool, reportDropped: Int?) {
        bucket.refill(now: now)
        guard bucket.tokens >= 1 else {
            dropped += 1
            return (false, nil)
        }
        bucket.spend(now: now)
        guard dropped > 0, reportedAt.map({ now - $0 >= Self.reportEvery }) ?? true else { return (true, nil) }
        defer { dropped = 0; reportedAt = now }
        return (true, dropped)
    }

    /// The dropped lines not reported yet (when the plugin's run ends).
    mutating func unreported() -> Int? {
        defer { dropped = 0 }
        return dropped > 0 ? dropped : nil
    }
}

/// A plugin's `log` frames (or, counted apart, its stderr: ``StderrRelay``) within one minute: past ``lines`` lines dropped by the rate limit (50 a
/// second above it, for a minute) or ``bytes`` bytes of messages (about half a megabyte a second
/// for a minute; a line is shown cut at 1 KiB anyway), its run ends as a log flood.
struct LogFlood: Sendable {
    static let window: Duration = .seconds(60)
    static let lines = 3_000
    static let bytes = 32 << 20
    /// Bytes of stderr within the window: lower, since stderr carries no frames to read whole
    /// (lines are cut at 4 KiB and at most 20 a second reach the log), and every byte costs a scan.
    static let stderrBytes = 8 << 20
    var start: Timestamp
    var lines = 0
    var bytes = 0
}
