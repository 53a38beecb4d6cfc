/// The documented JSON form of a recorded change (`changes.record`, `changes.list`,
/// `vigil changes list --json`): a deploy posted to the API, or a change the daemon recorded
/// itself (configuration reload, plugin upgrade, plugin enabled or disabled).
public struct ChangeView: Codable, Sendable, Equatable {
    public var id: Int64
    /// RFC 3339: when the change happened.
    public var time: String
    /// `deploy`, `rollback`, `feature-flag`, `infrastructure`, `config-reload`, `plugin-upgrade`,
    /// `plugin-enabled`, `plugin-disabled`.
    public var kind: String
    public var component: String?
    public var subject: String
    public var summary: String
    public var actor: String
    public var detail: String?
    /// RFC 3339: when Vigil stored it.
    public var recordedAt: String
    /// Said when the component is not in the configured dependency map (the change is stored).
    public var warning: String?

    public init(id: Int64, time: String, kind: String, component: String?, subject: String, summary: String, actor: String,
                detail: String?, recordedAt: String, warning: String? = nil) {
        self.id = id
        self.time = time
        self.kind = kind
        self.component = component
        self.subject = subject
        self.summary = summary
        self.actor = actor
        self.detail = detail
        self.recordedAt = recordedAt
        self.warning = warning
    }
}
