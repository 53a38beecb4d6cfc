import VigilCore

/// `rules.samples`: the samples the daemon recorded around rule incidents, for
/// `vigil rules test --replay incident:ID` and `vigil rules suggest`.
public struct RuleSamplesView: Codable, Sendable, Equatable {
    /// One incident with what its rule saw, from a lead-in before the condition first held until it cleared.
    public struct Incident: Codable, Sendable, Equatable {
        public var id: String
        public var title: String
        public var state: String
        public var source: String
        public var fingerprint: String?
        /// The reason it was dismissed as a false positive; nil for every other incident.
        public var falsePositive: String?
        /// Resolved, in post-mortem or closed (a dismissed incident is resolved).
        public var finished: Bool
        public var detectedAt: String
        /// When the recording stopped (the condition cleared); nil while it goes on.
        public var end: String?
        /// Some samples were not kept (`rules.recording.per_incident`, or the response's bound).
        public var truncated: Bool
        /// How many firing episodes of the rule joined the incident.
        public var episodes: Int
        /// NDJSON lines, one sample each, in time order (the format of `vigil rules test --replay FILE`).
        public var samples: [String]

        public init(id: String, title: String, state: String, source: String, fingerprint: String?, falsePositive: String?,
                    finished: Bool, detectedAt: String, end: String?, truncated: Bool, episodes: Int, samples: [String]) {
            self.id = id
            self.title = title
            self.state = state
            self.source = source
            self.fingerprint = fingerprint
            self.falsePositive = falsePositive
            self.finished = finished
            self.detectedAt = detectedAt
            self.end = end
            self.truncated = truncated
            self.episodes = episodes
            self.samples = samples
        }

        enum CodingKeys: String, CodingKey {
            case id, title, state, source, fingerprint, finished, end, truncated, episodes, samples
            case falsePositive = "false_positive"
            case detectedAt = "detected_at"
        }
    }

    /// The rule asked for, when one was.
    public var rule: String?
    public var incidents: [Incident]
    /// Samples were left out by the response's bound.
    public var truncated: Bool

    public init(rule: String?, incidents: [Incident], truncated: Bool) {
        self.rule = rule
        self.incidents = incidents
        self.truncated = truncated
    }
}
