import Foundation
import VigilCore

/// A five-field cron expression (`minute hour day-of-month month day-of-week`) as crontab(5)
/// reads it: `*`, numbers, ranges `a-b`, steps `*/n` and `a-b/n`, lists `a,b`, month and weekday
/// names (`jan`, `sun`), weekday 7 for Sunday; when both day fields are restricted, either matching
/// is enough (the Vixie cron rule).
public struct CronSchedule: Sendable, Equatable, CustomStringConvertible {
    let minutes: Set<Int>, hours: Set<Int>, days: Set<Int>, months: Set<Int>, weekdays: Set<Int>
    let dayRestricted: Bool, weekdayRestricted: Bool
    public let description: String

    /// Why an expression was refused; `field` is 1-based.
    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    public init(parsing text: String) throws(ParseError) {
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard fields.count == 5 else {
            throw ParseError(message: "expected 5 fields (minute hour day-of-month month day-of-week), found \(fields.count)")
        }
        let monthNames = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
        let dayNames = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
        minutes = try Self.field(fields[0], "minute", 0...59, names: [:])
        hours = try Self.field(fields[1], "hour", 0...23, names: [:])
        days = try Self.field(fields[2], "day-of-month", 1...31, names: [:])
        months = try Self.field(fields[3], "month", 1...12,
                                names: Dictionary(uniqueKeysWithValues: monthNames.enumerated().map { ($1, $0 + 1) }))
        let w = try Self.field(fields[4], "day-of-week", 0...7,
                               names: Dictionary(uniqueKeysWithValues: dayNames.enumerated().map { ($1, $0) }))
        weekdays = Set(w.map { $0 % 7 })
        dayRestricted = !fields[2].hasPrefix("*")
        weekdayRestricted = !fields[4].hasPrefix("*")
        description = fields.joined(separator: " ")
    }

    static func field(_ text: String, _ name: String, _ range: ClosedRange<Int>, names: [String: Int])
        throws(ParseError) -> Set<Int> {
        var out = Set<Int>()
        func value(_ s: Substring) throws(ParseError) -> Int {
            if let v = Int(s), range.contains(v) { return v }
            if let v = names[s.lowercased()] { return v }
            throw ParseError(message: "\(name) field: \"\(s)\" is not a value from \(range.lowerBound) to \(range.upperBound)"
                + (names.isEmpty ? "" : " or a name like \(names.keys.sorted().prefix(3).joined(separator: ", "))"))
        }
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let pieces = part.split(separator: "/", omittingEmptySubsequences: false)
            guard pieces.count <= 2 else { throw ParseError(message: "\(name) field: \"\(part)\" has more than one /") }
            var step = 1
            if pieces.count == 2 {
                guard let s = Int(pieces[1]), s >= 1, s <= range.upperBound + 1 else {
                    throw ParseError(message: "\(name) field: step \"\(pieces[1])\" is not a number from 1 to \(range.upperBound + 1)")
                }
                step = s
            }
            let lo: Int, hi: Int
            if pieces[0] == "*" {
                (lo, hi) = (range.lowerBound, range.upperBound)
            } else {
                let bounds = pieces[0].split(separator: "-", omittingEmptySubsequences: false)
                guard bounds.count <= 2, let first = bounds.first else {
                    throw ParseError(message: "\(name) field: \"\(part)\" is not a value, range or step")
                }
                lo = try value(first)
                hi = bounds.count == 2 ? try value(bounds[1]) : (pieces.count == 2 ? range.upperBound : lo)
                guard lo <= hi else { throw ParseError(message: "\(name) field: range \"\(pieces[0])\" runs backwards") }
            }
            out.formUnion(stride(from: lo, through: hi, by: step))
        }
        return out
    }

    func fires(_ t: LocalTime) -> Bool {
        guard minutes.contains(t.minuteOfDay % 60), hours.contains(t.minuteOfDay / 60), months.contains(t.month) else {
            return false
        }
        let dayOK = days.contains(t.day), weekdayOK = weekdays.contains(t.weekday)
        switch (dayRestricted, weekdayRestricted) {
        case (true, true): return dayOK || weekdayOK
        case (true, false): return dayOK
        case (false, true): return weekdayOK
        case (false, false): return true
        }
    }

    /// The latest minute at or before `now` when the expression fired, if it is less than
    /// `duration` ago (checked minute by minute, at most ``MaintenanceWindow/maxCronDuration`` back).
    public func lastFire(atOrBefore now: Timestamp, within duration: Duration, timeZone: TimeZone) -> Timestamp? {
        let minute: Int64 = 60_000_000_000
        let (q, r) = now.nanoseconds.quotientAndRemainder(dividingBy: minute)
        var t = Timestamp(nanoseconds: (r < 0 ? q - 1 : q) * minute)
        let span = min(duration, MaintenanceWindow.maxCronDuration)
        while now - t < span {
            if fires(LocalTime(t, timeZone)) { return t }
            t = Timestamp(nanoseconds: t.nanoseconds &- minute)
        }
        return nil
    }
}
