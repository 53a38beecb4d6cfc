import Foundation

/// A point in wall-clock time, as nanoseconds since the Unix epoch.
///
/// Vigil stores and compares times as integers so the hot path (bus, rules) never
/// touches `Date` or allocates; convert with ``date`` at the edges.
public struct Timestamp: Hashable, Comparable, Codable, Sendable, CustomStringConvertible {
    /// Nanoseconds since 1970-01-01T00:00:00Z.
    public var nanoseconds: Int64

    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }
    /// Saturates beyond the representable span (1677…2262) and reads NaN as the epoch, so no
    /// value can trap; input should go through ``init(checkedSeconds:)`` and be refused instead.
    public init(seconds: Double) { self.nanoseconds = Self.saturatingNanoseconds(seconds) }
    /// Nil for NaN, infinities and times outside 1677…2262 (what Int64 nanoseconds can hold):
    /// the same range as ``RFC3339/parse(_:)``, so a time read as text can be written as seconds.
    public init?(checkedSeconds seconds: Double) {
        let nanos = (seconds * 1e9).rounded()
        // ±2^63 are exact doubles; the conversion below is defined strictly inside them.
        guard nanos >= -9_223_372_036_854_775_808.0, nanos < 9_223_372_036_854_775_808.0 else { return nil }
        self.nanoseconds = Int64(nanos)
    }
    public init(_ date: Date) { self.init(seconds: date.timeIntervalSince1970) }

    /// Seconds since the epoch, as a floating-point number.
    public var seconds: Double { Double(nanoseconds) / 1e9 }
    public var date: Date { Date(timeIntervalSince1970: seconds) }

    public static func < (a: Timestamp, b: Timestamp) -> Bool { a.nanoseconds < b.nanoseconds }

    public static func + (t: Timestamp, d: Duration) -> Timestamp {
        Timestamp(nanoseconds: t.nanoseconds &+ d.nanoseconds)
    }
    public static func - (t: Timestamp, d: Duration) -> Timestamp {
        Timestamp(nanoseconds: t.nanoseconds &- d.nanoseconds)
    }
    public static func - (a: Timestamp, b: Timestamp) -> Duration {
        .nanoseconds(a.nanoseconds &- b.nanoseconds)
    }

    /// RFC 3339 with millisecond precision in UTC, e.g. `2026-11-24T19:40:26.120Z`.
    public var rfc3339: String { RFC3339.format(self) }

    static func saturatingNanoseconds(_ seconds: Double) -> Int64 {
        let nanos = (seconds * 1e9).rounded()
        if nanos.isNaN { return 0 }
        // 2^63 is exactly representable; anything at or beyond it saturates.
        if nanos >= 9_223_372_036_854_775_808.0 { return .max }
        if nanos < -9_223_372_036_854_775_808.0 { return .min }
        return Int64(nanos)
    }
    public var description: String { rfc3339 }

    public init(from decoder: any Decoder) throws {
        self.nanoseconds = try decoder.singleValueContainer().decode(Int64.self)
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(nanoseconds)
    }
}

extension Duration {
    /// The whole duration in nanoseconds (saturating for spans beyond ±292 years).
    public var nanoseconds: Int64 {
        let (s, a) = components
        let (m, o) = s.multipliedReportingOverflow(by: 1_000_000_000)
        if o { return s < 0 ? .min : .max }
        return m &+ a / 1_000_000_000
    }
    /// The duration in seconds as a floating-point number.
    public var inSeconds: Double { Double(nanoseconds) / 1e9 }
}

/// The source of "now" for every piece of logic that reasons about time.
///
/// Logic modules (rules, incidents, bus self-monitoring) take a clock instead of reading
/// the system time, so tests advance a ``ManualClock`` rather than sleeping.
public protocol VigilClock: Sendable {
    func now() -> Timestamp
}

/// The real wall clock (`CLOCK_REALTIME`).
public struct SystemClock: VigilClock {
    public init() {}
    public func now() -> Timestamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Timestamp(nanoseconds: Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec))
    }
}

/// A clock that only moves when told to; for tests and offline replay.
public final class ManualClock: VigilClock, @unchecked Sendable {
    private let lock = NSLock()
    private var current: Timestamp

