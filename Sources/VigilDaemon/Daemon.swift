import VigilControl
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals
import VigilBus
import VigilConfig
import VigilCore
import VigilIncidents
import VigilMetrics
import VigilPluginHost
import VigilStore

/// How `vigild` was asked to run.
public struct DaemonOptions: Sendable {
    public var configPath: String
    /// Overrides the configuration's `state_dir`.
    public var stateDirectory: String?
    /// Extra plugin folders (`--plugin-dir`, repeatable).
    public var pluginDirectories: [String]
    /// Overrides `http.listen` (`--http-listen HOST:PORT`; port 0 binds a free one, written to
    /// `http.address` in the state folder).
    public var httpListen: String?

    public init(configPath: String, stateDirectory: String? = nil, pluginDirectories: [String] = [],
                httpListen: String? = nil) {
        self.configPath = configPath
        self.stateDirectory = stateDirectory
        self.pluginDirectories = pluginDirectories
        self.httpListen = httpListen
    }
}

/// Why the daemon could not start; `vigild` maps each to an exit code (sysexits.h).
public enum DaemonStartError: Error, CustomStringConvertible {
    case configuration(ConfigErrors)
    case stateDirectory(path: String, reason: String)
    case alreadyRunning(path: String)
    case database(path: String, reason: String)
    case controlSocket(String)
    case template(String)
    /// The HTTP server cannot be set up (an unreadable TLS certificate or key, a bad --http-listen).
    case http(String)
    /// Host-agent mode cannot start (an unreadable token file, a spool that cannot be made).
    case agent(String)

    public var description: String {
        switch self {
        case .configuration(let e): "the configuration is invalid:\n\(e)"
        case .stateDirectory(let p, let r): "cannot use state folder \(p): \(r)"
        case .alreadyRunning(let p): "another vigild holds \(p); stop it first or use another --state-dir"
        case .database(let p, let r): "cannot open database \(p): \(r)"
        case .controlSocket(let m): m
        case .template(let m): "a communication template is invalid: \(m)"
        case .http(let m): "the HTTP server cannot start: \(m)"
        case .agent(let m): "host-agent mode cannot start: \(m)"
        }
    }

    /// sysexits-style code: 78 config, 73 can't create, 75 temp failure, 74 I/O.
    public var exitCode: Int32 {
        switch self {
        case .configuration: 78
        case .stateDirectory: 73
        case .alreadyRunning: 75
        case .database: 74
        case .controlSocket: 71
        case .template: 78
        case .http: 78
        case .agent: 78
        }
    }
}

/// The composition root: loads configuration, opens the store, and runs every part of the
/// daemon as a service in one `ServiceGroup` until `SIGTERM`/`SIGINT`.
public final class Daemon: Sendable {
    public let options: DaemonOptions
    public let logger: Logger

    public init(options: DaemonOptions, logger: Logger) {
        self.options = options
        self.logger = logger
    }

    /// Loads the configuration, logging each error on its own line when it is refused.
    public static func loadConfiguration(_ path: String) throws(DaemonStartError) -> VigilConfiguration {
        do { return try ConfigLoader.load(path: path) } catch { throw .configuration(error) }
    }

