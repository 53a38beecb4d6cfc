/// One rung of a severity ladder, as the seeds' classification tables describe it.
public struct SeverityLevel: Codable, Sendable, Equatable {
    /// `P0`, `P1`, …
    public var code: String
    /// `Critical`, `High`, `Medium`, `Low`.
    public var name: String
    public var description: String
    /// The response SLA; nil means "Scheduled" (no acknowledgement clock).
    public var responseTime: Duration?
    /// Seed 004's "Team Mobilization" column (`Full incident response team`, …).
    public var teamMobilisation: String?
    /// Seed 000's "Impact" column.
    public var impact: String?
    /// Seed 000's "User Scope" column (`All users`, `Group of users`, `Individual users`, `None`).
    public var userScope: String?
    /// Seed 000's "Service Impact" column (`Complete Outage`, `Partial Outage`, `Degraded`, `None`).
    public var serviceImpact: String?
    /// How often status updates are due while the incident is open; nil for none.
    public var statusUpdateInterval: Duration?

    public init(code: String, name: String, description: String, responseTime: Duration?,
                teamMobilisation: String? = nil, impact: String? = nil, userScope: String? = nil,
                serviceImpact: String? = nil, statusUpdateInterval: Duration? = nil) {
        self.code = code
        self.name = name
        self.description = description
        self.responseTime = responseTime
        self.teamMobilisation = teamMobilisation
        self.impact = impact
        self.userScope = userScope
        self.serviceImpact = serviceImpact
        self.statusUpdateInterval = statusUpdateInterval
    }
}

/// An ordered list of severities, most severe first (one of the configured profiles).
public struct SeverityLadder: Codable, Sendable, Equatable {
    /// Profile name, e.g. `p0-p3` or `p1-p4`.
    public var name: String
    public var levels: [SeverityLevel]

    public init(name: String, levels: [SeverityLevel]) {
        self.name = name
        self.levels = levels
    }

    /// The severity with this code (`P1`) or name (`Critical`, `P1 - Critical`), case-insensitive.
    public func severity(named text: String) -> Severity? {
        level(named: text).flatMap { l in levels.firstIndex(of: l).map { Severity(code: l.code, rank: $0) } }
    }

    /// The level a reference names, case-insensitive: a code (`P1`), a name (`Critical`) or both
    /// as the seeds' tables write them (`P1 - Critical`).
    ///
    /// The seeds use two ladders whose codes disagree (P1 is Critical on one and High on the
    /// other), so when a `code - name` pair does not exist on this ladder the *name* decides:
    /// `P2 - High` means "High" whichever ladder is active.
    public func level(named text: String) -> SeverityLevel? {
        let t = text.trimmingWhitespace().lowercased()
        if let exact = levels.first(where: { "\($0.code) - \($0.name)".lowercased() == t }) { return exact }
        if let dash = t.range(of: " - ") {
            let name = String(t[dash.upperBound...]).trimmingWhitespace()
            return levels.first { $0.name.lowercased() == name }
        }
        return levels.first { $0.code.lowercased() == t } ?? levels.first { $0.name.lowercased() == t }
    }

    /// The level of a severity on this ladder.
    public func level(of severity: Severity) -> SeverityLevel? {
        levels.first { $0.code == severity.code }
    }

    /// The most and least severe levels.
    public var mostSevere: Severity? { levels.first.map { Severity(code: $0.code, rank: 0) } }
    public var leastSevere: Severity? { levels.last.map { Severity(code: $0.code, rank: levels.count - 1) } }

    /// All severities in ladder order.
    public var severities: [Severity] { levels.enumerated().map { Severity(code: $1.code, rank: $0) } }
}

/// A row of seed 000's incident-type table, plus what operators attach to it.
public struct IncidentTypeDefinition: Codable, Sendable, Equatable {
    /// `WebSocket server outage`, `High CPU utilization`, …
    public var name: String
    /// Severity code on the configured ladder.
    public var severity: String
    /// Containment category (`security_breach`, `system_overload`, `data_corruption`).
    public var containment: String?
    public var runbook: String?
    /// Components it touches, for choosing the initial team.
    public var components: [String]
    /// Security implications: the security lead joins.
    public var security: Bool
    /// Data-integrity implications.
    public var dataIntegrity: Bool

    public init(name: String, severity: String, containment: String? = nil, runbook: String? = nil,
                components: [String] = [], security: Bool = false, dataIntegrity: Bool = false) {
        self.name = name
        self.severity = severity
        self.containment = containment
        self.runbook = runbook
        self.components = components
        self.security = security
        self.dataIntegrity = dataIntegrity
    }
}

/// One step of an escalation chain (seed 000 "Escalation Paths").
public enum EscalationStep: Codable, Sendable, Equatable, CustomStringConvertible {
    /// Notify the people holding this role (`team_lead`, `engineering_manager`, `cto`).
    case role(String)
    /// "Assign to Team": the owning team takes it, no further escalation.
    case assignToTeam
    /// "Add to Backlog": no paging; tracked as backlog work.
    case backlog

