import Foundation
import Hummingbird
import VigilCore
import VigilMetrics

/// Is the daemon ready for traffic, and if not, why (`/-/ready`).
public struct Readiness: Sendable, Equatable {
    public var ready: Bool
    /// What is not ready yet (empty when ready).
    public var reasons: [String]
    public init(ready: Bool, reasons: [String] = []) {
        self.ready = ready
        self.reasons = reasons
    }
}

/// Everything the HTTP server needs from the rest of the daemon, as values and closures the
/// composition root (`VigilDaemon`) fills in. `VigilHTTP` never imports the daemon: a new
/// dependency is a new field here, and tests fill the fields with fakes.
public struct HTTPServices: Sendable {
    /// The clock alert leases and `updatedAt` are read from.
    public var clock: any VigilClock
    /// `versionInfo.version` of `/api/v2/status`.
    public var version: String
    /// When the daemon started (`uptime` of `/api/v2/status`).
    public var startedAt: Date
    /// Store open and daemon serving.
    public var readiness: @Sendable () async -> Readiness
    /// The configuration text in force (`config.original` of `/api/v2/status`).
    public var configurationText: @Sendable () async -> String
    /// Where posted alerts go; nil answers the alert routes with 503.
    public var alerts: (any AlertIntake)?
    /// How long an alert posted without `endsAt` stays firing (`http.resolve_timeout`).
    public var resolveTimeout: Duration = .seconds(300)
    /// Where alert intake is counted (`alertmanager_alerts_received_total`, `…_invalid_total`).
    public var metrics: VigilMetrics?
    /// Where `POST /api/v1/heartbeats/NAME` records beats; nil answers the heartbeat routes with 503.
    public var heartbeats: (any HeartbeatIntake)?
    /// Where `POST /api/v1/agents/signals` applies what host agents forward; nil answers it with 503.
    public var agents: (any AgentIntake)?
    /// How long a firing alert received by a webhook intake stays firing without being repeated
    /// (`http.webhook_lease`): webhook senders repeat only every repeat interval (4 h by default).
    public var webhookLease: Duration = .seconds(12 * 3600)

    public init(clock: any VigilClock, version: String, startedAt: Date = Date(),
                readiness: @escaping @Sendable () async -> Readiness = { Readiness(ready: true) },
                configurationText: @escaping @Sendable () async -> String = { "" },
                alerts: (any AlertIntake)? = nil) {
        self.clock = clock
        self.version = version
        self.startedAt = startedAt
        self.readiness = readiness
        self.configurationText = configurationText
        self.alerts = alerts
    }
}

/// A set of routes about one concept (`HealthController`, `AlertsController`, …), each in a
/// file of its own. Other parts of Vigil add theirs through ``HTTPServer/init(settings:services:controllers:middlewares:logger:)``.
public protocol HTTPController: Sendable {
    func addRoutes(to router: Router<VigilRequestContext>)
}

