import VigilCore

/// Seed 004's "Team Mobilization" column: how many people a severity pulls in.
public enum TeamMobilisation: String, Sendable, Equatable, CaseIterable {
    /// "Full incident response team": commander, technical, communications, operations (+ security).
    case full
    /// "Core response team + specialists": commander, technical, communications and component experts.
    case coreWithSpecialists = "core response team + specialists"
    /// "Primary on-call engineer": one person commands and fixes.
    case primaryOnCall = "primary on-call engineer"
    /// "Scheduled resolution": nobody is paged.
    case scheduled

    /// The level's own column when it has one (seed 004's ladder); otherwise by position, so
    /// seed 000's ladder (which has no such column) mobilises the same way rung for rung.
    public init(level: SeverityLevel, rank: Int) {
        let text = (level.teamMobilisation ?? "").lowercased()
        if level.responseTime == nil || text.contains("scheduled") { self = .scheduled }
        else if text.contains("full") { self = .full }
        else if text.contains("core") || text.contains("specialist") { self = .coreWithSpecialists }
        else if text.contains("primary") || text.contains("on-call") { self = .primaryOnCall }
        else {
            switch rank {
            case 0: self = .full
            case 1: self = .coreWithSpecialists
            case 2: self = .primaryOnCall
            default: self = .scheduled
            }
        }
    }

    /// The seed's wording.
    public var description: String {
        switch self {
        case .full: "Full incident response team"
        case .coreWithSpecialists: "Core response team + specialists"
        case .primaryOnCall: "Primary on-call engineer"
        case .scheduled: "Scheduled resolution"
        }
    }
}
