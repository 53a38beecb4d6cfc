/// A severity on the active ladder, e.g. `P1` on the P0–P3 ladder.
///
/// Ladders come from configuration (the seeds ship P0–P3 and P1–P4), so a severity is
/// identified by its code and ordered by its rank on that ladder: rank 0 is the most severe.
public struct Severity: Hashable, Sendable, Codable, Comparable, CustomStringConvertible {
    /// The code operators type and read: `P0`, `P1`, …
    public var code: String
    /// Position on the ladder; 0 is the most severe.
    public var rank: Int

    public init(code: String, rank: Int) {
        self.code = code
        self.rank = rank
    }

    /// More severe sorts first.
    public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
    public var description: String { code }
}
