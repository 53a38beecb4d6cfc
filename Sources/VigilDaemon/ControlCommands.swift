import VigilControl
import Foundation
import VigilAccess
import VigilHTTP
import Logging
import VigilConfig
import VigilCore
import VigilRules
import VigilStore

/// Who sent a control request: a local account on the control socket, an API token's person
/// over HTTP, or a signed callback from Slack or PagerDuty. Every change is recorded in the
/// timeline under ``actor``.
public enum ControlCaller: Sendable, Equatable {
    /// The socket peer's account name.
    case local(String)
    /// The person of the API token, and its role.
    case http(person: String, role: String)
    /// A signed callback (``CallbackActions``): the roster person with the service they acted in
    /// (`alice (via Slack)`), or the service alone when it names no person (`pagerduty`).
    case callback(actor: String)

    public var actor: String {
        switch self {
        case .local(let name): name
        case .http(let person, _): person
        case .callback(let actor): actor
        }
    }
}

/// Answers control requests (control socket and HTTP API) against the store and the live configuration.
///
/// Commands that change incidents persist their change (incident + timeline, one transaction)
/// before answering, so anything the CLI was told succeeded survives a `SIGKILL`.
public actor ControlCommands {
    private var config: VigilConfiguration
    private var configLoadedAt: Timestamp
    private let store: Store
    private let clock: any VigilClock
    private let startedAt: Timestamp
    private let stateDirectory: String
    private let logger: Logger
    /// Bus lane statistics, provided by the composition root once the bus exists.
    private var laneStats: @Sendable () -> [StatusView.LaneView] = { [] }
    /// Where `emit` puts events: publishes `count` copies and returns the outcome to report.
    public typealias EventSink = @Sendable (IngestEvent, Int) async throws(ControlFailure) -> String
    private var eventSink: EventSink = { _, _ throws(ControlFailure) in
        throw ControlFailure("the EventBus is not running")
    }
    /// The incident manager's commands (`incidents.*`, `oncall`), set by the composition root.
    private var incidents: IncidentControl?

    public init(config: VigilConfiguration, store: Store, clock: any VigilClock, stateDirectory: String,
                logger: Logger) {
        self.config = config
        self.store = store
        self.clock = clock
        self.startedAt = clock.now()
        self.configLoadedAt = clock.now()
        self.stateDirectory = stateDirectory
        self.logger = logger
    }

    /// Swaps in a configuration that already validated.
    public func replaceConfiguration(_ new: VigilConfiguration) {
        config = new
        configLoadedAt = clock.now()
    }

    public func setLaneStatistics(_ provider: @escaping @Sendable () -> [StatusView.LaneView]) {
        laneStats = provider
    }

    public func setEventSink(_ sink: @escaping EventSink) { eventSink = sink }

    public func setIncidentControl(_ control: IncidentControl) { incidents = control }

    /// The response engine's commands (`actions.*`), set by the composition root.
    private var actionControl: ActionControl?
    func setActionControl(_ control: ActionControl) { actionControl = control }
    /// What containment has changed daemon-wide, for `status`.
    private var containmentStatus: @Sendable () async -> ContainmentStatus? = { nil }
    func setContainmentStatus(_ provider: @escaping @Sendable () async -> ContainmentStatus?) { containmentStatus = provider }
    /// The host agents that call in (a central daemon) and this daemon's own forwarding (a host agent).
    private var agentViews: @Sendable () async -> [AgentView]? = { nil }
    private var agentModeView: @Sendable () async -> AgentModeView? = { nil }
    func setAgentViews(_ provider: @escaping @Sendable () async -> [AgentView]?) { agentViews = provider }
    func setAgentModeView(_ provider: @escaping @Sendable () async -> AgentModeView?) { agentModeView = provider }
    /// Tokens and acknowledgement links (`tokens.*`, `incidents.ack_link`), set by the composition root.
    private var accessControl: AccessControl?
    public func setAccessControl(_ control: AccessControl) { accessControl = control }
    /// The plugin host's commands, set by the composition root once the host exists.
    private var pluginControl: PluginControl?
    func setPluginControl(_ control: PluginControl) { pluginControl = control }
    /// Plugin name → state, for `status`.
    private var pluginStates: @Sendable () async -> [String: String] = { [:] }
    func setPluginStates(_ provider: @escaping @Sendable () async -> [String: String]) { pluginStates = provider }
    /// The silences' commands (`silences.*`), set by the composition root.
    private var silenceControl: SilenceControl?
    func setSilences(_ service: SilenceService, activeAlerts: @escaping @Sendable () async -> [Alert] = { [] }) {
        silenceControl = SilenceControl(service: service, clock: clock, activeAlerts: activeAlerts)
    }
    /// How many detection rules are loaded, for `status`.
    private var ruleCount: @Sendable () async -> Int = { 0 }
    func setRuleCount(_ provider: @escaping @Sendable () async -> Int) { ruleCount = provider }
    private var ruleSources: @Sendable (RuleSet) async -> [RuleSourceView] = { _ in [] }
    func setRuleSources(_ provider: @escaping @Sendable (RuleSet) async -> [RuleSourceView]) { ruleSources = provider }

    public var configuration: VigilConfiguration { config }

    /// Handles one request from an authenticated control-socket peer.
    public func handle(_ request: ControlRequest, peer: PeerCredentials) async -> ControlResponse {
        // An NSS look-up may block (LDAP, sssd): it runs on a thread, not on the cooperative pool.
        let uid = peer.uid
        let name = await Self.offPool { Self.userName(uid: uid) }
        return await execute(request, caller: .local(name), mayManageTokens: peer.uid == 0 || peer.uid == getuid())
    }

    /// Handles one request of the HTTP API for the token's `person`; the access middleware has
    /// already checked the token's role against the route (tokens need `admin`).
    public func handle(_ request: ControlRequest, person: String, role: String) async -> ControlResponse {
        guard ControlCatalogue.routes.contains(where: { $0.command == request.command }) else {
            return .failure(ControlFailure("\(request.command) is not available over HTTP"))
        }
        return await execute(request, caller: .http(person: person, role: role), mayManageTokens: role == "admin")
    }

    /// Handles one command of the web console for its signed-in `person`; the console has
    /// already checked the role against the command (``ConsoleAccess``).
    public func handleConsole(_ request: ControlRequest, person: String, role: String) async -> ControlResponse {
        guard ConsoleAccess.reads.contains(request.command) || ConsoleAccess.operation(request.command) != .administer
                || ConsoleAccess.adminChanges.contains(request.command) else {
            return .failure(ControlFailure("\(request.command) is not available in the console", kind: .forbidden))
        }
        // The console checks the role before it calls; checked here again so no caller can skip it.
        guard let accessRole = AccessRole(rawValue: role), ConsoleAccess.allows(accessRole, request.command) else {
            return .failure(ControlFailure("the \(role) role may not run \(request.command)", kind: .forbidden))
        }
        // Acknowledgement links are an admin's to make, as over the API.
        return await execute(request, caller: .http(person: person, role: role),
                             mayManageTokens: role == "admin" && request.command == "incidents.ack_link")
    }

    /// The one executor of every command, whichever door it came through: changes are recorded
    /// under `caller`'s name.
    func execute(_ request: ControlRequest, caller: ControlCaller, mayManageTokens: Bool) async -> ControlResponse {
        do {
            let actor = caller.actor
            switch request.command {
            case "status": return .success(try JSONValue.encoding(try await status()))
            case "emit": return .success(try await emit(request, actor: actor))
            case "rules.sources": return .success(try JSONValue.encoding(await ruleSources(config.rules)))
            case "agents.list": return .success(try JSONValue.encoding(await agentViews() ?? []))
            case "rules.samples": return .success(try await RuleSampleQuery.handle(request, store: store, clock: clock))
            case "events.send": return .success(try await sendEvents(request, caller: caller))
            case let c where AccessControl.handles(c):
                guard let accessControl else { throw ControlFailure("access control is not running", kind: .unavailable) }
                return .success(try await accessControl.handle(request, actor: actor, mayManageTokens: mayManageTokens))
            case "dr.run-step":
                // A recovery step's action goes through the response engine like any other request.
                guard let incidents else { throw ControlFailure("the incident manager is not running", kind: .unavailable) }
                guard let engine = actionControl?.engine else { throw ControlFailure("the response engine is not running", kind: .unavailable) }
                return .success(try await incidents.runRecoveryStep(request, user: caller) { action, incident, actor in
                    let record = try await engine.run(action, incidentID: incident, dryRun: nil, params: [:], actor: actor)
                    return (record.id ?? 0, record.state)
                })
            case let c where IncidentControl.handles(c):
                guard let incidents else { throw ControlFailure("the incident manager is not running", kind: .unavailable) }
                return .success(try await incidents.handle(request, user: caller))
            case let c where ActionControl.handles(c):
                guard let actionControl else { throw ControlFailure("the response engine is not running", kind: .unavailable) }
                return .success(try await actionControl.handle(request, actor: actor))
            case let c where SilenceControl.handles(c):
                guard let silenceControl else { throw ControlFailure("the silences are not loaded", kind: .unavailable) }
                return .success(try await silenceControl.handle(request, actor: actor))
            case let command where command.hasPrefix("plugins."):
                guard let pluginControl else { throw ControlFailure("the plugin host is not running", kind: .unavailable) }
                return .success(try await pluginControl.handle(request, actor: actor))
            default:
                return .failure(ControlFailure("unknown command \"\(request.command)\"; known: status, emit, events.send, rules.sources, rules.samples, agents.list, "
                    + (IncidentControl.commands + ActionControl.commands + SilenceControl.commands + AccessControl.commands + ["plugins.list", "plugins.show", "plugins.enable", "plugins.disable",
                                                    "plugins.restart"]).joined(separator: ", "), kind: .notFound))
            }
        } catch let failure as ControlFailure {
            return .failure(failure)
        } catch {
            logger.error("control command failed", metadata: ["command": "\(request.command)", "error": "\(error)"])
            return .failure(ControlFailure("internal error while running \(request.command): \(error)", kind: .unavailable))
        }
    }

    func status() async throws -> StatusView {
        let now = clock.now()
        // Counted by the database: decoding every incident ever stored took 0.4 s at 10,000 (debug build).
        let byState = try await store.incidentCountsByState()
        let open = Set(IncidentState.allCases.filter(\.isOpen).map(\.rawValue))
        return StatusView(version: VigilVersion.current, pid: getpid(), startedAt: startedAt.rfc3339,
                          uptimeSeconds: Int((now - startedAt).inSeconds), configFile: config.sourceFile,
                          configLoadedAt: configLoadedAt.rfc3339, stateDirectory: stateDirectory,
                          database: store.path, severityLadder: config.policy.ladder.name,
                          openIncidents: byState.filter { open.contains($0.key) }.values.reduce(0, +),
                          incidentsByState: byState,
                          lanes: laneStats(), plugins: await pluginStates(), rules: await ruleCount(),
                          containment: await containmentStatus(), agents: await agentViews().flatMap { $0.isEmpty ? nil : $0 },
                          agentMode: await agentModeView())
    }

    func emit(_ request: ControlRequest, actor: String) async throws -> JSONValue {
        guard let raw = request.args["event"] else { throw ControlFailure("missing argument \"event\"") }
        var event: IngestEvent
        do { event = try raw.decode(IngestEvent.self) } catch {
            throw ControlFailure("malformed event: expected kind, name, value, unit, labels, source")
        }
        if let problem = event.validationError() { throw ControlFailure(problem) }
        let requested = request.args["count"]?.doubleValue ?? 1
        guard let count = Int(exactly: requested), (1...1_000_000).contains(count) else {
            throw ControlFailure("count must be a whole number between 1 and 1000000")
        }
        event.source = "cli:\(actor)"
        if event.time == nil { event.time = clock.now() }
        let lane = event.lane ?? event.defaultLane
        event.lane = lane
        let outcome = try await eventSink(event, count)
        return .object(["lane": .string(lane.description), "outcome": .string(outcome), "count": .number(Double(count))])
    }

    /// `POST /api/v1/events`: metric samples and signals from an application or a monitor (the
    /// HTTP twin of `vigil emit`), for the rules like any plugin's. The whole batch is checked
    /// before any of it is published: one bad event refuses the request, naming it.
    func sendEvents(_ request: ControlRequest, caller: ControlCaller) async throws -> JSONValue {
        guard case .array(let items)? = request.args["events"] else {
            throw ControlFailure("missing argument \"events\": an array of {kind, name, value, unit, labels, time}")
        }
        guard (1...EventBatchText.maximumEvents).contains(items.count) else {
            throw ControlFailure("events: send between 1 and \(EventBatchText.maximumEvents) events per request, found \(items.count)")
        }
        let source = "http:\(caller.actor)"
        var events: [IngestEvent] = []
        for (i, item) in items.enumerated() {
            do { events.append(try EventBatchText.event(item, source: source, now: clock.now())) } catch {
                throw ControlFailure("events[\(i)]: \(error.description)")
            }
        }
        var lanes: [String: Int] = [:]
        for event in events {
            _ = try await eventSink(event, 1)
            lanes[(event.lane ?? event.defaultLane).description, default: 0] += 1
        }
        return .object(["accepted": .number(Double(events.count)),
                        "lanes": .object(lanes.mapValues { .number(Double($0)) })])
    }

    /// The account name of `uid` (getpwuid_r: reentrant, as threads may look up at once).
    static func userName(uid: UInt32) -> String {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        let rc = getpwuid_r(uid, &entry, &buffer, buffer.count, &result)
        guard rc == 0, result != nil, let name = entry.pw_name else { return "uid:\(uid)" }
        return String(cString: name)
    }

    private static let lookups = DispatchQueue(label: "vigil.nss", attributes: .concurrent)

    static func offPool<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in lookups.async { continuation.resume(returning: work()) } }
    }
}