    public var description: String {
        switch self {
        case .role(let r): r
        case .assignToTeam: "assign to team"
        case .backlog: "add to backlog"
        }
    }
}

/// The escalation-path table: initial responder role × severity code → chain.
public struct EscalationPaths: Codable, Sendable, Equatable {
    /// Responder role → severity code → ordered steps.
    public var chains: [String: [String: [EscalationStep]]]
    /// How long an unacknowledged incident waits at each level before the next, per severity code.
    public var stepIntervals: [String: Duration]

    public init(chains: [String: [String: [EscalationStep]]], stepIntervals: [String: Duration] = [:]) {
        self.chains = chains
        self.stepIntervals = stepIntervals
    }

    /// The chain for a responder role and severity code (empty when none is configured).
    public func chain(from responder: String, severity code: String) -> [EscalationStep] {
        chains[responder]?[code] ?? []
    }
}

/// A role of the seed's roles table (`incident_commander`: "Coordinates the incident response…").
public struct RoleDefinition: Codable, Sendable, Equatable {
    /// Stable id used in config and CLI: `incident_commander`, `technical_lead`, …
    public var id: String
    /// `Incident Commander`.
    public var name: String
    public var responsibilities: String

    public init(id: String, name: String, responsibilities: String) {
        self.id = id
        self.name = name
        self.responsibilities = responsibilities
    }
}

/// A person who can be on call.
public struct Person: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    /// Channel → address (`email` → `alice@example.org`, `webhook` → URL, `slack` → `@alice`).
    public var contacts: [String: String]
    /// Skills / components they know (`plugin system`, `eventbus`, `security`).
    public var skills: [String]
    /// Their own order of contact methods (`contact_order`), before the configured default.
    public var contactOrder: ContactOrder?

    public init(id: String, name: String, contacts: [String: String] = [:], skills: [String] = [],
                contactOrder: ContactOrder? = nil) {
        self.id = id
        self.name = name
        self.contacts = contacts
        self.skills = skills
        self.contactOrder = contactOrder
    }
}

/// A rotation: who holds a role when, cycling through members every `period` from `start`.
public struct Rotation: Codable, Sendable, Equatable {
    public var id: String
    /// The role this rotation staffs (`on_call_engineer`, `team_lead`, …).
    public var role: String
    /// Components it covers; empty means every component.
    public var components: [String]
    /// Person ids in rotation order.
    public var members: [String]
    public var start: Timestamp
    public var period: Duration

    public init(id: String, role: String, components: [String] = [], members: [String], start: Timestamp,
                period: Duration) {
        self.id = id
        self.role = role
        self.components = components
        self.members = members
        self.start = start
        self.period = period
    }
}

/// A temporary replacement in a rotation (holiday cover, swaps).
public struct RosterOverride: Codable, Sendable, Equatable {
    public var rotation: String
    public var person: String
    public var from: Timestamp
    public var until: Timestamp

    public init(rotation: String, person: String, from: Timestamp, until: Timestamp) {
        self.rotation = rotation
        self.person = person
        self.from = from
        self.until = until
    }
}

/// Everyone who can be paged and the rotations that decide who is on call.
public struct Roster: Codable, Sendable, Equatable {
    public var people: [Person]
    public var rotations: [Rotation]
    public var overrides: [RosterOverride]

    public init(people: [Person] = [], rotations: [Rotation] = [], overrides: [RosterOverride] = []) {
        self.people = people
        self.rotations = rotations
        self.overrides = overrides
    }
}

/// Everything the incident manager decides with, as loaded from configuration.
public struct IncidentPolicy: Codable, Sendable, Equatable {
    /// The active ladder.
    public var ladder: SeverityLadder
    /// Every configured ladder by profile name (the active one included).
    public var ladders: [String: SeverityLadder]
    public var incidentTypes: [IncidentTypeDefinition]
    public var escalation: EscalationPaths
    public var roles: [RoleDefinition]
    public var roster: Roster
    /// Containment category → ordered action names (seed 004 `containment_rules`).
    public var containment: [String: [String]]
    /// Prefix of incident ids (`INC`).
    public var idPrefix: String
    /// How incidents are handled once open (initial responder, reopen window, post-mortems).
    public var handling: IncidentHandling = IncidentHandling()
    /// Runbooks by name (`runbooks.directory`); incident types and rules name them.
    public var runbooks: [String: Runbook] = [:]
    /// Contact order and mirror channels (`notifications:`).
    public var notifications = NotificationPolicy()
    /// Disaster-recovery criteria and plans (`disaster_recovery:`, seed 000).
    public var disasterRecovery = DisasterRecoveryPolicy()
    /// The component dependency map and how far root-cause help looks back (`components:`).
    public var components = ComponentDependencies()

