import VigilCore

/// Sizes and thresholds of the bus; the daemon maps the `bus:` section of its config onto it.
public struct EventBusConfiguration: Sendable, Equatable {
    /// Ring capacity per lane (rounded up to a power of two).
    public var capacity: [Lane: Int]
    /// Fraction of capacity at or above which producers are told to slow down.
    public var highWatermark: Double
    /// Fraction of capacity at or below which they may resume.
    public var lowWatermark: Double
    /// How often ``BusSelfMonitor`` publishes depth, sheds and stalls.
    public var selfMonitoringInterval: Duration

    public init(capacity: [Lane: Int] = [.security: 4096, .incident: 16384, .telemetry: 65536],
                highWatermark: Double = 0.75, lowWatermark: Double = 0.25,
                selfMonitoringInterval: Duration = .seconds(5)) {
        self.capacity = capacity
        self.highWatermark = highWatermark
        self.lowWatermark = lowWatermark
        self.selfMonitoringInterval = selfMonitoringInterval
    }
}

/// What happened to an offered batch.
public struct PublishOutcome: Sendable, Equatable {
    /// Events now on the bus.
    public var accepted: Int
    /// Older telemetry events dropped to make room (counted per source).
    public var shed: Int
    /// Events refused because a never-drop lane was full; the caller still holds them.
    public var rejected: Int
    /// The lane is at or above its high watermark: a well-behaved producer pauses until
    /// ``EventBus/whenBelowLowWatermark(_:_:)`` calls back.
    public var shouldPause: Bool

    public init(accepted: Int = 0, shed: Int = 0, rejected: Int = 0, shouldPause: Bool = false) {
        self.accepted = accepted
        self.shed = shed
        self.rejected = rejected
        self.shouldPause = shouldPause
    }
}

/// A lane's counters, for `vigil status` and self-monitoring.
public struct LaneStatistics: Sendable, Equatable {
    public var lane: Lane
    public var depth: Int
    public var capacity: Int
    /// Events ever accepted.
    public var published: UInt64
    /// Events ever handed to the consumer.
    public var consumed: UInt64
    /// Telemetry events dropped oldest-first under pressure.
    public var shed: UInt64
    /// Times a producer was refused (full never-drop lane) or had to wait (watermark).
    public var stalls: UInt64
    public var aboveHighWatermark: Bool
}
