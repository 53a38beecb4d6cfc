import Foundation
import VigilAccess
import VigilControl
import VigilCore
import VigilIncidents

/// Everything the console needs from the rest of the daemon, as closures the composition root
/// fills in: the console is one more client of the command model (``ControlRequest``), run
/// under the signed-in person, plus the public status page's data and a feed of changes.
public struct ConsoleServices: Sendable {
    /// Runs one command as `person` with `role`; the console has already checked that the role
    /// may (``ConsoleAccess``).
    public var execute: @Sendable (ControlRequest, _ person: String, _ role: AccessRole) async -> ControlResponse
    /// Checks a presented API token (`vgl_…`): the principal, or why not.
    public var authenticate: @Sendable (String) async -> TokenAuthenticator.Outcome
    /// The public status page's incidents: the newest incidents with public impact, open or
    /// resolved since `since`, each with its public updates (bounded by the daemon).
    public var publicIncidents: @Sendable (_ since: Timestamp) async throws -> [(Incident, [TimelineEntry])]
    /// The components the public page lists (configured, plus those incidents name).
    public var components: @Sendable () async -> [String]
    /// The names the forms offer: severity levels, roles, roster people and rotations.
    public var directory: @Sendable () async -> ConsoleDirectory
    /// The clock of SLA countdowns, sessions and the status page.
    public var clock: any VigilClock
    /// The console's title (`http.console.title`, default "Vigil").
    public var title: String
    /// Cookies get `Secure` (the server speaks TLS, or sits behind a TLS proxy).
    public var secureCookies: Bool

    public init(execute: @escaping @Sendable (ControlRequest, String, AccessRole) async -> ControlResponse,
                authenticate: @escaping @Sendable (String) async -> TokenAuthenticator.Outcome,
                publicIncidents: @escaping @Sendable (Timestamp) async throws -> [(Incident, [TimelineEntry])],
                components: @escaping @Sendable () async -> [String] = { [] },
                directory: @escaping @Sendable () async -> ConsoleDirectory = { ConsoleDirectory() },
                clock: any VigilClock, title: String = "Vigil", secureCookies: Bool = false) {
        self.execute = execute
        self.authenticate = authenticate
        self.publicIncidents = publicIncidents
        self.components = components
        self.directory = directory
        self.clock = clock
        self.title = title
        self.secureCookies = secureCookies
    }
}

/// What a role may run from the console: the same table the HTTP API's routes follow
/// (``AccessPolicy``), by command instead of by path.
public enum ConsoleAccess {
    public static let reads: Set<String> = [
        "status", "incidents.list", "incidents.count", "incidents.show", "incidents.timeline", "runbooks.list",
        "runbooks.show", "oncall", "oncall.schedule", "oncall.overrides", "actions.list", "actions.show",
        "actions.catalog", "plugins.list", "plugins.show", "silences.list", "silences.preview", "report.response",
        "postmortem.show", "actionitems.list", "agents.list",
    ]
    public static let silenceChanges: Set<String> = ["silences.add", "silences.expire"]
    public static let adminChanges: Set<String> = ["plugins.enable", "plugins.disable", "incidents.ack_link"]

    /// The operation running `command` is.
    public static func operation(_ command: String) -> AccessOperation {
        if reads.contains(command) { return .read }
        if silenceChanges.contains(command) { return .manageSilences }
        if adminChanges.contains(command) { return .administer }
        if command.hasPrefix("incidents.") || command.hasPrefix("actions.") || command.hasPrefix("runbooks.")
            || command.hasPrefix("oncall.") || command.hasPrefix("postmortem.") || command.hasPrefix("actionitems.") {
            return .respond
        }
        return .administer
    }

    public static func allows(_ role: AccessRole, _ command: String) -> Bool {
        AccessPolicy.allows(role, operation(command))
    }
}

/// What the console's forms offer to choose from, as the configuration in force says.
public struct ConsoleDirectory: Sendable {
    public struct Choice: Sendable, Equatable {
        public var id: String
        public var name: String
        public init(id: String, name: String) {
            self.id = id
            self.name = name
        }
    }
    /// The active ladder's levels, most severe first (`P0` "Critical", …).
    public var severities: [Choice]
    public var roles: [Choice]
    public var people: [Choice]
    public var rotations: [String]

    public init(severities: [Choice] = [], roles: [Choice] = [], people: [Choice] = [], rotations: [String] = []) {
        self.severities = severities
        self.roles = roles
        self.people = people
        self.rotations = rotations
    }
}
