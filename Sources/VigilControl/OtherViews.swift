import VigilCore

/// A silence in Alertmanager API v2's `gettableSilence` shape: what `GET /api/v2/silences`
/// answers and what `vigil silences list --json` prints.
public struct SilenceView: Codable, Sendable, Equatable {
    /// One matcher: `isRegex`/`isEqual` select `=`, `!=`, `=~`, `!~`.
    public struct MatcherView: Codable, Sendable, Equatable {
        public var isEqual: Bool
        public var isRegex: Bool
        public var name: String
        public var value: String

        public init(isEqual: Bool, isRegex: Bool, name: String, value: String) {
            self.isEqual = isEqual
            self.isRegex = isRegex
            self.name = name
            self.value = value
        }
    }

    /// `{"state": "pending" | "active" | "expired"}`.
    public struct Status: Codable, Sendable, Equatable {
        public var state: String
        public init(state: String) { self.state = state }
    }

    public var id: String
    public var status: Status
    public var updatedAt: String
    public var comment: String
    public var createdBy: String
    public var endsAt: String
    public var matchers: [MatcherView]
    public var startsAt: String

    public init(id: String, status: Status, updatedAt: String, comment: String, createdBy: String, endsAt: String,
                matchers: [MatcherView], startsAt: String) {
        self.id = id
        self.status = status
        self.updatedAt = updatedAt
        self.comment = comment
        self.createdBy = createdBy
        self.endsAt = endsAt
        self.matchers = matchers
        self.startsAt = startsAt
    }
}

/// A maintenance window for `vigil silences list --json` (`maintenanceWindows`).
public struct MaintenanceWindowView: Codable, Sendable, Equatable {
    public var name: String
    public var matchers: String
    public var schedule: String
    public var timeZone: String
    public var open: Bool

    public init(name: String, matchers: String, schedule: String, timeZone: String, open: Bool) {
        self.name = name
        self.matchers = matchers
        self.schedule = schedule
        self.timeZone = timeZone
        self.open = open
    }
}

/// The documented JSON form of one API token in `vigil tokens list` and `create`: never its secret.
public struct TokenView: Codable, Sendable, Equatable {
    public var id: String
    public var role: String
    public var person: String
    public var state: String
    public var createdAt: String
    public var createdBy: String
    public var expiresAt: String?
    public var revokedAt: String?

    public init(id: String, role: String, person: String, state: String, createdAt: String, createdBy: String,
                expiresAt: String? = nil, revokedAt: String? = nil) {
        self.id = id
        self.role = role
        self.person = person
        self.state = state
        self.createdAt = createdAt
        self.createdBy = createdBy
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
    }
}

/// `vigil tokens create` answers with the token's view and, this once, its secret.
public struct CreatedTokenView: Codable, Sendable {
    public var token: TokenView
    public var secret: String

    public init(token: TokenView, secret: String) {
        self.token = token
        self.secret = secret
    }
}

/// `vigil incidents ack-link`: a signed, single-use acknowledgement link for one person.
public struct AckLinkView: Codable, Sendable {
    public var incident: String
    public var person: String
    public var expiresAt: String
    /// The path to append to the daemon's HTTP address: `/ack/<token>`.
    public var path: String

    public init(incident: String, person: String, expiresAt: String, path: String) {
        self.incident = incident
        self.person = person
        self.expiresAt = expiresAt
        self.path = path
    }
}

/// The documented JSON form of a containment action request (`vigil actions list|show --json`).
public struct ActionView: Codable, Sendable, Equatable {
    public var id: Int64
    public var incident: String?
    public var action: String
    /// `auto`, `approve` or `off`.
    public var mode: String
    /// See `ActionState`.
    public var state: String
    public var dryRun: Bool
    /// `security_breach`, … (absent for a person's `vigil actions run`).
    public var category: String?
    /// `2/4`: its place in the category's order.
    public var position: String?
    public var requestedBy: String?
    public var requestedAt: String
    public var deadline: String?
    public var completedAt: String?
    public var detail: String?
    public var params: JSONValue?
    public var result: JSONValue?
    /// How it is undone, when it can be (`vigil actions undo ID`).
    public var undo: JSONValue?

