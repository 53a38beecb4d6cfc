import VigilCore

/// The state `/metrics` reports as gauges, read from the daemon's status sources at scrape time
/// (the bus's statistics, the plugin host, the store), so a gauge is never stale by more than a scrape.
public struct MetricsSnapshot: Sendable, Equatable {
    /// One EventBus lane; `published`, `shed` and `stalls` are totals since the daemon started.
    public struct Lane: Sendable, Equatable {
        public var lane: String
        public var depth: Int
        public var capacity: Int
        public var published: UInt64
        public var shed: UInt64
        public var stalls: UInt64
        public init(lane: String, depth: Int, capacity: Int, published: UInt64, shed: UInt64, stalls: UInt64) {
            self.lane = lane
            self.depth = depth
            self.capacity = capacity
            self.published = published
            self.shed = shed
            self.stalls = stalls
        }
    }

    /// One plugin; the counts are the supervisor's totals since the daemon started.
    public struct Plugin: Sendable, Equatable {
        public var name: String
        /// One of ``MetricsSnapshot/pluginStates``.
        public var state: String
        public var restarts: UInt64
        public var failures: UInt64
        public var breaches: UInt64
        /// Failures / attempts over the supervisor's sliding window, 0…1.
        public var failureRate: Double
        public init(name: String, state: String, restarts: UInt64, failures: UInt64, breaches: UInt64, failureRate: Double) {
            self.name = name
            self.state = state
            self.restarts = restarts
            self.failures = failures
            self.breaches = breaches
            self.failureRate = failureRate
        }
    }

    /// How many open incidents have one severity and state.
    public struct OpenIncidents: Sendable, Equatable {
        public var severity: String
        public var state: String
        public var count: Int
        public init(severity: String, state: String, count: Int) {
            self.severity = severity
            self.state = state
            self.count = count
        }
    }

    public var lanes: [Lane]
    public var plugins: [Plugin]
    public var openIncidents: [OpenIncidents]

    public init(lanes: [Lane] = [], plugins: [Plugin] = [], openIncidents: [OpenIncidents] = []) {
        self.lanes = lanes
        self.plugins = plugins
        self.openIncidents = openIncidents
    }

    /// Every state `vigil_plugin_state` has a series for (1 for the current one, 0 for the rest),
    /// so a query can select on the label without the series appearing and vanishing.
    public static let pluginStates = ["starting", "running", "stopping", "backing_off", "quarantined", "disabled"]
}
