import VigilCore

/// One change of one rule's state for one series (or, for window rules, one group): what
/// `vigil rules test --replay` prints and what tests compare.
///
/// Unlike ``RuleSignal`` (which the incident manager receives), transitions include `pending` and
/// its cancellation, and are per series even when several series share an alert.
public struct RuleTransition: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// The condition started to hold; a `for` duration is now running.
        case pending
        /// The rule fires for this series.
        case firing
        /// A firing series stopped firing.
        case resolved
        /// A pending series stopped holding before its `for` duration was over.
        case inactive
    }

    /// Why a series stopped, when it was not a sample breaking the condition.
    public enum Cause: String, Sendable, Hashable {
        /// A sample broke the condition (or the window no longer satisfies it).
        case condition
        /// No sample arrived for `rules.stale_after`: the value is no longer known.
        case stale
        /// `keep_firing_for` ran out.
        case keepFiringExpired = "keep_firing_for expired"
    }

    public var kind: Kind
    public var ruleID: String
    /// The series' labels (a window rule's group labels), `source` included when known.
    public var series: [String: String]
    /// The sample, window sum or ratio (in ``unit``) at the transition.
    public var value: Double
    public var unit: String
    public var at: Timestamp
    /// When the condition first held in this episode.
    public var firstHeldAt: Timestamp
    public var cause: Cause

    public init(kind: Kind, ruleID: String, series: [String: String], value: Double, unit: String, at: Timestamp,
                firstHeldAt: Timestamp, cause: Cause = .condition) {
        self.kind = kind
        self.ruleID = ruleID
        self.series = series
        self.value = value
        self.unit = unit
        self.at = at
        self.firstHeldAt = firstHeldAt
        self.cause = cause
    }

    /// `{disk="/", host="web-1"}`, keys sorted; `{}` for none.
    public var seriesText: String { Self.labelText(series) }

    public static func labelText(_ labels: [String: String]) -> String {
        "{" + labels.sorted { $0.key < $1.key }.map { "\($0.key)=\(RulePrinter.quoted($0.value))" }
            .joined(separator: ", ") + "}"
    }

    /// `2026-01-05T09:05:00.000Z firing system_health.cpu_usage{host="web-1"} value 93% since 2026-01-05T09:00:00.000Z`
    public var description: String {
        var line = "\(at.rfc3339) \(kind.rawValue) \(ruleID)\(seriesText) value \(NumberText.short(value))"
            + (unit.isEmpty ? "" : (unit == "%" || unit == "ms" || unit == "s" ? unit : " \(unit)"))
        if kind != .pending { line += " since \(firstHeldAt.rfc3339)" }
        if cause != .condition { line += " (\(cause.rawValue))" }
        return line
    }
}

extension NumberText {
    /// A value for people: integers plainly, others with up to four decimals.
    static func short(_ v: Double) -> String {
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        var s = String(format4(v))
        while s.hasSuffix("0") { s.removeLast() }
        if s.hasSuffix(".") { s.removeLast() }
        return s
    }

    private static func format4(_ v: Double) -> String {
        let scaled = (v * 10_000).rounded()
        guard abs(scaled) < 9e18 else { return "\(v)" }
        let i = Int64(scaled)
        let sign = i < 0 ? "-" : ""
        let a = i.magnitude
        let frac = String(a % 10_000)
        return "\(sign)\(a / 10_000)." + String(repeating: "0", count: 4 - frac.count) + frac
    }
}
