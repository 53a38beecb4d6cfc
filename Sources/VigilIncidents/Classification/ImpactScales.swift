/// Seed 000 `classify_incident` step 2: the impact on user experience.
public enum UserImpact: String, CaseIterable, Sendable, Equatable {
    case none, minor, major, critical

    /// Reads `none`, `minor`, `major`, `critical` in any case.
    public init?(text: String) {
        self.init(rawValue: ImpactText.normalise(text))
    }

    /// The severity name seed 000's table gives this impact (`Critical` for critical, …).
    public var severityName: String {
        switch self {
        case .critical: "Critical"
        case .major: "High"
        case .minor: "Medium"
        case .none: "Low"
        }
    }
}

/// Seed 000 `classify_incident` step 3: how many users are affected.
public enum UserScope: String, CaseIterable, Sendable, Equatable {
    case none, individual, group, all

    /// Reads the short words and the seed's column text (`All users`, `Group of users`, `Individual users`).
    public init?(text: String) {
        let t = ImpactText.normalise(text)
        switch t {
        case "none", "no users": self = .none
        case "individual", "individual users", "individuals", "single user": self = .individual
        case "group", "group of users", "groups": self = .group
        case "all", "all users", "everyone": self = .all
        default: return nil
        }
    }

    /// Seed 000's row for this scope: `All users` is Critical, `Group of users` High, …
    public var severityName: String {
        switch self {
        case .all: "Critical"
        case .group: "High"
        case .individual: "Medium"
        case .none: "Low"
        }
    }
}

/// Seed 000 `classify_incident` step 4: how much of the service works.
public enum ServiceImpact: String, CaseIterable, Sendable, Equatable {
    case none
    case degraded
    case partialOutage = "partial outage"
    case completeOutage = "complete outage"

    /// Reads `degraded`, `partial outage`, `complete outage` (any case, `-`/`_` for spaces) and `none`.
    public init?(text: String) {
        let t = ImpactText.normalise(text)
        switch t {
        case "none": self = .none
        case "degraded": self = .degraded
        case "partial", "partial outage": self = .partialOutage
        case "complete", "complete outage", "outage", "full outage": self = .completeOutage
        default: return nil
        }
    }

    /// Seed 000's row for this service impact: `Complete Outage` is Critical, …
    public var severityName: String {
        switch self {
        case .completeOutage: "Critical"
        case .partialOutage: "High"
        case .degraded: "Medium"
        case .none: "Low"
        }
    }
}

enum ImpactText {
    /// Seed 000's severity names, most severe first; each scale above maps onto them in order.
    static let names = ["Critical", "High", "Medium", "Low"]

    static func normalise(_ text: String) -> String {
        String(text.lowercased().map { $0 == "-" || $0 == "_" ? " " : $0 }).trimmingWhitespace()
    }
}
