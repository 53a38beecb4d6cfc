/// Parses and prints human durations as the seeds write them: `15 minutes`, `2 hours`,
/// `30 seconds`, `1 minute`, `24h`, `5m`, `500ms`, `1.5 hours`.
///
/// Accepted units (singular or plural): `ms`/`millisecond`, `s`/`sec`/`second`,
/// `m`/`min`/`minute`, `h`/`hr`/`hour`, `d`/`day`, `w`/`week`. Abbreviations that the seeds
/// never use and that read ambiguously (`mins`, `secs`, `hrs`) are refused on purpose so a
/// config means exactly one thing.
public enum DurationText {
    public static let unitNames: [(names: [String], nanos: Int64)] = [
        (["ms", "millisecond", "milliseconds"], 1_000_000),
        (["s", "sec", "second", "seconds"], 1_000_000_000),
        (["m", "min", "minute", "minutes"], 60_000_000_000),
        (["h", "hr", "hour", "hours"], 3_600_000_000_000),
        (["d", "day", "days"], 86_400_000_000_000),
        (["w", "week", "weeks"], 604_800_000_000_000),
    ]

    /// Nanoseconds per unit for a unit word, or nil if it is not a duration unit.
    public static func nanosPerUnit(_ word: String) -> Int64? {
        let w = word.lowercased()
        for entry in unitNames where entry.names.contains(w) { return entry.nanos }
        return nil
    }

    /// Parses `text`; returns nil when it is not a duration (the caller reports where).
    public static func parse(_ text: String) -> Duration? {
        let trimmed = text.trimmingWhitespace()
        var numberEnd = trimmed.startIndex
        var sawDigit = false
        var sawDot = false
        while numberEnd < trimmed.endIndex {
            let c = trimmed[numberEnd]
            if c.isASCII, c.isNumber { sawDigit = true } else if c == ".", !sawDot { sawDot = true } else { break }
            numberEnd = trimmed.index(after: numberEnd)
        }
        guard sawDigit, let value = Double(trimmed[trimmed.startIndex..<numberEnd]), value >= 0 else { return nil }
        let unit = String(trimmed[numberEnd...]).trimmingWhitespace()
        guard let per = nanosPerUnit(unit) else { return nil }
        let nanos = value * Double(per)
        guard nanos < 9.2e18 else { return nil }
        return .nanoseconds(Int64(nanos.rounded()))
    }

    /// Prints the shortest exact human form: `15 minutes`, `2 hours`, `1 day`, `90 seconds`, `250ms`.
    public static func format(_ d: Duration) -> String {
        let n = d.nanoseconds
        if n == 0 { return "0 seconds" }
        let table: [(Int64, String)] = [
            (604_800_000_000_000, "week"), (86_400_000_000_000, "day"), (3_600_000_000_000, "hour"),
            (60_000_000_000, "minute"), (1_000_000_000, "second"),
        ]
        for (per, name) in table where n % per == 0 {
            let v = n / per
            return "\(v) \(name)\(v == 1 ? "" : "s")"
        }
        if n % 1_000_000 == 0 { return "\(n / 1_000_000)ms" }
        return "\(Double(n) / 1e9) seconds"
    }
}

extension StringProtocol {
    /// The string without leading and trailing spaces, tabs and newlines.
    public func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" || f == "\n" || f == "\r" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\n" || l == "\r" { s.removeLast() }
        return String(s)
    }
}
