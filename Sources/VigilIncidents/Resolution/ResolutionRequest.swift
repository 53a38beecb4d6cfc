/// What a person says when resolving (seed 000 `resolve_incident`).
public struct ResolutionRequest: Sendable, Equatable {
    /// How it was verified that the incident is truly resolved (required).
    public var verification: String
    /// What resolved it (required).
    public var summary: String
    public var rootCause: String?
    /// Key actions taken.
    public var actions: [String]
    /// Follow-up work to track (each becomes an action item).
    public var followUps: [String]

    public init(verification: String, summary: String, rootCause: String? = nil, actions: [String] = [],
                followUps: [String] = []) {
        self.verification = verification
        self.summary = summary
        self.rootCause = rootCause
        self.actions = actions
        self.followUps = followUps
    }
}
