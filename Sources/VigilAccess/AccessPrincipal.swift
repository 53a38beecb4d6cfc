/// Who is making a request, once the credentials are checked: the person every change is
/// attributed to (timeline actor), the role that bounds what they may do, and how they proved it.
public struct AccessPrincipal: Sendable, Equatable {
    public enum Source: String, Sendable, Equatable {
        case token
        /// A local sender without credentials, let in by `http.auth.loopback_anonymous: sender`.
        case anonymousLoopback = "anonymous-loopback"
        /// A signed acknowledgement link.
        case ackLink = "ack-link"
        /// No credentials on a route that needs none.
        case anonymous
    }

    /// The person (a roster id or a token's `--person`): the actor of every change this request makes.
    public var person: String
    public var role: AccessRole
    public var tokenID: String?
    public var source: Source

    public init(person: String, role: AccessRole, tokenID: String? = nil, source: Source) {
        self.person = person
        self.role = role
        self.tokenID = tokenID
        self.source = source
    }

    /// The name timeline entries carry for changes this principal makes.
    public var actor: String {
        switch source {
        case .token, .ackLink: person
        case .anonymousLoopback: "anonymous sender (loopback)"
        case .anonymous: "anonymous"
        }
    }

    static let anonymous = AccessPrincipal(person: "anonymous", role: .viewer, source: .anonymous)
}

/// What a request without credentials may do: `http.auth.loopback_anonymous`.
///
/// The default, `sender`, lets a Prometheus on the same host post alerts and heartbeats with no
/// credentials (as it does to an Alertmanager) — but only while the server listens on loopback
/// alone; with any other listen address nothing but `/-/healthy`, `/-/ready`, `/metrics`,
/// acknowledgement links and the signed Slack and PagerDuty callbacks answers without a token. Behind a reverse proxy on the same host, every
/// request comes from loopback: set `none` there.
public enum AnonymousAccess: String, Sendable, CaseIterable {
    case sender
    case none

    /// The principal an unauthenticated request gets, or nil when it gets none.
    public func principal(listenIsLoopback: Bool) -> AccessPrincipal? {
        guard listenIsLoopback, self == .sender else { return nil }
        return AccessPrincipal(person: "anonymous", role: .sender, source: .anonymousLoopback)
    }

    /// Whether `host` (an IP literal or `localhost`) is a loopback address: 127.0.0.0/8, ::1, localhost.
    public static func isLoopback(host: String) -> Bool {
        var h = Substring(host)
        if h.hasPrefix("["), h.hasSuffix("]") { h = h.dropFirst().dropLast() }
        if h == "localhost" || h == "::1" || h == "0:0:0:0:0:0:0:1" { return true }
        let octets = h.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4, octets.allSatisfy({ UInt8($0) != nil }) else { return false }
        return octets[0] == "127"
    }
}
