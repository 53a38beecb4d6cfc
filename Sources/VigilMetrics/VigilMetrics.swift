import Prometheus
import Synchronization
import VigilCore

/// The daemon's metrics in the Prometheus text format (`GET /metrics`).
///
/// Counters are incremented where things happen (alert intake, committed incident changes);
/// gauges are set from a ``MetricsSnapshot`` at scrape time. Everything lives on one
/// swift-prometheus registry per daemon, with a help text for every family: `promtool check
/// metrics` flags families without one, and swift-metrics' API has no place for help text, so
/// the registry is used directly rather than through a global `MetricsSystem`.
public final class VigilMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    private let alertsFiring: Counter
    private let alertsResolved: Counter
    private let alertsInvalid: Counter
    /// The last cumulative totals seen per series, so a total read from a status source becomes a
    /// counter increment (a source that restarted from zero counts again from zero).
    private let lastTotals = Mutex<[String: UInt64]>([:])
    /// Label sets of state gauges set at the last scrape, to zero (or drop) those no longer present.
    private let lastIncidentSeries = Mutex<Set<[String]>>([])
    private let lastPlugins = Mutex<Set<String>>([])

    /// Seconds: a page is expected within minutes, a resolution within hours.
    static let detectBuckets: [Duration] = [10, 30, 60, 120, 300, 600, 1800, 3600].map { .seconds($0) }
    static let acknowledgeBuckets: [Duration] = [60, 300, 900, 1800, 3600, 7200, 14_400, 86_400].map { .seconds($0) }
    static let resolveBuckets: [Duration] = [300, 900, 1800, 3600, 7200, 14_400, 43_200, 86_400, 259_200, 604_800].map { .seconds($0) }

    public init() {
        // Alertmanager's own names and labels: dashboards built for it keep working.
        alertsFiring = Self.counter(registry, "alertmanager_alerts_received_total", [("status", "firing"), ("version", "v2")],
                                    Help.alertsReceived)
        alertsResolved = Self.counter(registry, "alertmanager_alerts_received_total", [("status", "resolved"), ("version", "v2")],
                                      Help.alertsReceived)
        alertsInvalid = Self.counter(registry, "alertmanager_alerts_invalid_total", [("version", "v2")], Help.alertsInvalid)
    }

    // MARK: events

    /// Alerts accepted by `POST /api/v2/alerts` (or a webhook intake), by status.
    public func alertsReceived(firing: Int, resolved: Int) {
        if firing > 0 { alertsFiring.increment(by: Int64(firing)) }
        if resolved > 0 { alertsResolved.increment(by: Int64(resolved)) }
    }

    /// Alerts refused as invalid.
    public func alertsRefused(_ count: Int) {
        if count > 0 { alertsInvalid.increment(by: Int64(count)) }
    }

    /// Signals forwarded by host agents: applied, duplicates of ones already applied (a replay),
    /// and refused as malformed (`vigil_agent_signals_total{outcome}`).
    public func agentSignals(applied: Int, duplicates: Int, refused: Int) {
        for (outcome, n) in [("applied", applied), ("duplicate", duplicates), ("refused", refused)] where n > 0 {
            counter("vigil_agent_signals_total", [("outcome", outcome)], Help.agentSignals).increment(by: Int64(n))
        }
    }

    /// A host agent's forwarding: requests that failed (`vigil_agent_forward_failures_total`) and
    /// signals not spooled because the spool was full (`vigil_agent_spool_dropped_total`).
    public func agentForwardFailed() {
        counter("vigil_agent_forward_failures_total", [], Help.agentForwardFailures).increment()
    }

    public func agentSpoolDropped(_ n: Int) {
        if n > 0 { counter("vigil_agent_spool_dropped_total", [], Help.agentSpoolDropped).increment(by: Int64(n)) }
    }

    /// Signals waiting in a host agent's spool (`vigil_agent_spool_depth`).
    public func agentSpoolDepth(_ n: Int) {
        gauge("vigil_agent_spool_depth", [], Help.agentSpoolDepth).set(Int64(clamping: n))
    }

    /// Counts what one committed incident change recorded: escalations, SLA breaches, notification
    /// outcomes, settled containment actions, and the time to acknowledge and to resolve.
    public func observe(_ incident: Incident, _ entries: [TimelineEntry]) {
        let severity = incident.severity.code
        for entry in entries {
            switch entry.kind {
            case .detected, .declared:
                counter("vigil_incidents_opened_total", [("severity", severity)], Help.opened).increment()
                registry.makeDurationHistogram(descriptor: Self.named("vigil_time_to_detect_seconds", Help.detect),
                                               labels: [("severity", severity)], buckets: Self.detectBuckets)
                    .record(Self.nonNegative(incident.createdAt - incident.detectedAt))
            case .transition where entry.data["false_positive"] == "true":
                counter("vigil_incidents_false_positive_total", [("severity", severity)], Help.falsePositives).increment()
            case .transition where entry.data["to"] == IncidentState.contained.rawValue:
                registry.makeDurationHistogram(descriptor: Self.named("vigil_time_to_contain_seconds", Help.contain),
                                               labels: [("severity", severity)], buckets: Self.acknowledgeBuckets)
                    .record(Self.nonNegative(entry.time - incident.detectedAt))
            case .escalated:
                counter("vigil_escalations_total", [("severity", severity)], Help.escalations).increment()
            case .slaBreached:
                counter("vigil_sla_breaches_total", [("severity", severity)], Help.slaBreaches).increment()
            case .notification:
                guard let channel = entry.data["channel"] else { continue }
                switch entry.data["state"] {
                case "sent": counter("vigil_notifications_sent_total", [("channel", channel)], Help.sent).increment()
                case "failed": counter("vigil_notifications_failed_total", [("channel", channel)], Help.failed).increment()
                default: break
                }
            case .action:
                guard let raw = entry.data["state"], let state = ActionState(rawValue: raw), state.isSettled else { continue }
                counter("vigil_containment_actions_total", [("outcome", raw)], Help.actions).increment()
            case .acknowledged:
                registry.makeDurationHistogram(descriptor: Self.named("vigil_time_to_acknowledge_seconds", Help.acknowledge),
                                               labels: [("severity", severity)], buckets: Self.acknowledgeBuckets)
                    .record(Self.nonNegative(entry.time - incident.createdAt))
            case .resolved:
                registry.makeDurationHistogram(descriptor: Self.named("vigil_time_to_resolve_seconds", Help.resolve),
                                               labels: [("severity", severity)], buckets: Self.resolveBuckets)
                    .record(Self.nonNegative(entry.time - incident.createdAt))
            default:
                continue
            }
        }
    }

    // MARK: scrape

    /// The exposition text (`text/plain; version=0.0.4`) after setting the gauges from `snapshot`.
    public func render(_ snapshot: MetricsSnapshot) -> [UInt8] {
        for l in snapshot.lanes {
            let labels = [("lane", l.lane)]
            gauge("vigil_eventbus_queue_depth", labels, Help.depth).set(Int64(clamping: l.depth))
            gauge("vigil_eventbus_capacity", labels, Help.capacity).set(Int64(clamping: l.capacity))
            advance("vigil_eventbus_published_total", labels, to: l.published, Help.published)
            advance("vigil_eventbus_shed_total", labels, to: l.shed, Help.shed)
            advance("vigil_eventbus_stalls_total", labels, to: l.stalls, Help.stalls)
        }
        var plugins = Set<String>()
        for p in snapshot.plugins {
            plugins.insert(p.name)
            let labels = [("plugin", p.name)]
            for state in MetricsSnapshot.pluginStates {
                gauge("vigil_plugin_state", [("plugin", p.name), ("state", state)], Help.pluginState)
                    .set(Int64(state == p.state ? 1 : 0))
            }
            advance("vigil_plugin_restarts_total", labels, to: p.restarts, Help.restarts)
            advance("vigil_plugin_failures_total", labels, to: p.failures, Help.failures)
            advance("vigil_plugin_breaches_total", labels, to: p.breaches, Help.breaches)
            gauge("vigil_plugin_failure_rate", labels, Help.failureRate)
                .set(p.failureRate.isFinite ? p.failureRate : 0)
        }
        // A plugin no longer loaded has no state: its state series go to zero rather than linger as 1.
        for gone in lastPlugins.withLock({ last in defer { last = plugins }; return last.subtracting(plugins) }) {
            for state in MetricsSnapshot.pluginStates {
                gauge("vigil_plugin_state", [("plugin", gone), ("state", state)], Help.pluginState).set(Int64(0))
            }
        }
        var series = Set<[String]>()
        for o in snapshot.openIncidents {
            series.insert([o.severity, o.state])
            gauge("vigil_incidents_open", [("severity", o.severity), ("state", o.state)], Help.open)
                .set(Int64(clamping: o.count))
        }
        for gone in lastIncidentSeries.withLock({ last in defer { last = series }; return last.subtracting(series) }) {
            gauge("vigil_incidents_open", [("severity", gone[0]), ("state", gone[1])], Help.open)
                .set(Int64(0))
        }
        return registry.emitToBuffer()
    }

    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    private func counter(_ name: String, _ labels: [(String, String)], _ help: String) -> Counter {
        Self.counter(registry, name, labels, help)
    }

    private static func counter(_ registry: PrometheusCollectorRegistry, _ name: String, _ labels: [(String, String)],
                                _ help: String) -> Counter {
        registry.makeCounter(descriptor: named(name, help), labels: labels)
    }

    private func gauge(_ name: String, _ labels: [(String, String)], _ help: String) -> Gauge {
        registry.makeGauge(descriptor: Self.named(name, help), labels: labels)
    }

    /// A family's name and help text (the full name: no namespace or unit is appended).
    private static func named(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    private func advance(_ name: String, _ labels: [(String, String)], to total: UInt64, _ help: String) {
        let key = ([name] + labels.flatMap { [$0.0, $0.1] }).joined(separator: "\u{1F}")
        let delta = lastTotals.withLock { last -> UInt64 in
            let previous = last[key] ?? 0
            last[key] = total
            return total >= previous ? total - previous : total
        }
        let c = counter(name, labels, help)
        if delta > 0 { c.increment(by: Int64(clamping: delta)) }
    }

    private static func nonNegative(_ d: Duration) -> Duration { d < .zero ? .zero : d }
}

