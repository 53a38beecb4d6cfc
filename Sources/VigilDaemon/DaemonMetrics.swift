import VigilControl
import VigilCore
import VigilMetrics
import VigilPluginHost
import VigilStore

/// `/metrics` for one daemon: the counters fed by the store's commits and the HTTP intake, and
/// the gauges read at scrape time from the bus, the plugin host and the store.
public struct DaemonMetrics: Sendable {
    public let metrics: VigilMetrics
    let lanes: @Sendable () -> [StatusView.LaneView]
    let plugins: @Sendable () async -> [PluginStatus]
    let store: Store

    /// Registers with the store so every committed incident change is counted.
    public init(store: Store, lanes: @escaping @Sendable () -> [StatusView.LaneView],
         plugins: @escaping @Sendable () async -> [PluginStatus], metrics: VigilMetrics = VigilMetrics()) {
        store.onIncidentChangesCommitted { changes in
            for c in changes { metrics.observe(c.incident, c.timeline) }
        }
        self.metrics = metrics
        self.lanes = lanes
        self.plugins = plugins
        self.store = store
    }

    /// The exposition text for one scrape. A store that cannot be read leaves the incident gauges
    /// out of this scrape rather than failing it: the bus and plugin figures matter most then.
    public func scrape() async -> [UInt8] {
        let open = (try? await store.openIncidentCounts()) ?? []
        let snapshot = MetricsSnapshot(
            lanes: lanes().map { .init(lane: $0.lane, depth: $0.depth, capacity: $0.capacity, published: $0.published,
                                       shed: $0.shed, stalls: $0.stalls) },
            plugins: await plugins().map {
                .init(name: $0.name, state: $0.state.name.replacingOccurrences(of: " ", with: "_"),
                      restarts: UInt64(clamping: $0.counters.restarts), failures: UInt64(clamping: $0.counters.failures),
                      breaches: UInt64(clamping: $0.counters.breaches), failureRate: $0.failureRate)
            },
            openIncidents: open.map { .init(severity: $0.severity, state: $0.state, count: $0.count) })
        return metrics.render(snapshot)
    }
}