    public init(ladder: SeverityLadder, ladders: [String: SeverityLadder] = [:],
                incidentTypes: [IncidentTypeDefinition] = [], escalation: EscalationPaths = .init(chains: [:]),
                roles: [RoleDefinition] = [], roster: Roster = .init(), containment: [String: [String]] = [:],
                idPrefix: String = "INC") {
        self.ladder = ladder
        self.ladders = ladders.isEmpty ? [ladder.name: ladder] : ladders
        self.incidentTypes = incidentTypes
        self.escalation = escalation
        self.roles = roles
        self.roster = roster
        self.containment = containment
        self.idPrefix = idPrefix
    }

    /// The incident-type row with this name, case-insensitive.
    public func incidentType(named name: String) -> IncidentTypeDefinition? {
        let n = name.lowercased()
        return incidentTypes.first { $0.name.lowercased() == n }
    }
}

/// The `incidents:` settings: who responds first, how flapping signals are held together, and
/// which severities get a post-mortem.
public struct IncidentHandling: Codable, Sendable, Equatable {
    /// The escalation-path row new incidents start on (`on_call_engineer`).
    public var initialResponder: String
    /// A signal that fires again this long after its incident was resolved reopens that incident
    /// instead of opening a new one (the flapping hysteresis).
    public var reopenWindow: Duration
    /// Severity codes that get a post-mortem; nil means the two most severe levels (seed: P1/P2).
    public var postMortemSeverities: [String]?
    /// How soon after resolution the post-mortem is due (seed 004: within 48 hours).
    public var postMortemWithin: Duration

    /// What the daemon does with an open incident once its rule's condition has cleared and
    /// stayed clear for ``clearedHold`` (`incidents.when_condition_clears`).
    public var whenConditionClears: ConditionClearedAction
    /// How long a condition must stay clear before ``whenConditionClears`` acts (the hysteresis
    /// that keeps a flapping rule from moving its incident back and forth).
    public var clearedHold: Duration
    /// Whether a new incident asks for its chat channel (`#inc-…`, seed 000 step 4). Set by the
    /// daemon, not the configuration: false when no loaded notifier delivers the `chat` channel, so
    /// a machine without a chat integration is not sent a request that nothing can deliver.
    public var openChatChannel: Bool?
    /// The response-time goals `vigil report metrics` checks (`incidents.targets`).
    public var targets: [ResponseTarget] = [.seedDetection]
    /// How resolved rule incidents are watched for a recurrence (`incidents.recovery_watch`).
    public var recoveryWatch = RecoveryWatchPolicy()
    /// Whether the person who submitted a post-mortem may approve it too
    /// (`incidents.post_mortem.self_approval`; by default another person reviews it).
    public var postMortemSelfApproval = false

    public init(initialResponder: String = "on_call_engineer", reopenWindow: Duration = .seconds(3600),
                postMortemSeverities: [String]? = nil, postMortemWithin: Duration = .seconds(48 * 3600),
                whenConditionClears: ConditionClearedAction = .stay, clearedHold: Duration = .seconds(300)) {
        self.initialResponder = initialResponder
        self.reopenWindow = reopenWindow
        self.postMortemSeverities = postMortemSeverities
        self.postMortemWithin = postMortemWithin
        self.whenConditionClears = whenConditionClears
        self.clearedHold = clearedHold
    }

    enum CodingKeys: String, CodingKey {
        case initialResponder, reopenWindow, postMortemSeverities, postMortemWithin, whenConditionClears, clearedHold, targets,
             recoveryWatch, postMortemSelfApproval
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(initialResponder: try c.decode(String.self, forKey: .initialResponder),
                  reopenWindow: try c.decode(Duration.self, forKey: .reopenWindow),
                  postMortemSeverities: try c.decodeIfPresent([String].self, forKey: .postMortemSeverities),
                  postMortemWithin: try c.decode(Duration.self, forKey: .postMortemWithin),
                  whenConditionClears: try c.decodeIfPresent(ConditionClearedAction.self, forKey: .whenConditionClears) ?? .stay,
                  clearedHold: try c.decodeIfPresent(Duration.self, forKey: .clearedHold) ?? .seconds(300))
        targets = try c.decodeIfPresent([ResponseTarget].self, forKey: .targets) ?? [.seedDetection]
        recoveryWatch = try c.decodeIfPresent(RecoveryWatchPolicy.self, forKey: .recoveryWatch) ?? RecoveryWatchPolicy()
        postMortemSelfApproval = try c.decodeIfPresent(Bool.self, forKey: .postMortemSelfApproval) ?? false
    }
}

/// `incidents.when_condition_clears.move_to`: where an open incident goes once the rule that
/// opened it has stopped firing and stayed clear for the hold time.
public enum ConditionClearedAction: String, Codable, Sendable, Equatable, CaseIterable {
    /// Record that the condition cleared; people move the incident on.
    case stay
    /// Move to `validating`: a responder confirms restoration with `vigil incidents resolve`
    /// (or sends it back to `investigating`). A condition that returns meanwhile sends it back
    /// to `investigating` itself, with an escalation (seed 004: "not fully restored").
    case validating
    /// Move to `validating` and resolve it, the verification being that the condition stayed
    /// clear for the hold time.
    case resolved
}
