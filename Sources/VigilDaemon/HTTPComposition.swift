import VigilControl
import Foundation
import Logging
import Synchronization
import VigilConfig
import VigilCore
import VigilAccess
import VigilHTTP
import VigilStore
import VigilIncidents

/// Whether the daemon has started serving (its control socket listens); `/-/ready` reads it.
final class ServingFlag: Sendable {
    private let value = Atomic<Bool>(false)
    func set(_ serving: Bool) { value.store(serving, ordering: .releasing) }
    var isServing: Bool { value.load(ordering: .acquiring) }
}

/// The configuration `/api/v2/status` shows (`config.original`): redacted when it is loaded or
/// reloaded, so a request neither reads the file nor sees a secret.
final class ShownConfiguration: Sendable {
    private let text: Mutex<String>
    init(_ config: VigilConfiguration) { text = Mutex(ConfigRedaction.redacted(config.sourceText)) }
    func replace(_ config: VigilConfiguration) {
        let redacted = ConfigRedaction.redacted(config.sourceText)
        text.withLock { $0 = redacted }
    }
    var current: String { text.withLock { $0 } }
}

/// The base of the acknowledgement links pages carry: `http.external_url` when set, otherwise
/// the address the server really bound (port 0 and wildcard addresses resolved once it listens).
final class LinkBase: Sendable {
    private let value: Mutex<String>
    private let settings: HTTPSettings
    private let hostName: String

    init(_ settings: HTTPSettings, hostName: String) {
        self.settings = settings
        self.hostName = hostName
        value = Mutex(settings.linkBase(hostName: hostName))
    }

    /// The server listens at `address` (`HOST:PORT`).
    func bound(_ address: String) {
        guard settings.externalURL == nil, let listen = HTTPListenAddress.parse(address) else { return }
        var s = settings
        s.listen = listen
        let base = s.linkBase(hostName: hostName)
        value.withLock { $0 = base }
    }

    var current: String { value.withLock { $0 } }
}

/// Builds the HTTP server from the configuration and the daemon's parts: the one place that
/// knows both `VigilHTTP`'s seams and the daemon's services.
enum HTTPComposition {
    /// The file the bound address is written to (`HOST:PORT`), so a client of a daemon started on
    /// port 0 (tests) or behind a changed configuration finds it.
    static func addressFile(_ stateDir: String) -> String {
        (stateDir as NSString).appendingPathComponent("http.address")
    }

    static func server(settings: HTTPSettings, listenOverride: String?, configPath: String, store: Store,
                       serving: ServingFlag, clock: any VigilClock, stateDir: String, alerts: AlertService,
                       access: AccessControl, metrics: DaemonMetrics, silences: SilenceService,
                       commands: ControlCommands, logger: Logger, heartbeats: HeartbeatService? = nil, agents: AgentService? = nil,
                       shownConfiguration: ShownConfiguration, linkBase: LinkBase? = nil) throws(DaemonStartError) -> HTTPServer {
        var listen = settings.listen
        if let text = listenOverride {
            guard let parsed = HTTPListenAddress.parse(text) else {
                throw .http("--http-listen must be HOST:PORT like 127.0.0.1:9093, found \"\(text)\"")
            }
            listen = parsed
        }
        var services = HTTPServices(
            clock: clock, version: VigilVersion.current, startedAt: Date(),
            readiness: {
                var reasons: [String] = []
                if !serving.isServing { reasons.append("the daemon is still starting") }
                if await !store.answersReads() { reasons.append("the database does not answer") }
                return Readiness(ready: reasons.isEmpty, reasons: reasons)
            },
            configurationText: { shownConfiguration.current },
            alerts: alerts)
        services.resolveTimeout = settings.resolveTimeout
        services.metrics = metrics.metrics
        services.heartbeats = heartbeats
        services.agents = agents
        services.webhookLease = settings.webhookLease
        // Tokens are checked before any route; the ack-link pages and /metrics are routes of their own.
        let anonymous = AnonymousAccess(rawValue: settings.loopbackAnonymous) ?? .none
        let tokens = AccessMiddleware<VigilRequestContext>(authenticator: access.authenticator, anonymous: anonymous,
                                                           listenIsLoopback: listen.isLoopback)
        let controllers = HTTPServer.daemonControllers(
            redemption: access.redemption, scrape: { await metrics.scrape() },
            // Alertmanager API v2's silence routes, changed under the token's person.
            silences: SilencesAPI(service: silences, clock: clock),
            // The incident API: the control socket's commands, run by the same executor under the token's person.
            execute: { request, principal in await commands.handle(request, person: principal.person, role: principal.role) },
            callbacks: callbacks(settings.callbacks, clock: clock, actions: CallbackActions(commands: commands, store: store),
                                 logger: logger))
        // Unreadable TLS files stop the daemon at start, naming them, not later inside the group.
        if let tls = settings.tls {
            do { try HTTPServer.checkTLS(certificate: tls.certificate, key: tls.key) } catch { throw .http("\(error)") }
        }
        let console = consoleController(store: store, clock: clock, access: access, commands: commands,
                                        settings: settings.console,
                                        secure: settings.tls != nil || settings.externalURL?.hasPrefix("https:") == true,
                                        logger: logger)
        let addressFile = addressFile(stateDir)
        unlink(addressFile)
        return HTTPServer(settings: HTTPServerSettings(host: listen.host, port: listen.port,
                                                       maxBodyBytes: settings.maxBodyBytes,
                                                       tlsCertificate: settings.tls?.certificate, tlsKey: settings.tls?.key),
                          services: services, controllers: controllers + [console], middlewares: [tokens], logger: logger,
                          onListening: { bound in
                              linkBase?.bound(bound)
                              try? (bound + "\n").write(toFile: addressFile, atomically: true, encoding: .utf8)
                          })
    }

