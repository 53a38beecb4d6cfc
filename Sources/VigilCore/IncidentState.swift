/// Where an incident is in the seed's response flow (004 "Incident Response Overview").
///
/// detected → classified → mobilised → containing → contained → investigating → remediating →
/// recovering → validating → resolved (or back to investigating when validation fails) →
/// postMortem → closed.
public enum IncidentState: String, CaseIterable, Codable, Sendable, CustomStringConvertible {
    case detected
    case classified
    case mobilised
    case containing
    case contained
    case investigating
    case remediating
    case recovering
    case validating
    case resolved
    case postMortem = "post-mortem"
    case closed

    /// An incident in one of these states still needs people.
    public var isOpen: Bool {
        switch self {
        case .resolved, .postMortem, .closed: false
        case .detected, .classified, .mobilised, .containing, .contained, .investigating,
             .remediating, .recovering, .validating: true
        }
    }

    public var description: String { rawValue }
}
