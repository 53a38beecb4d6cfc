import VigilCore

/// Every message of wire protocol v1; see `Docs/plugin-protocol.md`.
public enum PluginMessage: Sendable, Equatable {
    /// Plugin → daemon, first frame: who it is and which protocol it speaks.
    case hello(Hello)
    /// Daemon → plugin: the handshake succeeded; carries the plugin's configuration.
    case welcome(Welcome)
    /// Daemon → plugin: the handshake failed; the plugin should exit.
    case reject(reason: String)
    /// Detector → daemon: a batch of metric samples and signals.
    case events(EventBatch)
    /// Daemon → notifier: deliver a message about an incident.
    case notify(NotifyRequest)
    /// Daemon → action plugin: run a containment or recovery action.
    case act(ActRequest)
    /// Plugin → daemon: the outcome of a `notify` or `act`, matched by `id`.
    case result(PluginResult)
    /// Either way: are you alive? The peer answers `pong` with the same `seq`.
    case ping(seq: Int64)
    /// Either way: the answer to `ping`.
    case pong(seq: Int64)
    /// Daemon → plugin: finish and exit.
    case shutdown(reason: String)
    /// Plugin → daemon: a line for the daemon's log.
    case log(LogLine)

    /// The wire name in the `type` field.
    public var typeName: String {
        switch self {
        case .hello: "hello"
        case .welcome: "welcome"
        case .reject: "reject"
        case .events: "events"
        case .notify: "notify"
        case .act: "act"
        case .result: "result"
        case .ping: "ping"
        case .pong: "pong"
        case .shutdown: "shutdown"
        case .log: "log"
        }
    }
}

/// `{"type":"hello","protocol":1,"plugin":NAME,"version":V}`.
public struct Hello: Sendable, Equatable {
    public var protocolVersion: Int
    public var plugin: String
    public var version: String
    public init(protocolVersion: Int = WireProtocol.version, plugin: String, version: String) {
        self.protocolVersion = protocolVersion
        self.plugin = plugin
        self.version = version
    }
}

/// `{"type":"welcome","protocol":1,"config":{...}}`.
public struct Welcome: Sendable, Equatable {
    public var protocolVersion: Int
    /// The plugin's configuration (the manifest's `config:` with the daemon's overrides).
    public var config: JSONValue
    public init(protocolVersion: Int = WireProtocol.version, config: JSONValue = .object([:])) {
        self.protocolVersion = protocolVersion
        self.config = config
    }
}

/// The title and body a notifier delivers.
public struct NotificationText: Sendable, Equatable {
    public var title: String
    public var body: String
    public init(title: String, body: String) {
        self.title = title
        self.body = body
    }
}

/// `{"type":"notify","id":...,"incident":{...},"message":{"title":...,"body":...},"deadline_ms":...}`.
public struct NotifyRequest: Sendable, Equatable {
    public var id: String
    public var incident: JSONValue
    public var message: NotificationText
    /// Milliseconds the plugin has to answer with a `result`.
    public var deadlineMilliseconds: Int64
    public init(id: String, incident: JSONValue, message: NotificationText, deadlineMilliseconds: Int64) {
        self.id = id
        self.incident = incident
        self.message = message
        self.deadlineMilliseconds = deadlineMilliseconds
    }
}

/// `{"type":"act","id":...,"action":...,"params":{...},"incident":{...},"dry_run":bool,"deadline_ms":...}`.
public struct ActRequest: Sendable, Equatable {
    public var id: String
    public var action: String
    public var params: [String: JSONValue]
    public var incident: JSONValue
    /// Describe what would be done, change nothing.
    public var dryRun: Bool
    public var deadlineMilliseconds: Int64
    public init(id: String, action: String, params: [String: JSONValue] = [:], incident: JSONValue = .null,
                dryRun: Bool = false, deadlineMilliseconds: Int64) {
        self.id = id
        self.action = action
        self.params = params
        self.incident = incident
        self.dryRun = dryRun
        self.deadlineMilliseconds = deadlineMilliseconds
    }
}

/// `{"type":"result","id":...,"ok":bool,"detail":...,"evidence":{...}}`.
public struct PluginResult: Sendable, Equatable {
    public var id: String
    public var ok: Bool
    public var detail: String
    public var evidence: [String: JSONValue]
    public init(id: String, ok: Bool, detail: String = "", evidence: [String: JSONValue] = [:]) {
        self.id = id
        self.ok = ok
        self.detail = detail
        self.evidence = evidence
    }
}

/// `{"type":"log","level":"info","message":...}`.
public struct LogLine: Sendable, Equatable {
    /// One of `debug`, `info`, `notice`, `warning`, `error`, `critical`.
    public var level: String
    public var message: String
    public init(level: String, message: String) {
        self.level = level
        self.message = message
    }
}
