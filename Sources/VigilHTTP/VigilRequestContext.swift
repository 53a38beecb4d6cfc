import Hummingbird
import Logging

/// Who made a request, once an authentication middleware has said so.
///
/// The token middleware (issue 17, tokens) sets ``VigilRequestContext/principal``; until it runs,
/// every request is anonymous and controllers treat it as such.
public struct HTTPPrincipal: Sendable, Equatable {
    /// The person the credential belongs to (timeline entries are written under this name).
    public var person: String
    /// What the credential may do (`viewer`, `responder`, `admin`, `sender`).
    public var role: String

    public init(person: String, role: String) {
        self.person = person
        self.role = role
    }
}

/// The request context every Vigil route sees: Hummingbird's core storage plus who is asking
/// and how large a body this request may carry.
public struct VigilRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Set by the authentication middleware; nil means anonymous.
    public var principal: HTTPPrincipal?
    /// The body limit in force; ``BodyLimitMiddleware`` sets it from the configuration.
    public var maxBodyBytes: Int = 4 << 20

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
    }

    /// Hummingbird's own decoders collect bodies up to this size.
    public var maxUploadSize: Int { maxBodyBytes }
}
