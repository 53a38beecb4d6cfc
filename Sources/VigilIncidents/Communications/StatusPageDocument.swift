import VigilCore

/// The public status page as a document: the daemon writes it as `status-page.json` in its
/// state folder after every change that touches a user-impacting incident, and an HTTP front
/// (or any web server) serves it. It shows open user-impacting incidents and those resolved in
/// the last 24 hours, each with its public updates, newest incident first.
public struct StatusPageDocument: Codable, Sendable, Equatable {
    public struct Update: Codable, Sendable, Equatable {
        public var time: String
        public var status: String
        public var message: String
    }

    public struct Entry: Codable, Sendable, Equatable {
        public var id: String
        public var title: String
        /// `Investigating`, `Contained`, `Resolving`, `Resolved`.
        public var status: String
        /// `degraded_performance`, `partial_outage`, `major_outage`.
        public var impact: String
        public var severity: String
        public var startedAt: String
        public var updatedAt: String
        public var resolvedAt: String?
        /// Oldest first.
        public var updates: [Update]
    }

    public var generatedAt: String
    /// The worst impact among open incidents, `operational` when there is none.
    public var overall: String
    public var incidents: [Entry]

    /// How long resolved incidents stay on the page.
    public static let resolvedRetention: Duration = .seconds(24 * 3600)

    /// Builds the page from incidents and their timelines (only `status-page` entries are used).
    /// `retention`: how long a resolved incident stays listed (the file keeps 24 hours; the
    /// console's `/status` shows 90 days).
    public static func build(_ incidents: [(Incident, [TimelineEntry])], now: Timestamp,
                             retention: Duration = resolvedRetention) -> StatusPageDocument {
        var entries: [(Timestamp, Entry)] = []
        var overall = PublicImpact.operational
        for (incident, timeline) in incidents where incident.classification?.userImpacting == true {
            let open = incident.state.isOpen
            if !open {
                guard let resolved = incident.resolvedAt ?? incident.closedAt,
                      now - resolved <= retention else { continue }
            }
            let impact = PublicImpact(incident)
            if open { overall = max(overall, impact) }
            let updates = timeline.filter { $0.kind == .statusPage }.map {
                Update(time: $0.time.rfc3339, status: $0.data["public_status"] ?? "",
                       message: $0.data["public_message"] ?? $0.message)
            }
            entries.append((incident.createdAt, Entry(
                id: incident.id, title: incident.title, status: PublicStatus(incident.state).rawValue,
                impact: impact.rawValue, severity: incident.severity.code, startedAt: incident.detectedAt.rfc3339,
                updatedAt: (timeline.last(where: { $0.kind == .statusPage })?.time ?? incident.updatedAt).rfc3339,
                resolvedAt: incident.resolvedAt?.rfc3339, updates: updates)))
        }
        return StatusPageDocument(generatedAt: now.rfc3339, overall: overall.rawValue,
                                  incidents: entries.sorted { $0.0 > $1.0 }.map(\.1))
    }
}

extension StatusPageDocument {
    /// Each component's public state, in the order of `components`: the worst impact of the
    /// open, user-impacting incidents that name it (`operational` when none does). Only the
    /// given names are listed: an incident (an alert's labels) cannot add a public component.
    public static func componentStates(_ incidents: [Incident], components: [String]) -> [(component: String, impact: PublicImpact)] {
        var worst: [String: PublicImpact] = [:]
        for incident in incidents where incident.state.isOpen && incident.classification?.userImpacting == true {
            let impact = PublicImpact(incident)
            for c in incident.classification?.affectedComponents ?? [] {
                worst[c] = max(worst[c] ?? .operational, impact)
            }
        }
        return components.map { ($0, worst[$0] ?? .operational) }
    }
}