    public init(_ start: Timestamp = Timestamp(nanoseconds: 1_790_000_000_000_000_000)) {
        self.current = start
    }

    public func now() -> Timestamp { lock.withLock { current } }

    /// Moves the clock forward by `duration`.
    public func advance(by duration: Duration) { lock.withLock { current = current + duration } }

    /// Sets the clock to `time` (may move backwards; callers that care must not).
    public func set(_ time: Timestamp) { lock.withLock { current = time } }
}

/// RFC 3339 formatting and parsing without `DateFormatter` (which is slow and not Sendable).
public enum RFC3339 {
    public static func format(_ t: Timestamp) -> String {
        // Floor divisions written so that Int64.min cannot overflow (`n - 999_999` would).
        let (qm, rm) = t.nanoseconds.quotientAndRemainder(dividingBy: 1_000_000)
        let totalMillis = rm < 0 ? qm - 1 : qm
        let (qs, rs) = totalMillis.quotientAndRemainder(dividingBy: 1000)
        var secs = time_t(rs < 0 ? qs - 1 : qs)
        let millis = Int(rs < 0 ? rs + 1000 : rs)
        var parts = tm()
        gmtime_r(&secs, &parts)
        func pad(_ v: Int32, _ w: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, w - s.count)) + s
        }
        let ms = String(millis)
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))."
            + String(repeating: "0", count: 3 - ms.count) + ms + "Z"
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`; returns nil for anything else, and for
    /// times a ``Timestamp`` cannot hold (before 1677-09-21 or after 2262-04-11): the text comes
    /// from plugins and files, and an overflow here would trap the daemon.
    public static func parse(_ text: String) -> Timestamp? {
        let b = Array(text.utf8)
        guard b.count >= 20 else { return nil }
        func num(_ from: Int, _ len: Int) -> Int? {
            guard from + len <= b.count else { return nil }
            var v = 0
            for i in from..<(from + len) {
                let c = b[i]
                guard c >= 48, c <= 57 else { return nil }
                v = v * 10 + Int(c - 48)
            }
            return v
        }
        guard let year = num(0, 4), b[4] == 45, let month = num(5, 2), b[7] == 45, let day = num(8, 2),
              b[10] == 84 || b[10] == 116 || b[10] == 32,
              let hour = num(11, 2), b[13] == 58, let minute = num(14, 2), b[16] == 58, let second = num(17, 2),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        // No 30 February: the day must exist in its month (leap years as the Gregorian calendar has them).
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let daysInMonth = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        guard day <= daysInMonth else { return nil }
        var i = 19
        var fracNanos: Int64 = 0
        if i < b.count, b[i] == 46 {
            i += 1
            var scale: Int64 = 100_000_000
            let start = i
            while i < b.count, b[i] >= 48, b[i] <= 57 {
                fracNanos += Int64(b[i] - 48) * scale
                scale /= 10
                i += 1
            }
            if i == start { return nil }
        }
        guard i < b.count else { return nil }
        var offsetSeconds = 0
        if b[i] == 90 || b[i] == 122 {
            i += 1
        } else if b[i] == 43 || b[i] == 45 {
            guard let oh = num(i + 1, 2), i + 3 < b.count, b[i + 3] == 58, let om = num(i + 4, 2),
                  oh < 24, om < 60 else { return nil }
            offsetSeconds = (oh * 3600 + om * 60) * (b[i] == 43 ? 1 : -1)
            i += 6
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        // Days from civil (Howard Hinnant's algorithm): exact for the proleptic Gregorian calendar.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        let secs = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second - offsetSeconds)
        // Before the epoch a fraction is added to the next whole second down, so the earliest
        // representable instant does not overflow on the way.
        let borrow: Int64 = secs < 0 && fracNanos > 0 ? 1 : 0
        let (whole, o1) = (secs + borrow).multipliedReportingOverflow(by: 1_000_000_000)
        let (nanos, o2) = whole.addingReportingOverflow(fracNanos - borrow * 1_000_000_000)
        guard !o1, !o2 else { return nil }
        return Timestamp(nanoseconds: nanos)
    }
}
