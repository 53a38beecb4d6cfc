import Foundation
import Logging
import VigilConfig
import VigilCore
import VigilStore

/// Answers control-socket requests against the store and the live configuration.
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

    /// The plugin host's commands, set by the composition root once the host exists.
    private var pluginControl: PluginControl?
    func setPluginControl(_ control: PluginControl) { pluginControl = control }
    /// Plugin name → state, for `status`.
    private var pluginStates: @Sendable () async -> [String: String] = { [:] }
    func setPluginStates(_ provider: @escaping @Sendable () async -> [String: String]) { pluginStates = provider }

    public var configuration: VigilConfiguration { config }

    /// Handles one request from an authenticated peer.
    public func handle(_ request: ControlRequest, peer: PeerCredentials) async -> ControlResponse {
        do {
            let actor = Self.userName(uid: peer.uid)
            switch request.command {
            case "status": return .success(try JSONValue.encoding(try await status()))
            case "incidents.declare": return .success(try JSONValue.encoding(try await declare(request, actor: actor)))
            case "incidents.list": return .success(try JSONValue.encoding(try await list(request)))
            case "incidents.show": return .success(try JSONValue.encoding(try await show(request)))
            case "emit": return .success(try await emit(request, actor: actor))
            case let command where command.hasPrefix("plugins."):
                guard let pluginControl else { throw ControlFailure("the plugin host is not running") }
                return .success(try await pluginControl.handle(request, actor: actor))
            default:
                return .failure("unknown command \"\(request.command)\"; known: status, emit, incidents.declare, "
                    + "incidents.list, incidents.show, plugins.list, plugins.show, plugins.enable, plugins.disable, plugins.restart")
            }
        } catch let failure as ControlFailure {
            return .failure(failure.description)
        } catch {
            logger.error("control command failed", metadata: ["command": "\(request.command)", "error": "\(error)"])
            return .failure("internal error while running \(request.command): \(error)")
        }
    }

    func status() async throws -> StatusView {
        let now = clock.now()
        let all = try await store.incidents(limit: 100_000)
        var byState: [String: Int] = [:]
        for i in all { byState[i.state.rawValue, default: 0] += 1 }
        return StatusView(version: VigilVersion.current, pid: getpid(), startedAt: startedAt.rfc3339,
                          uptimeSeconds: Int((now - startedAt).inSeconds), configFile: config.sourceFile,
                          configLoadedAt: configLoadedAt.rfc3339, stateDirectory: stateDirectory,
                          database: store.path, severityLadder: config.policy.ladder.name,
                          openIncidents: all.filter { $0.state.isOpen }.count, incidentsByState: byState,
                          lanes: laneStats(), plugins: await pluginStates(), rules: 0)
    }

    func declare(_ request: ControlRequest, actor: String) async throws -> IncidentView {
        let title = try request.string("title").trimmingWhitespace()
        guard !title.isEmpty else { throw ControlFailure("the title must not be empty") }
        let policy = config.policy
        let type: IncidentTypeDefinition?
        if let typeName = request.optionalString("type") {
            guard let t = policy.incidentType(named: typeName) else {
                throw ControlFailure("unknown incident type \"\(typeName)\"; known: "
                    + policy.incidentTypes.map(\.name).joined(separator: ", "))
            }
            type = t
        } else {
            type = nil
        }
        let severityText = request.optionalString("severity") ?? type?.severity
        guard let severityText else { throw ControlFailure("give --severity or a --type that implies one") }
        guard let level = policy.ladder.level(named: severityText),
              let severity = policy.ladder.severity(named: level.code) else {
            throw ControlFailure("unknown severity \"\(severityText)\"; the \(policy.ladder.name) ladder has "
                + policy.ladder.levels.map { "\($0.code) (\($0.name))" }.joined(separator: ", "))
        }
        let summary = request.optionalString("summary") ?? ""
        let now = clock.now()
        let deadline = level.responseTime.map { now + $0 }
        var rationaleLines = ["Declared by \(actor) as \(level.code) (\(level.name)): \(level.description)."]
        if let type { rationaleLines.append("Incident type \"\(type.name)\" is \(type.severity) in the incident-type table.") }
        rationaleLines.append(level.responseTime.map { "Response SLA \(DurationText.format($0)) from the \(policy.ladder.name) ladder." }
            ?? "Scheduled resolution: no response clock.")
        let classification = Classification(affectedComponents: type?.components ?? [], rationale: rationaleLines)
        let year = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC") ?? .current,
                                                                    from: now.date).year ?? 1970
        let (incident, _) = try await store.openIncident(year: year, prefix: policy.idPrefix) { id in
            var incident = Incident(id: id, title: title, summary: summary, type: type?.name, severity: severity,
                                    state: .classified, source: "user-report", detectedAt: now,
                                    responseDeadline: deadline, containmentCategory: type?.containment,
                                    runbook: type?.runbook, classification: classification)
            incident.labels = ["declared_by": actor]
            let timeline = [
                TimelineEntry(incidentID: id, time: now, actor: actor, kind: .declared,
                              message: "Incident declared by \(actor): \(title)", data: ["source": "user-report"]),
                TimelineEntry(incidentID: id, time: now, actor: "vigild", kind: .classified,
                              message: "Classified \(severity.code) (\(level.name))" + (type.map { ", type \($0.name)" } ?? ""),
                              data: ["severity": severity.code, "from": IncidentState.detected.rawValue,
                                     "to": IncidentState.classified.rawValue]),
            ]
            return StoreChange(incident: incident, timeline: timeline)
        }
        logger.notice("incident declared", metadata: ["id": "\(incident.id)", "severity": "\(severity.code)",
                                                        "actor": "\(actor)"])
        return IncidentView(incident, ladder: policy.ladder, now: now)
    }

    func emit(_ request: ControlRequest, actor: String) async throws -> JSONValue {
        guard let raw = request.args["event"] else { throw ControlFailure("missing argument \"event\"") }
        var event: IngestEvent
        do { event = try raw.decode(IngestEvent.self) } catch {
            throw ControlFailure("malformed event: expected kind, name, value, unit, labels, source")
        }
        if let problem = event.validationError() { throw ControlFailure(problem) }
        let count = Int(request.args["count"]?.doubleValue ?? 1)
        guard (1...1_000_000).contains(count) else { throw ControlFailure("count must be between 1 and 1000000") }
        event.source = "cli:\(actor)"
        if event.time == nil { event.time = clock.now() }
        let lane = event.lane ?? event.defaultLane
        event.lane = lane
        let outcome = try await eventSink(event, count)
        return .object(["lane": .string(lane.description), "outcome": .string(outcome), "count": .number(Double(count))])
    }

    func list(_ request: ControlRequest) async throws -> [IncidentView] {
        var states: Set<IncidentState>?
        if let names = request.args["states"]?.arrayValue?.compactMap(\.stringValue), !names.isEmpty {
            var s = Set<IncidentState>()
            for n in names {
                if n == "open" { s.formUnion(IncidentState.allCases.filter(\.isOpen)); continue }
                guard let st = IncidentState(rawValue: n) else {
                    throw ControlFailure("unknown state \"\(n)\"; known: open, "
                        + IncidentState.allCases.map(\.rawValue).joined(separator: ", "))
                }
                s.insert(st)
            }
            states = s
        }
        let now = clock.now()
        return try await store.incidents(states: states).map { IncidentView($0, ladder: config.policy.ladder, now: now) }
    }

    func show(_ request: ControlRequest) async throws -> IncidentView {
        let id = try request.string("id")
        guard let incident = try await store.incident(id: id) else { throw ControlFailure("no incident \(id)") }
        let timeline = try await store.timeline(incidentID: id)
        return IncidentView(incident, ladder: config.policy.ladder, now: clock.now(), timeline: timeline)
    }

    static func userName(uid: UInt32) -> String {
        guard let pw = getpwuid(uid) else { return "uid:\(uid)" }
        return String(cString: pw.pointee.pw_name)
    }
}

/// The version string reported by `vigil status` and `--version`.
public enum VigilVersion {
    public static let current = "0.1.0"
}
