/// A runbook (seed 000 "Runbooks"): the ordered procedure for an incident type. Each step is a
/// containment action the daemon knows by name, or a manual check a responder ticks off.
public struct Runbook: Codable, Sendable, Equatable {
    public enum Step: Codable, Sendable, Equatable {
        /// A containment action (`backup_current_state`, …).
        case action(String)
        /// Something a person checks or does, in their words.
        case check(String)

        /// `action NAME` or the check's text.
        public var text: String {
            switch self {
            case .action(let name): "action \(name)"
            case .check(let text): text
            }
        }

        public var kind: String {
            switch self {
            case .action: "action"
            case .check: "check"
            }
        }
    }

    /// Its file name without `.yaml` (`performance-degradation`), which incident types name.
    public var name: String
    public var title: String
    /// Incident types this runbook is for.
    public var incidentTypes: [String]
    public var steps: [Step]
    /// Where it was loaded from.
    public var file: String

    public init(name: String, title: String, incidentTypes: [String] = [], steps: [Step], file: String = "") {
        self.name = name
        self.title = title
        self.incidentTypes = incidentTypes
        self.steps = steps
        self.file = file
    }
}