    /// Runs until a graceful-shutdown signal; returns normally after a clean shutdown.
    public func run() async throws {
        let config = try Self.loadConfiguration(options.configPath)
        let stateDir = ConfigLoader.absolute(options.stateDirectory ?? config.stateDirectory)
        let lock = try StateDirectory.prepare(stateDir, allowedGroup: config.control.allowedGroup)
        defer { lock.release() }
        let dbPath = (stateDir as NSString).appendingPathComponent("vigil.db")
        // Before the first connection: SQLite takes its error log only then (StoreFailureLog).
        StoreFailureLog.install()
        let store: Store
        do { store = try Store(path: dbPath) } catch {
            throw DaemonStartError.database(path: dbPath, reason: "\(error)")
        }
        let clock = SystemClock()
        let commands = ControlCommands(config: config, store: store, clock: clock, stateDirectory: stateDir,
                                       logger: logger)
        let incidents = try await Self.incidentManager(config: config, store: store, clock: clock, stateDir: stateDir,
                                                       logger: logger)
        // Before any plugin starts, so a burst of breaches at start meets a warm path.
        await incidents.warmUp()
        await commands.setIncidentControl(IncidentControl(service: incidents, store: store, clock: clock))
        // A host agent (`agent:`) forwards every signal to the central daemons through a durable
        // spool instead of opening incidents here; a central daemon applies its agents' signals.
        let vigilMetrics = VigilMetrics()
        let forwarder: AgentForwarder?
        if let settings = config.agent {
            do {
                let f = try AgentForwarder(store: store, settings: settings, clock: clock, logger: logger, metrics: vigilMetrics)
                try await f.prepare()
                forwarder = f
            } catch {
                throw DaemonStartError.agent("\(error)")
            }
        } else {
            forwarder = nil
        }
        let deliverSignals: @Sendable ([RuleSignal]) async -> Void = { signals in
            if let forwarder { await forwarder.enqueue(signals) } else { await incidents.ingest(signals) }
        }
        if let forwarder { await commands.setAgentModeView { await forwarder.view() } }
        let access: AccessControl
        do { access = try AccessControl(store: store, clock: clock, stateDirectory: stateDir, incidents: incidents) } catch {
            throw DaemonStartError.stateDirectory(path: stateDir, reason: "\(error)")
        }
        await commands.setAccessControl(access)
        let socketPath = (stateDir as NSString).appendingPathComponent("control.sock")
        let server = ControlSocketServer(path: socketPath,
                                         policy: ControlAccessPolicy(allowedGroup: config.control.allowedGroup),
                                         logger: logger) { request, peer in
            await commands.handle(request, peer: peer)
        }
        let symbols = SymbolTable()
        let bus = EventBus(configuration: EventBusConfiguration(config.bus))
        logger.debug("eventbus ready", metadata: [
            "producer_barrier": "\(bus.usesAsymmetricBarriers ? "none (consumer uses membarrier)" : "fence")",
        ])
        let ingest = BusIngest(bus: bus, symbols: symbols)
        await commands.setEventSink { event, count throws(ControlFailure) in
            await ingest.publish(event, count: count, now: clock.now())
        }
        await commands.setLaneStatistics { bus.statistics().map(StatusView.LaneView.init) }
        let configFile = ConfigLoader.absolute(options.configPath)
        let ownPaths = { @Sendable (c: VigilConfiguration) in
            OwnFileChanges.ownPaths(configFile: configFile, ruleFiles: c.ruleFiles,
                                    containmentFile: c.containmentFile, templates: c.templatesDirectory,
                                    runbooks: c.runbooksDirectory)
        }
        let detection = Detection(rules: config.rules, symbols: symbols, clock: clock, logger: logger,
                                  ownFiles: OwnFileChanges(ownPaths: ownPaths(config), window: config.ownChangeApproval)) { signals in
            await deliverSignals(signals)
        }
        await commands.setRuleCount { await detection.ruleCount }
        // Recovery watches: the incident service starts and ends them, the rule engine runs them.
        await incidents.setRecoveryWatchRules(config.rules)
        await detection.setWatchSink { caught in
            var failed: [String] = []
            for c in caught {
                if await !incidents.recoveryWatchFired(incidentID: c.incidentID, signal: c.signal) {
                    failed.append(c.incidentID)
                }
            }
            return failed
        }
        await incidents.setRecoveryWatchListener { active, generation in
            await detection.setRecoveryWatches(active, generation: generation)
        }
        await incidents.publishRecoveryWatches()
        // Samples kept around rule incidents, for `vigil rules suggest` (RuleSampleRecording.swift).
        let sampleWriter = config.sampleRecording.enabled
            ? RuleSampleWriter(store: store, symbols: symbols, clock: clock, retention: config.sampleRecording.retention,
                               logger: logger) : nil
        if let sampleWriter {
            await detection.setRecording(RuleSampleRecording(rules: config.rules, symbols: symbols,
                                                             settings: config.sampleRecording, writer: sampleWriter))
        }
        let discovered = PluginCatalog.discover(in: config.plugins.directories + options.pluginDirectories.map(ConfigLoader.absolute),
                                                logger: logger)
        let launchGuard = PluginLaunchGuard(policy: config.plugins.policy, stateDirectory: stateDir,
                                            pluginDirectories: discovered.map(\.directory))
        let (manifests, refused) = PluginCatalog.admit(discovered, guard: launchGuard, logger: logger)
        var hostSettings = PluginHostSettings(config, stateDirectory: stateDir)
        hostSettings.launchGuard = launchGuard
        let pluginHost = PluginHost(
            settings: hostSettings, bus: bus, symbols: symbols, clock: clock,
            registry: StorePluginRegistry(store: store, range: config.plugins.idRange, clock: clock),
            logger: logger)
        try Self.prepareSpecDirectory(stateDir)
        await pluginHost.load(manifests, enabled: config.plugins.enabled.isEmpty ? nil : Set(config.plugins.enabled))
        let changeRecorder = ChangeRecorder(store: store, clock: clock, logger: logger)
        await changeRecorder.pluginsStarted(manifests)
        await commands.setPluginControl(PluginControl(host: pluginHost, refused: refused, changes: changeRecorder))
        await commands.setRuleSources { rules in
            var plugins: [RuleSources.Plugin] = []
            for status in await pluginHost.statuses() {
                guard let manifest = await pluginHost.manifest(status.name), manifest.kind == .detector else { continue }
                plugins.append(RuleSources.Plugin(name: status.name, state: status.state.name, emits: manifest.emits.map(\.name)))
            }
            let listed = rules.rules.map {
                RuleSources.Rule(id: $0.id, kind: $0.expression.kind.rawValue, text: $0.expression.description,
                                 event: $0.expression.selector.name)
            }
            return RuleSources.views(rules: listed, plugins: plugins, samples: await detection.lastSamples(listed.map(\.event)))
        }
        await commands.setPluginStates {
            Dictionary(await pluginHost.statuses().map { ($0.name, $0.state.name) }, uniquingKeysWith: { a, _ in a })
        }
        let daemonMetrics = DaemonMetrics(store: store, lanes: { bus.statistics().map(StatusView.LaneView.init) },
                                          plugins: { await pluginHost.statuses() }, metrics: vigilMetrics)
        let breakers = CircuitBreakers()
        let response = ResponseEngine(store: store, incidents: incidents, host: pluginHost, bus: bus, breakers: breakers,
                                      settings: config.containment, rules: config.policy.containment,
                                      stateDirectory: stateDir, clock: clock, logger: logger)
        await response.setNftablesGrants(Set(manifests.map(\.name).filter { config.plugins.policy.ceiling(for: $0).nftables }))
        // One ordered stream from the incident service to the response engine: an incident's
        // changes reach containment in the order they were stored (a task per change would not).
        let (changes, changeFeed) = AsyncStream.makeStream(of: [Incident].self)
        await incidents.setResponder { changed in changeFeed.yield(changed) }
        await commands.setActionControl(ActionControl(engine: response, store: store))
        await commands.setContainmentStatus { await response.status() }
        let outbox = NotificationOutbox(store: store, clock: clock, logger: logger,
                                        policy: DeliveryPolicy(config.notifications), breakers: breakers)
        await outbox.reportFailures(to: incidents)
        let silences = try await SilenceService(store: store, clock: clock, logger: logger,
                                                windows: config.maintenanceWindows)
        await outbox.setMuter { silences.muting($0) }
        await response.setMuter { silences.muting($0) }
        await silences.setOnUnmuted { changeFeed.yield($0) }
        store.onNotificationsQueued { queued in Task { await outbox.kick(queued) } }
        // Pages carry signed acknowledgement links when the HTTP server that redeems them runs.
        let linkBase = LinkBase(config.http, hostName: Self.hostName())
        var ackLinks: (@Sendable (Incident, [String]) -> [PageAckLink])?
        if config.http.enabled {
            ackLinks = { @Sendable incident, people in access.pageLinks(for: incident, people: people, base: linkBase.current) }
        }
        var chatClaimed = false
        for manifest in manifests where manifest.kind == .notifier {
            let channels = Set(manifest.config["channels"]?.arrayValue?.compactMap(\.stringValue) ?? [manifest.name])
            if channels.contains("chat") || channels.contains("*") { chatClaimed = true }
            await outbox.register(NotifierPluginDelivery(plugin: manifest.name, channels: channels, host: pluginHost,
                                                         ladder: { await commands.configuration.policy.ladder }, clock: clock,
                                                         ackLinks: ackLinks))
        }
        await incidents.setChatChannel(claimed: chatClaimed)
        if !chatClaimed {
            logger.info("no notifier delivers the chat channel: incidents do not request one (configure Plugins/slack)")
        }
        let open = try await store.openIncidents()
        logger.notice("vigild starting", metadata: [
            "version": "\(VigilVersion.current)", "config": "\(config.sourceFile)", "state_dir": "\(stateDir)",
            "database": "\(dbPath)", "open_incidents": "\(open.count)", "ladder": "\(config.policy.ladder.name)",
        ])
        let serving = ServingFlag()
        let alerts = AlertService(store: store, routing: config.alerting, ladder: config.policy.ladder, clock: clock,
                                  logger: logger, muting: silences) { signals in await deliverSignals(signals) }
        do { try await alerts.restore() } catch { throw DaemonStartError.database(path: dbPath, reason: "\(error)") }
        await commands.setSilences(silences, activeAlerts: { await alerts.activeAlerts() })
        let shownConfiguration = ShownConfiguration(config)
        let heartbeats = HeartbeatService(store: store, heartbeats: config.heartbeats, ladder: config.policy.ladder,
                                          clock: clock, logger: logger) { signals in await deliverSignals(signals) }
        // The host agents that call in (a host agent does not take other agents' signals).
        let agents: AgentService? = forwarder == nil
            ? AgentService(store: store, incidents: incidents, settings: config.agents, ladder: config.policy.ladder,
                           clock: clock, logger: logger, metrics: vigilMetrics)
            : nil
        if let agents {
            do { try await agents.restore() } catch { throw DaemonStartError.database(path: dbPath, reason: "\(error)") }
            await commands.setAgentViews { await agents.views() }
            // An agent's incident's containment runs on its host, sent over the agent's long poll.
            await response.setRemote { agent, command, limit in await agents.dispatch(agent: agent, command: command, limit: limit) }
        }
        if let forwarder { await forwarder.setExecutor { command in await response.runForCentral(command) } }
        do { try await heartbeats.restore() } catch { throw DaemonStartError.database(path: dbPath, reason: "\(error)") }
        var services: [any Service] = [
            ControlSocketService(server: server, logger: logger, serving: serving),
            ConfigReloadService(path: options.configPath, commands: commands, incidents: incidents, logger: logger,
                                changes: changeRecorder,
                                onReload: { new in
                                    await detection.replace(new.rules)
                                    await incidents.setRecoveryWatchRules(new.rules)
                                    await detection.setOwnPaths(ownPaths(new))
                                    // What the reload read approves the held changes it matches.
                                    let current = await OwnFileChanges.look(at: await detection.heldOwnFileChanges)
                                    await detection.approveOwnFileChanges(current: current)
                                    await pluginHost.applyRuleNames(new.plugins.policy.ruleNames)
                                    await response.replace(settings: new.containment, rules: new.policy.containment)
                                    silences.replace(windows: new.maintenanceWindows)
                                    await alerts.replace(routing: new.alerting, ladder: new.policy.ladder)
                                    await heartbeats.replace(new.heartbeats, ladder: new.policy.ladder)
                                    await agents?.replace(new.agents, ladder: new.policy.ladder)
                                    await outbox.replace(policy: DeliveryPolicy(new.notifications))
                                    shownConfiguration.replace(new)
                                }),
            IncidentClockService(incidents: incidents),
            SilenceClockService(silences: silences, interval: .seconds(1)),
            BusConsumerService(bus: bus, logger: logger) { batch in await detection.ingest(batch) },
            DetectionTimerService(detection: detection, clock: clock, interval: .milliseconds(250)),
            BusSelfMonitorService(bus: bus, symbols: symbols, clock: clock),
            PluginHostService(host: pluginHost),
            NotificationOutboxService(outbox: outbox, interval: .milliseconds(250), logger: logger),
            StoreCheckpointService(store: store, logger: logger),
            StoreFailureService(reports: StoreFailureReports(), publish: { event in
                _ = await ingest.publish(event, count: 1, now: clock.now())
            }, clock: clock, logger: logger),
            ResponseService(engine: response, changes: changes),
        ]
        if let sampleWriter { services.append(RuleSampleWriterService(writer: sampleWriter)) }
        if let forwarder { services.append(AgentForwarderService(forwarder: forwarder)) }
        if config.http.enabled {
            services.append(try HTTPComposition.server(settings: config.http, listenOverride: options.httpListen,
                                                       configPath: options.configPath, store: store, serving: serving,
                                                       clock: clock, stateDir: stateDir, alerts: alerts,
                                                       access: access, metrics: daemonMetrics, silences: silences,
                                                       commands: commands, logger: logger, heartbeats: heartbeats, agents: agents,
                                                       shownConfiguration: shownConfiguration, linkBase: linkBase))
            services.append(AlertClockService(alerts: alerts))
            services.append(HeartbeatClockService(heartbeats: heartbeats))
            if let agents { services.append(AgentClockService(agents: agents)) }
        }
        var groupConfig = ServiceGroupConfiguration(services: services, logger: logger)
        groupConfig.gracefulShutdownSignals = [.sigterm, .sigint]
        let group = ServiceGroup(configuration: groupConfig)
        try await group.run()
        logger.notice("vigild stopped cleanly")
    }
}

