/// One way to reach a person: a channel (`email`, `slack`, `sms`, …) and their address on it.
public struct ContactMethod: Codable, Sendable, Equatable, Hashable {
    public var channel: String
    public var address: String

    public init(channel: String, address: String) {
        self.channel = channel
        self.address = address
    }
}

/// The order a person's contact methods are tried in, by what the message is for.
///
/// Keys are a purpose (`page`, `escalation`, `assignment`, `status-reminder`,
/// `stakeholder-update`, `resolution`, `backlog`) or a group of them (`paging`: page,
/// escalation, assignment; `updates`: the others); a purpose's own entry wins over its group's,
/// and ``otherwise`` covers the rest.
public struct ContactOrder: Codable, Sendable, Equatable {
    /// Channel order by purpose or purpose group.
    public var byPurpose: [String: [String]]
    /// The order for every purpose not listed in ``byPurpose`` (nil: none of its own).
    public var otherwise: [String]?

    public init(byPurpose: [String: [String]] = [:], otherwise: [String]? = nil) {
        self.byPurpose = byPurpose
        self.otherwise = otherwise
    }

    /// The groups a purpose may be configured by, besides its own name.
    public static let groups = ["paging", "updates"]
    /// The purposes of messages to a person (the channel and mirror updates address nobody).
    public static let purposes = ["page", "escalation", "assignment", "status-reminder", "stakeholder-update",
                                  "resolution", "backlog", "action-item",
                                  "disaster-recovery"]

    /// The order for `purpose` (in `group`), nil when this order says nothing about it.
    public func order(purpose: String, group: String) -> [String]? {
        byPurpose[purpose] ?? byPurpose[group] ?? otherwise
    }
}

/// A channel that follows every incident's state without a person (`notifications.mirrors`):
/// an update is queued on it when an incident is opened, acknowledged, resolved or reopened, so
/// a notifier such as PagerDuty's can trigger, acknowledge and resolve with the incident id as
/// its dedup key.
public struct NotificationMirror: Codable, Sendable, Equatable {
    public var channel: String
    /// The address on that channel (a PagerDuty routing key's name, a webhook's label).
    public var recipient: String
    /// The least severe severity mirrored, as a code of the active ladder; nil mirrors every incident.
    public var minSeverity: String?

    public init(channel: String, recipient: String, minSeverity: String? = nil) {
        self.channel = channel
        self.recipient = recipient
        self.minSeverity = minSeverity
    }
}

/// The `notifications:` settings the incident manager decides with: which contact a person is
/// paged on first, and which channels mirror every incident.
public struct NotificationPolicy: Codable, Sendable, Equatable {
    /// The default order of contact methods (a person's own `contact_order` comes first).
    public var contactOrder: ContactOrder
    public var mirrors: [NotificationMirror]

    public init(contactOrder: ContactOrder = ContactOrder(), mirrors: [NotificationMirror] = []) {
        self.contactOrder = contactOrder
        self.mirrors = mirrors
    }
}