    /// The web console and the public status page, on the same executor as the API, told of
    /// every committed incident change (its open pages update live).
    static func consoleController(store: Store, clock: any VigilClock, access: AccessControl, commands: ControlCommands,
                                  settings: HTTPConsoleSettings, secure: Bool, logger: Logger) -> ConsoleController {
        let hub = ConsoleEventHub()
        store.onIncidentChangesCommitted { changes in
            var seen = Set<String>()
            for change in changes where seen.insert(change.incident.id).inserted { hub.publish(.incident(id: change.incident.id)) }
        }
        let authenticator = access.authenticator
        let services = ConsoleServices(
            execute: { request, person, role in await commands.handleConsole(request, person: person, role: role.rawValue) },
            authenticate: { await authenticator.authenticate(authorization: $0) },
            publicIncidents: { since in
                // The newest 500 incidents bound the page's work whatever the database holds.
                let recent = try await store.incidents(limit: 500).filter { incident in
                    incident.classification?.userImpacting == true
                        && (incident.state.isOpen || (incident.resolvedAt ?? incident.closedAt).map { $0 >= since } == true)
                }
                let updates = try await store.timelines(incidentIDs: recent.map(\.id), kind: .statusPage)
                // Security incidents and the daemon's own (about a plugin) are not announced by
                // themselves: they appear once a person has posted a public update.
                return recent.compactMap { incident in
                    let own = updates[incident.id] ?? []
                    let needsAPerson = incident.classification?.security == true || incident.labels["plugin"] != nil
                    guard !needsAPerson || own.contains(where: { $0.actor != IncidentWorkflow.systemActor }) else { return nil }
                    return (incident, own)
                }
            },
            components: {
                // Only names from the configuration: an alert's labels never add a public component.
                let configured = await commands.configuration.http.console.components
                if !configured.isEmpty { return configured }
                let policy = await commands.configuration.policy
                var seen = Set<String>()
                var out: [String] = []
                for c in policy.roster.rotations.flatMap(\.components) + policy.incidentTypes.flatMap(\.components)
                where seen.insert(c).inserted { out.append(c) }
                return out
            },
            directory: {
                let policy = await commands.configuration.policy
                return ConsoleDirectory(
                    severities: policy.ladder.levels.map { .init(id: $0.code, name: $0.name) },
                    roles: policy.roles.map { .init(id: $0.id, name: $0.name) },
                    people: policy.roster.people.map { .init(id: $0.id, name: $0.name) },
                    rotations: policy.roster.rotations.map(\.id))
            },
            clock: clock, title: settings.title, secureCookies: secure)
        return ConsoleController(services: services, hub: hub, logger: logger, console: settings.enabled,
                                 statusPage: settings.statusPage)
    }

    /// The signed callbacks: a service whose secret `http.callbacks` does not hold answers 404.
    static func callbacks(_ settings: HTTPCallbackSettings, clock: any VigilClock, actions: CallbackActions,
                          logger: Logger) -> CallbacksController {
        let enabled = [settings.slack.map { _ in "slack" }, settings.pagerDuty.map { _ in "pagerduty" }].compactMap { $0 }
        if !enabled.isEmpty {
            logger.notice("http callbacks enabled", metadata: ["services": "\(enabled.joined(separator: ", "))"])
        }
        return CallbacksController(
            slack: settings.slack.map {
                CallbacksController.Slack(verifier: SlackRequestVerifier(signingSecret: $0.signingSecret.bytes, clock: clock),
                                          teamID: $0.teamID)
            },
            pagerDuty: settings.pagerDuty.map { PagerDutySignatureVerifier(webhookSecret: $0.webhookSecret.bytes) },
            clock: clock, handle: { await actions.handle($0) })
    }
}