/// One help text per family (the registry insists every series of a family has the same).
enum Help {
    static let alertsReceived = "The total number of received alerts."
    static let alertsInvalid = "The total number of received alerts that were invalid."
    static let opened = "Incidents opened (detected or declared), by severity."
    static let escalations = "Escalations of incidents to the next level, by severity."
    static let slaBreaches = "Incidents whose response deadline passed unacknowledged, by severity."
    static let sent = "Notifications delivered, by channel."
    static let failed = "Notifications given up on after their retries, by channel."
    static let actions = "Containment actions that settled, by outcome."
    static let detect = "Time from an incident's detection (its condition first held) to its opening, by severity."
    static let contain = "Time from an incident's detection to its entering the contained state, by severity."
    static let falsePositives = "Incidents closed as false positives (not an incident), by severity."
    static let acknowledge = "Time from an incident's opening to its acknowledgement, by severity."
    static let resolve = "Time from an incident's opening to its resolution, by severity."
    static let depth = "Events waiting in an EventBus lane."
    static let capacity = "Events an EventBus lane can hold (shared ring plus producer rings in use)."
    static let published = "Events published to an EventBus lane."
    static let shed = "Telemetry events shed oldest-first under pressure."
    static let stalls = "Times a producer was refused or told to wait by an EventBus lane."
    static let pluginState = "1 for the plugin's current supervisor state, 0 for the others."
    static let restarts = "Plugin restarts by the supervisor."
    static let failures = "Plugin failures (crashes, timeouts, protocol violations, breaches)."
    static let breaches = "Plugin sandbox breaches (denied system calls, deaths by SIGSYS or limits)."
    static let failureRate = "Plugin failures per attempt over the supervisor's sliding window (0 to 1)."
    static let open = "Open incidents, by severity and state."
    static let agentSignals = "Signals forwarded by host agents, by outcome (applied, duplicate, refused)."
    static let agentForwardFailures = "Forwarding requests of this host agent that failed (the signals stay spooled)."
    static let agentSpoolDropped = "Signals this host agent did not spool because its spool was full."
    static let agentSpoolDepth = "Signals waiting in this host agent's spool."
}
