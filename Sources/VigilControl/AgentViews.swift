/// One host agent as the central daemon sees it (`vigil agents`, `GET /api/v1/agents`, `vigil status`).
public struct AgentView: Codable, Sendable, Equatable {
    /// The agent's name: its token's person.
    public var name: String
    /// `ok`, or `missing` when it has not called in for `agents.missing_after` (its incident is open).
    public var state: String
    public var firstContactAt: String
    public var lastContactAt: String
    /// Seconds since its last call-in.
    public var silentSeconds: Int
    /// Signals received from it (duplicates not counted).
    public var received: Int64
    /// How many signals its last call-in said were still waiting in its spool.
    public var spooled: Int64
    /// Its spool's id and the last sequence number applied from it.
    public var spool: String?
    public var lastSeq: Int64?
    public var version: String?

    public init(name: String, state: String, firstContactAt: String, lastContactAt: String, silentSeconds: Int,
                received: Int64, spooled: Int64, spool: String?, lastSeq: Int64?, version: String?) {
        self.name = name
        self.state = state
        self.firstContactAt = firstContactAt
        self.lastContactAt = lastContactAt
        self.silentSeconds = silentSeconds
        self.received = received
        self.spooled = spooled
        self.spool = spool
        self.lastSeq = lastSeq
        self.version = version
    }
}

/// A daemon running as a host agent (`agent:`), for `vigil status`: where it forwards and how
/// far it got.
public struct AgentModeView: Codable, Sendable, Equatable {
    public var central: [String]
    /// The central daemon that answered last, if any did.
    public var connectedTo: String?
    /// `forwarding` (the last request was answered), `unreachable` (the last failed), `starting`.
    public var state: String
    public var spool: String
    /// Signals waiting to be forwarded.
    public var spooled: Int
    /// Signals not kept because the spool was full (`agent.spool_limit`) since start.
    public var dropped: Int
    /// Signals the central daemons acknowledged since start.
    public var forwarded: Int
    public var lastContactAt: String?
    public var lastError: String?

    public init(central: [String], connectedTo: String?, state: String, spool: String, spooled: Int, dropped: Int,
                forwarded: Int, lastContactAt: String?, lastError: String?) {
        self.central = central
        self.connectedTo = connectedTo
        self.state = state
        self.spool = spool
        self.spooled = spooled
        self.dropped = dropped
        self.forwarded = forwarded
        self.lastContactAt = lastContactAt
        self.lastError = lastError
    }
}
