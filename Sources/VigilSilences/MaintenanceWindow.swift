import Foundation
import VigilCore
import VigilMatchers

/// A recurring maintenance window from the configuration (`maintenance_windows:`): while it is
/// open it mutes what its matchers match exactly as a silence does.
public struct MaintenanceWindow: Sendable, Equatable {
    /// When a window opens.
    public enum Schedule: Sendable, Equatable {
        case weekly(WeeklySchedule)
        /// Opens at each time the cron expression names and stays open for `duration`.
        case cron(CronSchedule, duration: Duration)
    }

    /// Unique in the configuration; shown in timelines ("silenced by maintenance window NAME").
    public var name: String
    public var matchers: LabelMatchers
    public var schedule: Schedule
    /// The zone the schedule's days and times are in (default UTC).
    public var timeZone: TimeZone
    public var comment: String

    /// Longest cron duration accepted: the search for the last opening looks back this far.
    public static let maxCronDuration: Duration = .seconds(7 * 24 * 3600)

    public init(name: String, matchers: LabelMatchers, schedule: Schedule, timeZone: TimeZone, comment: String = "") {
        self.name = name
        self.matchers = matchers
        self.schedule = schedule
        self.timeZone = timeZone
        self.comment = comment
    }

    /// Whether the window is open at `now`.
    public func isOpen(at now: Timestamp) -> Bool {
        switch schedule {
        case .weekly(let w):
            return w.contains(LocalTime(now, timeZone))
        case .cron(let c, let duration):
            return c.lastFire(atOrBefore: now, within: duration, timeZone: timeZone) != nil
        }
    }

    /// Whether the window mutes `labels` at `now`.
    public func mutes(_ labels: [String: String], at now: Timestamp) -> Bool {
        matchers.matches(labels) && isOpen(at: now)
    }
}

/// A wall-clock minute in a time zone: weekday (0 = Sunday) and minute of the day.
struct LocalTime {
    var weekday: Int
    var minuteOfDay: Int
    var day: Int, month: Int

    init(_ t: Timestamp, _ zone: TimeZone) {
        let utcSeconds = t.nanoseconds / 1_000_000_000 - (t.nanoseconds % 1_000_000_000 < 0 ? 1 : 0)
        let offset = Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(utcSeconds))))
        let local = utcSeconds &+ offset
        let (q, r) = local.quotientAndRemainder(dividingBy: 86_400)
        let days = r < 0 ? q - 1 : q
        let secondOfDay = r < 0 ? r + 86_400 : r
        minuteOfDay = Int(secondOfDay / 60)
        // 1970-01-01 was a Thursday (4).
        let w = (days + 4) % 7
        weekday = Int(w < 0 ? w + 7 : w)
        // Civil from days (Howard Hinnant), for cron's day-of-month and month fields.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        day = Int(doy - (153 * mp + 2) / 5 + 1)
        month = Int(mp < 10 ? mp + 3 : mp - 9)
    }
}

/// Days of the week with a start and end time: `days: [mon, tue]`, `start: "22:00"`, `end: "02:00"`.
/// An end at or before the start runs past midnight into the next day.
public struct WeeklySchedule: Sendable, Equatable {
    /// 0 = Sunday … 6 = Saturday.
    public var days: Set<Int>
    /// Minutes after local midnight.
    public var start: Int
    public var end: Int

    public init(days: Set<Int>, start: Int, end: Int) {
        self.days = days
        self.start = start
        self.end = end
    }

    func contains(_ t: LocalTime) -> Bool {
        if start < end { return days.contains(t.weekday) && t.minuteOfDay >= start && t.minuteOfDay < end }
        // Overnight: the evening of a listed day, or the morning after one.
        if days.contains(t.weekday) && t.minuteOfDay >= start { return true }
        return days.contains((t.weekday + 6) % 7) && t.minuteOfDay < end
    }

    /// `mon`, `monday`, `Mon` … → 0–6; nil otherwise.
    public static func weekday(_ text: String) -> Int? {
        let names = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
        let full = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]
        let t = text.lowercased()
        return names.firstIndex(of: t) ?? full.firstIndex(of: t)
    }

    /// `HH:MM` (00:00–24:00) → minutes; nil otherwise.
    public static func clockTime(_ text: String) -> Int? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 2, parts[1].count == 2,
              let h = Int(parts[0]), let m = Int(parts[1]), (0...24).contains(h), (0...59).contains(m),
              h < 24 || m == 0 else { return nil }
        return h * 60 + m
    }
}