extension Daemon {
    /// The launcher's spec files live in a root-only folder of the state folder.
    /// This host's name from the kernel (`gethostname`, no NSS look-up), for links when the
    /// server listens on a wildcard address and `http.external_url` is not set.
    static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? "localhost" : name
    }

    static func prepareSpecDirectory(_ stateDir: String) throws(DaemonStartError) {
        let path = (stateDir as NSString).appendingPathComponent("sandbox")
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw .stateDirectory(path: path, reason: "\(error.localizedDescription)")
        }
        chmod(path, 0o700)
    }

    /// The incident manager: templates from the configured folder, the status page in the state
    /// folder (regenerated from the database at start), and the service over the store.
    static func incidentManager(config: VigilConfiguration, store: Store, clock: any VigilClock, stateDir: String,
                                logger: Logger) async throws -> IncidentService {
        let templates: CommunicationTemplates
        do {
            let (loaded, missing) = try CommunicationTemplateFiles.load(directory: config.templatesDirectory)
            templates = loaded
            for name in missing {
                logger.warning("communication template not found; using the built-in copy",
                               metadata: ["template": "\(name).mustache", "directory": "\(config.templatesDirectory ?? "-")"])
            }
        } catch {
            throw DaemonStartError.template("\(error)")
        }
        let statusPage = StatusPagePublisher(path: (stateDir as NSString).appendingPathComponent("status-page.json"),
                                             store: store, clock: clock, logger: logger)
        await statusPage.publish()
        let service = IncidentService(store: store, policy: config.policy, templates: templates, clock: clock,
                                      logger: logger, statusPage: statusPage)
        // Overrides made at run time page from the first signal on, as those in the configuration do.
        do { try await service.restoreOnCallOverrides() } catch {
            throw DaemonStartError.database(path: store.path, reason: "cannot read the on-call overrides: \(error)")
        }
        return service
    }
}

