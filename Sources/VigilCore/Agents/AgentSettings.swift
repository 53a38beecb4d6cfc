/// `agent:` — this `vigild` runs as a host agent: its detectors, rules and the daemon's own
/// checks run here, and what would open or change an incident (rule signals, plugin failures,
/// isolation breaches) is kept in a durable local spool and forwarded, in order, to the central
/// daemons over their HTTP API (`POST /api/v1/agents/signals`). No incident is kept here.
///
/// ```yaml
/// agent:
///   central: [https://vigil-a.example:9093, https://vigil-b.example:9093]   # tried in turn
///   token_file: /etc/vigil/agent.token     # an API token of role agent (vigil tokens create --role agent --person web-01)
///   call_in: 15 seconds                    # calls in this often when there is nothing to send
///   batch: 500                             # signals per request
///   spool_limit: 1000000                   # signals kept while the central daemons are unreachable
///   timeout: 10 seconds                    # one request's deadline
///   ca_file: /etc/vigil/central-ca.pem     # trust only these CA certificates for https (default: the system's)
/// ```
public struct AgentModeSettings: Sendable, Equatable {
    /// The central daemons' base URLs (`http://` or `https://`, no path beyond `/`), tried in turn.
    public var central: [String]
    /// The file holding the agent's API token (role `agent`; its person is the agent's name).
    public var tokenFile: String
    public var callIn: Duration
    public var batch: Int
    public var spoolLimit: Int
    public var timeout: Duration
    /// PEM CA certificates an `https` central daemon's certificate must chain to; nil trusts the system's roots.
    public var caFile: String?

    public static let defaultCallIn: Duration = .seconds(15)
    public static let defaultBatch = 500
    public static let maximumBatch = AgentLimits.maximumSignalsPerRequest
    public static let defaultSpoolLimit = 1_000_000
    public static let defaultTimeout: Duration = .seconds(10)

    public init(central: [String], tokenFile: String, callIn: Duration = Self.defaultCallIn, batch: Int = Self.defaultBatch,
                spoolLimit: Int = Self.defaultSpoolLimit, timeout: Duration = Self.defaultTimeout, caFile: String? = nil) {
        self.central = central
        self.tokenFile = tokenFile
        self.callIn = callIn
        self.batch = batch
        self.spoolLimit = spoolLimit
        self.timeout = timeout
        self.caFile = caFile
    }
}

/// `agents:` — how the central daemon watches the host agents that call in to it. Every agent
/// that has called in once is watched: one that has not called in for `missing_after` opens an
/// incident (one per agent), which clears when it calls in again.
///
/// ```yaml
/// agents:
///   missing_after: 1 minute     # default; at least 5 seconds
///   severity: P2                # default: Medium on the active ladder
///   incident_type: Service Outage
///   component: hosts
/// ```
public struct AgentWatchSettings: Sendable, Equatable {
    public var missingAfter: Duration
    public var severity: String?
    public var incidentType: String?
    public var component: String?

    public static let defaultMissingAfter: Duration = .seconds(60)

    public init(missingAfter: Duration = Self.defaultMissingAfter, severity: String? = nil, incidentType: String? = nil,
                component: String? = nil) {
        self.missingAfter = missingAfter
        self.severity = severity
        self.incidentType = incidentType
        self.component = component
    }
}

/// What one forwarded request may carry; the central daemon refuses more (413 or 400).
public enum AgentLimits {
    public static let maximumSignalsPerRequest = 1000
    /// The body of `POST /api/v1/agents/signals`.
    public static let maximumBodyBytes = 8 << 20
    /// A spool id: the agent makes one (a UUID) when its spool is created.
    public static let maximumSpoolIDLength = 64
    public static let maximumLabels = 64
    public static let maximumLabelValueBytes = 4096
    public static let maximumTextBytes = 16 * 1024
    public static let maximumFingerprintBytes = 1024
    /// Spools remembered per agent (an agent reinstalled gets a new spool; old cursors are dropped oldest first).
    public static let maximumSpoolsPerAgent = 16
    /// Agents the central daemon keeps track of; a new one beyond is refused (403 names the limit).
    public static let maximumAgents = 10_000
}

/// A host agent's name (its token's person): a host name, as it goes into labels and fingerprints.
public enum AgentName {
    public static let maximumLength = 64

    public static func isValid(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= maximumLength else { return false }
        return name.utf8.allSatisfy { c in
            (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 46 || c == 95 || c == 45
        }
    }
}
