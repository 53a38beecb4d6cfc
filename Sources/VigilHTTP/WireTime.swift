import Foundation
import VigilCore

/// RFC 3339 times as Alertmanager reads and prints them (`2026-12-05T05:10:07.123Z`).
enum WireTime {
    static func format(_ date: Date) -> String { RFC3339.format(Timestamp(date)) }
    static func format(_ t: Timestamp) -> String { RFC3339.format(t) }

    enum Parsed: Equatable {
        /// Go's zero time (`0001-01-01T00:00:00Z`), which Alertmanager treats as absent.
        case zero
        case time(Timestamp)
        case invalid
    }

    /// `YYYY-MM-DDTHH:MM:SS[.fraction][Z|±HH:MM]` (no zone is UTC, as go-openapi reads it).
    static func parse(_ text: String) -> Parsed {
        let b = Array(text.utf8)
        guard b.count >= 19, b.count <= 64, b[10] == UInt8(ascii: "T"), !b.contains(UInt8(ascii: "z")) else { return .invalid }
        if text.hasPrefix("0001-01-01T00:00:00") {
            let rest = text.dropFirst(19)
            if rest.isEmpty || rest == "Z" || rest.allSatisfy({ $0 == "0" || $0 == "." || $0 == "Z" }) { return .zero }
        }
        // No zone: the last byte is a digit (seconds or a fraction).
        let zoned = b.last.map { !($0 >= 48 && $0 <= 57) } ?? false
            || (b.count >= 25 && (b[b.count - 6] == UInt8(ascii: "+") || b[b.count - 6] == UInt8(ascii: "-")))
        guard let t = RFC3339.parse(zoned ? text : text + "Z") else { return .invalid }
        return .time(t)
    }
}