/// Resumes responses under way at start, then ticks the response engine every second (enhanced
/// logging reverts, breaker trials, verification retries).
struct ResponseService: Service {
    let engine: ResponseEngine
    let changes: AsyncStream<[Incident]>

    func run() async throws {
        await engine.resume()
        try await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask {
                    for await changed in changes { await engine.accept(changed) }
                }
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: .seconds(1))
                        await engine.tick()
                    }
                }
            }
        }
    }
}

/// Serves the control socket for the life of the daemon.
struct ControlSocketService: Service {
    let server: ControlSocketServer
    let logger: Logger
    var serving: ServingFlag?

    func run() async throws {
        do { try server.start() } catch { throw DaemonStartError.controlSocket("\(error)") }
        serving?.set(true)
        try? await gracefulShutdown()
        serving?.set(false)
        server.stop()
    }
}

/// Reloads the configuration on `SIGHUP`; a configuration with errors is refused and logged,
/// and the one already running stays in force.
struct ConfigReloadService: Service {
    let path: String
    let commands: ControlCommands
    let incidents: IncidentService
    let logger: Logger
    /// Where an accepted reload is recorded as a change (root-cause help).
    var changes: ChangeRecorder?
    /// Told about every configuration that was accepted (the rule engine swaps its rules).
    var onReload: @Sendable (VigilConfiguration) async -> Void = { _ in }

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        try await cancelWhenGracefulShutdown {
            for await _ in signals {
                do {
                    let new = try ConfigLoader.load(path: path)
                    let (templates, _) = try CommunicationTemplateFiles.load(directory: new.templatesDirectory)
                    let old = await commands.configuration
                    await commands.replaceConfiguration(new)
                    await incidents.replace(policy: new.policy, templates: templates)
                    await onReload(new)
                    await changes?.configurationReloaded(from: old, to: new, actor: "SIGHUP")
                    logger.notice("configuration reloaded", metadata: ["config": "\(path)"])
                } catch let error as ConfigErrors {
                    for e in error.errors {
                        logger.error("configuration reload refused; keeping the running configuration",
                                     metadata: ["error": "\(e)"])
                    }
                } catch let error as TemplateError {
                    logger.error("configuration reload refused; keeping the running configuration",
                                 metadata: ["error": "\(error)"])
                } catch {
                    logger.error("configuration reload failed", metadata: ["error": "\(error)"])
                }
            }
        }
    }
}
