import Foundation
import VigilCore
import VigilPluginProtocol

/// One request on the control socket: a line of JSON `{"command": "...", "args": {...}}`.
///
/// The control protocol is newline-delimited JSON, one request and one response per line, so
/// `socat - UNIX-CONNECT:.vigil/control.sock` is enough to talk to a daemon by hand.
public struct ControlRequest: Codable, Sendable {
    public var command: String
    public var args: [String: JSONValue]

    public init(command: String, args: [String: JSONValue] = [:]) {
        self.command = command
        self.args = args
    }

    /// A required text argument, or a ``ControlFailure`` naming it.
    public func string(_ key: String) throws(ControlFailure) -> String {
        guard let v = args[key]?.stringValue else { throw ControlFailure("missing text argument \"\(key)\"") }
        return v
    }

    public func optionalString(_ key: String) -> String? { args[key]?.stringValue }

    /// Longest request line the daemon reads.
    public static let maximumLineBytes = 1 << 20

    /// Decodes one request line (without its newline): a JSON object with a text `command` and an
    /// object `args`; other members are ignored. Read with the bounded scanner of the plugin
    /// protocol (nesting limited, numbers finite, strict UTF-8), so no line can exhaust the stack.
    public static func decode(line: [UInt8]) throws(ControlFailure) -> ControlRequest {
        let malformed = ControlFailure("malformed request: expected one JSON object with \"command\" and \"args\" per line")
        guard line.count <= maximumLineBytes,
              let value = try? JSONValue.parse(line),
              case .string(let command)? = value["command"],
              case .object(let args)? = value["args"] else { throw malformed }
        return ControlRequest(command: command, args: args)
    }
}

/// The answer to one request: `{"ok": true, "result": ...}` or `{"ok": false, "error": "..."}`.
public struct ControlResponse: Codable, Sendable {
    public var ok: Bool
    public var result: JSONValue?
    public var error: String?
    /// With `error`: what kind of refusal (``ControlFailure/Kind``); absent from older daemons.
    public var errorKind: String?

    public init(ok: Bool, result: JSONValue?, error: String?, errorKind: String? = nil) {
        self.ok = ok
        self.result = result
        self.error = error
        self.errorKind = errorKind
    }

    public static func success(_ result: JSONValue) -> ControlResponse { .init(ok: true, result: result, error: nil) }
    public static func failure(_ message: String) -> ControlResponse { .init(ok: false, result: nil, error: message) }
    public static func failure(_ failure: ControlFailure) -> ControlResponse {
        .init(ok: false, result: nil, error: failure.description, errorKind: failure.kind.rawValue)
    }

    private enum CodingKeys: String, CodingKey {
        case ok, result, error
        case errorKind = "error_kind"
    }
}

/// A request the daemon refuses, with the sentence the operator sees.
public struct ControlFailure: Error, CustomStringConvertible, Sendable {
    /// What kind of refusal it is; HTTP answers it with the matching status code.
    public enum Kind: String, Codable, Sendable {
        /// The request itself is wrong (a missing or malformed argument): 400.
        case invalid
        /// The incident, action, plugin or runbook it names does not exist: 404.
        case notFound = "not_found"
        /// The change conflicts with the current state (an invalid transition): 409.
        case conflict
        /// The caller may not do this: 403.
        case forbidden
        /// The daemon cannot do it now (a part is not running) or failed doing it: 503/500.
        case unavailable
    }

    public var description: String
    public var kind: Kind
    public init(_ description: String, kind: Kind = .invalid) {
        self.description = description
        self.kind = kind
    }

    public static func notFound(_ description: String) -> ControlFailure { .init(description, kind: .notFound) }
    public static func conflict(_ description: String) -> ControlFailure { .init(description, kind: .conflict) }
}

/// The documented JSON form of `vigil status`.
public struct StatusView: Codable, Sendable, Equatable {
    /// One EventBus lane: `depth` waiting events out of `capacity` (the shared ring plus every
    /// producer ring in use), events `published` and `consumed` since start, telemetry `shed`
    /// oldest-first, producer `stalls` (refusals and waits), whether producers are being told to
    /// `pause` (a ring is above its high watermark) and how many registered `producers` have a
    /// ring of their own.
    public struct LaneView: Codable, Sendable, Equatable {
        public var lane: String
        public var depth: Int
        public var capacity: Int
        public var published: UInt64
        public var consumed: UInt64
        public var shed: UInt64
        public var stalls: UInt64
        public var paused: Bool
        public var producers: Int
        public init(lane: String, depth: Int, capacity: Int, published: UInt64, consumed: UInt64 = 0, shed: UInt64,
                    stalls: UInt64, paused: Bool = false, producers: Int = 0) {
            self.lane = lane
            self.depth = depth
            self.capacity = capacity
            self.published = published
            self.consumed = consumed
            self.shed = shed
            self.stalls = stalls
            self.paused = paused
            self.producers = producers
        }
    }