    public init(id: Int64, incident: String? = nil, action: String, mode: String, state: String, dryRun: Bool,
                category: String? = nil, position: String? = nil, requestedBy: String? = nil, requestedAt: String,
                deadline: String? = nil, completedAt: String? = nil, detail: String? = nil, params: JSONValue? = nil,
                result: JSONValue? = nil, undo: JSONValue? = nil) {
        self.id = id
        self.incident = incident
        self.action = action
        self.mode = mode
        self.state = state
        self.dryRun = dryRun
        self.category = category
        self.position = position
        self.requestedBy = requestedBy
        self.requestedAt = requestedAt
        self.deadline = deadline
        self.completedAt = completedAt
        self.detail = detail
        self.params = params
        self.result = result
        self.undo = undo
    }
}

/// One action the daemon can run, for `vigil actions catalog`.
public struct ActionCatalogEntry: Codable, Sendable, Equatable {
    public var action: String
    public var summary: String
    /// `auto`, `approve` or `off`, as configured (or the default).
    public var mode: String
    public var dryRun: Bool
    public var builtIn: Bool
    /// Loaded action plugins that declare it.
    public var plugins: [String]
    /// Containment categories that list it, in order.
    public var categories: [String]

    public init(action: String, summary: String, mode: String, dryRun: Bool, builtIn: Bool, plugins: [String],
                categories: [String]) {
        self.action = action
        self.summary = summary
        self.mode = mode
        self.dryRun = dryRun
        self.builtIn = builtIn
        self.plugins = plugins
        self.categories = categories
    }
}

/// One of the five checks of seed 004's "Manual Containment Verification".
public struct VerificationCheck: Codable, Sendable, Equatable {
    /// `threat_contained`, `system_stable`, `no_collateral_impact`, `monitoring_working`, `backups_operational`.
    public var name: String
    public var passed: Bool
    public var detail: String

    public init(name: String, passed: Bool, detail: String) {
        self.name = name
        self.passed = passed
        self.detail = detail
    }
}

/// The documented JSON form of `vigil silences preview --json` (`silences.preview`): what a
/// silence with these matchers would mute now, matched exactly as the silences themselves match.
public struct SilencePreviewView: Codable, Sendable, Equatable {
    /// A firing alert (posted to `/api/v2/alerts` and not yet ended) the matchers select.
    public struct AlertMatch: Codable, Sendable, Equatable {
        public var fingerprint: String
        public var labels: [String: String]
        public var startsAt: String
        /// Active silences already muting it.
        public var silencedBy: [String]

        public init(fingerprint: String, labels: [String: String], startsAt: String, silencedBy: [String]) {
            self.fingerprint = fingerprint
            self.labels = labels
            self.startsAt = startsAt
            self.silencedBy = silencedBy
        }
    }

    /// An open incident the matchers select (by its labels and the ones the daemon sets:
    /// `incident`, `severity`, `type`, `source`, `rule`, `fingerprint`, `containment`, `component`).
    public struct IncidentMatch: Codable, Sendable, Equatable {
        public var id: String
        public var title: String
        public var severity: String
        public var state: String
        /// The silence or maintenance window already muting it, if any.
        public var mutedBy: String?

        public init(id: String, title: String, severity: String, state: String, mutedBy: String?) {
            self.id = id
            self.title = title
            self.severity = severity
            self.state = state
            self.mutedBy = mutedBy
        }
    }

    /// The matchers as read (`{team="db", severity=~"P[34]"}`).
    public var matchers: String
    public var at: String
    /// How many match in all; the lists stop at the request's `limit`.
    public var alertCount: Int
    public var incidentCount: Int
    /// Oldest first.
    public var alerts: [AlertMatch]
    /// Newest first.
    public var incidents: [IncidentMatch]

    public init(matchers: String, at: String, alertCount: Int, incidentCount: Int, alerts: [AlertMatch],
                incidents: [IncidentMatch]) {
        self.matchers = matchers
        self.at = at
        self.alertCount = alertCount
        self.incidentCount = incidentCount
        self.alerts = alerts
        self.incidents = incidents
    }
}
