/// Something that changed on the system an incident may have followed: a deploy posted to the
/// API, a configuration reload, a plugin upgraded, enabled or disabled. Root-cause help ranks
/// these against an incident (Docs/root-cause.md); containment actions are read from the action
/// table instead of being copied here.
public struct ChangeRecord: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        /// A release rolled out (posted by a deploy pipeline).
        case deploy
        /// A release rolled back (posted).
        case rollback
        /// A feature flag or runtime setting switched (posted).
        case featureFlag = "feature-flag"
        /// Infrastructure changed: a migration, a resize, a network change (posted).
        case infrastructure
        /// `vigild` read its configuration again (recorded by the daemon).
        case configReload = "config-reload"
        /// A plugin's manifest or executable changed between two starts (recorded by the daemon).
        case pluginUpgrade = "plugin-upgrade"
        /// `vigil plugins enable` (recorded by the daemon).
        case pluginEnabled = "plugin-enabled"
        /// `vigil plugins disable` (recorded by the daemon).
        case pluginDisabled = "plugin-disabled"

        /// Kinds a sender may post (`changes.record`); the rest only the daemon records, so a
        /// deploy hook cannot pretend to be a configuration reload.
        public static let postable: [Kind] = [.deploy, .rollback, .featureFlag, .infrastructure]

        /// How a hypothesis names it: "deploy", "configuration reload".
        public var phrase: String {
            switch self {
            case .deploy: "deploy"
            case .rollback: "rollback"
            case .featureFlag: "feature-flag change"
            case .infrastructure: "infrastructure change"
            case .configReload: "configuration reload"
            case .pluginUpgrade: "plugin upgrade"
            case .pluginEnabled: "plugin enabled"
            case .pluginDisabled: "plugin disabled"
            }
        }
    }

    /// Assigned by the store.
    public var id: Int64?
    /// When the change happened (a deploy hook may report one that finished minutes ago).
    public var time: Timestamp
    public var kind: Kind
    /// The component it changed; nil for a daemon-wide change (a configuration reload).
    public var component: String?
    /// What changed: a release, a plugin's name, the configuration file.
    public var subject: String
    /// One line for people.
    public var summary: String
    /// Who made the change (the API token's person, the plugin command's caller, `SIGHUP`).
    public var actor: String
    /// More, when there is more (the configuration sections that changed, old and new digests).
    public var detail: String?
    /// When Vigil stored it.
    public var recordedAt: Timestamp

    public init(id: Int64? = nil, time: Timestamp, kind: Kind, component: String? = nil, subject: String,
                summary: String, actor: String, detail: String? = nil, recordedAt: Timestamp) {
        self.id = id
        self.time = time
        self.kind = kind
        self.component = component
        self.subject = subject
        self.summary = summary
        self.actor = actor
        self.detail = detail
        self.recordedAt = recordedAt
    }
}

/// The limits a posted change is checked against: it comes from outside (a deploy hook with a
/// token), so every field is bounded and the table it grows is capped.
public enum ChangeLimits {
    public static let componentBytes = 100
    public static let subjectBytes = 200
    public static let summaryBytes = 500
    public static let detailBytes = 4000
    /// A change older than this is history, not a cause (and a typo in the year).
    public static let maximumAge: Duration = .seconds(30 * 86_400)
    /// Clocks drift; a deploy hook's clock a few minutes ahead is not an error.
    public static let maximumAhead: Duration = .seconds(300)
    /// Rows kept: the oldest go first (a hook in a loop must not fill the disk).
    public static let maximumRows = 10_000
    /// Rows older than this are deleted as new ones arrive.
    public static let retention: Duration = .seconds(90 * 86_400)

    /// A component name: letters, digits, spaces and `_ . - / :`, 1 to 100 bytes, starting with a
    /// letter or digit (the names incident types and labels use: `api`, `terminal interface`).
    public static func isValidComponent(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= componentBytes, let first = name.unicodeScalars.first,
              first.properties.isAlphabetic || ("0"..."9").contains(first) else { return false }
        return name.unicodeScalars.allSatisfy {
            $0.properties.isAlphabetic || ("0"..."9").contains($0) || " _.-/:".unicodeScalars.contains($0)
        }
    }

    /// Why a text field is refused, or nil: too long, or holding control characters (one line;
    /// `detail` may hold newlines and tabs).
    public static func problem(_ field: String, _ text: String, maxBytes: Int, multiline: Bool = false) -> String? {
        if text.utf8.count > maxBytes { return "\(field): \(text.utf8.count) bytes; at most \(maxBytes)" }
        let bad = text.unicodeScalars.contains {
            $0.properties.generalCategory == .control && !(multiline && ($0 == "\n" || $0 == "\t"))
        }
        return bad ? "\(field): contains control characters" : nil
    }
}