    public var version: String
    public var pid: Int32
    public var startedAt: String
    public var uptimeSeconds: Int
    public var configFile: String
    public var configLoadedAt: String
    public var stateDirectory: String
    public var database: String
    public var severityLadder: String
    public var openIncidents: Int
    public var incidentsByState: [String: Int]
    public var lanes: [LaneView]
    public var plugins: [String: String]
    public var rules: Int
    /// What containment has changed in the daemon right now (absent from older daemons).
    public var containment: ContainmentStatus?
    /// The host agents that call in to this daemon (absent when none ever did).
    public var agents: [AgentView]?
    /// Set when this daemon is a host agent: where it forwards and how far it got.
    public var agentMode: AgentModeView?

    public init(version: String, pid: Int32, startedAt: String, uptimeSeconds: Int, configFile: String,
                configLoadedAt: String, stateDirectory: String, database: String, severityLadder: String,
                openIncidents: Int, incidentsByState: [String: Int], lanes: [LaneView], plugins: [String: String],
                rules: Int, containment: ContainmentStatus?, agents: [AgentView]? = nil, agentMode: AgentModeView? = nil) {
        self.version = version
        self.pid = pid
        self.startedAt = startedAt
        self.uptimeSeconds = uptimeSeconds
        self.configFile = configFile
        self.configLoadedAt = configLoadedAt
        self.stateDirectory = stateDirectory
        self.database = database
        self.severityLadder = severityLadder
        self.openIncidents = openIncidents
        self.incidentsByState = incidentsByState
        self.lanes = lanes
        self.plugins = plugins
        self.rules = rules
        self.containment = containment
        self.agents = agents
        self.agentMode = agentMode
    }
}

/// The version string reported by `vigil status` and `--version`.
public enum VigilVersion {
    public static let current = "0.1.0"
}

/// The daemon-wide effects of containment actions, for `vigil status`.
public struct ContainmentStatus: Codable, Sendable, Equatable {
    /// `open`, `holding non-incident writes` or `read-only except incident records`.
    public var writeGate: String
    public var heldWrites: Int
    /// One telemetry event admitted in this many (1: all).
    public var telemetryKeepOneIn: Int
    public var telemetryThrottled: UInt64
    /// Breakers that are not closed, by plugin: `open` or `half-open`.
    public var breakers: [String: String]
    public var awaitingApproval: Int
    public var logLevel: String

    public init(writeGate: String, heldWrites: Int, telemetryKeepOneIn: Int, telemetryThrottled: UInt64,
                breakers: [String: String], awaitingApproval: Int, logLevel: String) {
        self.writeGate = writeGate
        self.heldWrites = heldWrites
        self.telemetryKeepOneIn = telemetryKeepOneIn
        self.telemetryThrottled = telemetryThrottled
        self.breakers = breakers
        self.awaitingApproval = awaitingApproval
        self.logLevel = logLevel
    }
}

/// One rule and what feeds it (`vigil rules check --list` against the running daemon,
/// `rules.sources`): the event name it watches, who can send that name (detector plugins whose
/// `emits:` cover it, `vigild` for the daemon's own), and the last sample the daemon saw.
public struct RuleSourceView: Codable, Sendable, Equatable {
    public var id: String
    public var kind: String
    public var rule: String
    /// The event name the rule watches.
    public var event: String
    /// `vigild` and/or `plugin:NAME (state)`; empty when nothing loaded can send it.
    public var fedBy: [String]
    /// RFC 3339, when the daemon last saw a sample of `event` (nil: none since it started).
    public var lastSample: String?
    /// Who sent that sample (`plugin:NAME`, `vigild:…`, `cli:USER`, `http…`).
    public var lastSource: String?

    public init(id: String, kind: String, rule: String, event: String, fedBy: [String], lastSample: String?,
                lastSource: String?) {
        self.id = id
        self.kind = kind
        self.rule = rule
        self.event = event
        self.fedBy = fedBy
        self.lastSample = lastSample
        self.lastSource = lastSource
    }

    enum CodingKeys: String, CodingKey {
        case id, kind, rule, event
        case fedBy = "fed_by"
        case lastSample = "last_sample"
        case lastSource = "last_source"
    }
}
