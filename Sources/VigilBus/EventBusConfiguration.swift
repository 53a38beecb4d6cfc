import VigilCore

/// A ring's watermarks, as fractions of its capacity.
public struct Watermarks: Sendable, Equatable {
    /// At or above this fill, producers are told to slow down (an async producer suspends, a
    /// socket reader stops reading).
    public var high: Double
    /// At or below this fill, paused producers resume.
    public var low: Double

    public init(high: Double, low: Double) {
        self.high = high
        self.low = low
    }
}

/// Sizes and thresholds of the bus; the daemon maps the `bus:` section of its config onto it.
///
/// Memory is bounded by the capacities: per lane, `capacity` events in the shared ring plus
/// `producerCapacity` events for each registered producer, at most `maxProducersPerLane` of them
/// (64 bytes per shared-ring slot, 40 per producer-ring slot, allocated when a producer registers).
public struct EventBusConfiguration: Sendable, Equatable {
    /// Capacity of each lane's shared ring, used by producers without a ring of their own
    /// (rounded up to a power of two).
    public var capacity: [Lane: Int]
    /// Capacity of the ring each registered ``BusProducer`` gets on a lane it publishes to.
    public var producerCapacity: [Lane: Int]
    /// How many registered producers a lane gives rings of their own; later ones share the lane's ring.
    public var maxProducersPerLane: Int
    /// Default fraction of capacity at or above which producers are told to slow down.
    public var highWatermark: Double
    /// Default fraction of capacity at or below which they may resume.
    public var lowWatermark: Double
    /// Per-lane watermarks that override the two defaults above.
    public var laneWatermarks: [Lane: Watermarks]
    /// How often ``BusSelfMonitor`` publishes depth, sheds and stalls.
    public var selfMonitoringInterval: Duration
    /// Whether producers publish without a memory fence, the parking consumer paying for both
    /// sides with membarrier(2) instead (see ``EventBus/waitForEvents()``). Where the kernel does
    /// not offer private expedited membarrier, producers fence whatever this says.
    public var asymmetricBarriers: Bool

    public init(capacity: [Lane: Int] = [.security: 4096, .incident: 16384, .telemetry: 65536],
                producerCapacity: [Lane: Int] = [.security: 1024, .incident: 4096, .telemetry: 8192],
                maxProducersPerLane: Int = 256,
                highWatermark: Double = 0.75, lowWatermark: Double = 0.25,
                laneWatermarks: [Lane: Watermarks] = [:],
                selfMonitoringInterval: Duration = .seconds(5), asymmetricBarriers: Bool = true) {
        self.capacity = capacity
        self.producerCapacity = producerCapacity
        self.maxProducersPerLane = maxProducersPerLane
        self.highWatermark = highWatermark
        self.lowWatermark = lowWatermark
        self.laneWatermarks = laneWatermarks
        self.selfMonitoringInterval = selfMonitoringInterval
        self.asymmetricBarriers = asymmetricBarriers
    }

    /// The watermarks in force on `lane`.
    public func watermarks(for lane: Lane) -> Watermarks {
        laneWatermarks[lane] ?? Watermarks(high: highWatermark, low: lowWatermark)
    }
}

/// What happened to an offered batch.
///
/// Every offered event is accounted for: `offered == accepted + rejected`, except that a
/// telemetry batch larger than a producer's own ring sheds its own oldest events before they
/// enter (they count in `shed`, not in `accepted`).
public struct PublishOutcome: Sendable, Equatable {
    /// Events of this batch that went onto the bus. (On a shared telemetry ring, a batch larger
    /// than the ring may shed some of its own earlier events again to make room for later ones.)
    public var accepted: Int
    /// Telemetry events dropped oldest-first to make room (counted per source): older events
    /// already waiting, or this batch's own oldest when the batch is larger than the ring.
    public var shed: Int
    /// Events refused because a never-drop ring was full: always the last `rejected` events of
    /// the batch, which the caller still holds and should offer again once it may resume.
    public var rejected: Int
    /// The ring is at or above its high watermark: a well-behaved producer pauses until
    /// `whenBelowLowWatermark` calls back.
    public var shouldPause: Bool

    public init(accepted: Int = 0, shed: Int = 0, rejected: Int = 0, shouldPause: Bool = false) {
        self.accepted = accepted
        self.shed = shed
        self.rejected = rejected
        self.shouldPause = shouldPause
    }

    mutating func absorb(_ other: PublishOutcome) {
        accepted += other.accepted
        shed += other.shed
        rejected += other.rejected
        shouldPause = shouldPause || other.shouldPause
    }
}

/// A lane's counters, for `vigil status` and self-monitoring.
public struct LaneStatistics: Sendable, Equatable {
    public var lane: Lane
    /// Events waiting, in the shared ring and every producer's ring.
    public var depth: Int
    /// The shared ring's capacity plus that of every producer ring in use.
    public var capacity: Int
    /// Events ever accepted.
    public var published: UInt64
    /// Events ever handed to the consumer.
    public var consumed: UInt64
    /// Telemetry events dropped oldest-first under pressure.
    public var shed: UInt64
    /// Times a producer was refused (full never-drop ring) or had to wait (watermark).
    public var stalls: UInt64
    /// Some ring of the lane is at or above its high watermark (its producers are told to pause).
    public var aboveHighWatermark: Bool
    /// Registered producers with a ring of their own on this lane.
    public var producers: Int
}
