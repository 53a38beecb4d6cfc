/// A response-time goal the reports check (`incidents.targets`): seed 004's "Quality Standards
/// and Metrics" — "Mean time to detection (MTTD) < 5 minutes for P0/P1 incidents" — is the
/// default one.
public struct ResponseTarget: Codable, Sendable, Equatable {
    /// The response phases, each measured from detection (the moment the condition first held).
    public enum Phase: String, Codable, Sendable, Equatable, CaseIterable {
        /// Detected → incident opened.
        case detect
        /// Detected → acknowledged.
        case acknowledge
        /// Detected → contained (the first of: the incident entering `contained`, its first
        /// automated or manual containment action that succeeded).
        case contain
        /// Detected → resolved.
        case resolve
    }

    /// Which figure of a phase's durations must stay under the limit.
    public enum Statistic: String, Codable, Sendable, Equatable, CaseIterable {
        case mean, p50, p90, p99, max
    }

    /// What the reports call it (`MTTD under 5 minutes for P1/P2`).
    public var name: String
    public var phase: Phase
    public var statistic: Statistic
    /// The figure must be strictly below this.
    public var below: Duration
    /// Severity codes it applies to; nil means the active ladder's two most severe levels (seed
    /// 004's P0/P1, seed 000's P1/P2).
    public var severities: [String]?

    public init(name: String, phase: Phase, statistic: Statistic, below: Duration, severities: [String]? = nil) {
        self.name = name
        self.phase = phase
        self.statistic = statistic
        self.below = below
        self.severities = severities
    }

    /// Seed 004: mean time to detection under 5 minutes for the two most severe levels.
    public static let seedDetection = ResponseTarget(
        name: "MTTD under 5 minutes for the two most severe levels", phase: .detect, statistic: .mean,
        below: .seconds(300))

    /// The severity codes this target covers on `ladder`.
    public func codes(on ladder: SeverityLadder) -> [String] {
        severities ?? ladder.levels.prefix(2).map(\.code)
    }
}
