import VigilCore

/// An alert as the API lists it: the alert, where it was routed and what mutes it.
public struct AlertSnapshot: Sendable, Equatable {
    public var alert: Alert
    public var fingerprint: String
    /// The route's name (`receivers: [{name}]`).
    public var receiver: String
    /// The group (one incident per group) and its labels.
    public var groupKey: String
    public var groupLabels: [String: String]
    /// Ids of the silences muting it (``AlertMuting``).
    public var silencedBy: [String]
    /// Fingerprints of the alerts inhibiting it.
    public var inhibitedBy: [String]

    public init(alert: Alert, receiver: String, groupKey: String, groupLabels: [String: String],
                silencedBy: [String] = [], inhibitedBy: [String] = []) {
        self.alert = alert
        self.fingerprint = alert.fingerprint
        self.receiver = receiver
        self.groupKey = groupKey
        self.groupLabels = groupLabels
        self.silencedBy = silencedBy
        self.inhibitedBy = inhibitedBy
    }

    /// Alertmanager's `status.state`.
    public var state: String { silencedBy.isEmpty && inhibitedBy.isEmpty ? "active" : "suppressed" }
}

/// Where the Alertmanager API hands alerts, implemented by the daemon's alert service.
public protocol AlertIntake: Sendable {
    /// Stores `alerts` durably (a crash after this returns loses none), then routes them.
    /// Throws when they could not be stored; the sender is answered 500 and may retry.
    func accept(_ alerts: [Alert]) async throws
    /// Every alert not yet resolved at the clock's now, with its routing and muting.
    func snapshot() async -> [AlertSnapshot]
}
