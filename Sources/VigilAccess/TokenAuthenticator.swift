import VigilCore

/// Checks the credentials of one HTTP request against the stored tokens.
///
/// The look-up is a closure so this type stays free of the store: the daemon hands it the
/// store's `token(id:)`; tests hand it a dictionary.
public struct TokenAuthenticator: Sendable {
    public typealias Lookup = @Sendable (String) async throws -> StoredAPIToken?

    /// What checking a request's credentials found.
    public enum Outcome: Sendable, Equatable {
        /// No `Authorization` header.
        case none
        case valid(AccessPrincipal)
        /// Credentials were presented but refused; the text is safe to show the client.
        case refused(String)
    }

    let lookup: Lookup
    let clock: any VigilClock

    public init(clock: any VigilClock, lookup: @escaping Lookup) {
        self.clock = clock
        self.lookup = lookup
    }

    /// Reads `Authorization: Bearer vgl_…` (the scheme is case-insensitive, as RFC 7235 says).
    public func authenticate(authorization: String?) async -> Outcome {
        guard let header = authorization else { return .none }
        // Headers are bounded by the server; the token check needs only the first 128 bytes.
        guard header.utf8.count <= 1024 else { return .refused("the Authorization header is too long") }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            return .refused("expected \"Authorization: Bearer vgl_…\"")
        }
        guard let token = APIToken(parsing: String(parts[1]).trimmingWhitespace()) else {
            return .refused("the bearer token is not a Vigil API token (vgl_…)")
        }
        let stored: StoredAPIToken?
        do { stored = try await lookup(token.id) } catch { return .refused("tokens cannot be checked right now") }
        // Unknown id and wrong secret read the same, so a guesser cannot tell which ids exist.
        guard let stored, token.matches(storedHash: stored.hash) else { return .refused("invalid token") }
        if stored.revokedAt != nil { return .refused("token \(stored.id) was revoked") }
        if let expiry = stored.expiresAt, expiry <= clock.now() {
            return .refused("token \(stored.id) expired at \(expiry.rfc3339)")
        }
        return .valid(AccessPrincipal(person: stored.person, role: stored.role, tokenID: stored.id, source: .token))
    }

    /// Checks a request end to end: credentials, anonymous access, the role table.
    public func decide(method: String, path: String, authorization: String?, anonymous: AnonymousAccess,
                       listenIsLoopback: Bool) async -> AccessDecision {
        let operation = AccessPolicy.operation(method: method, path: path)
        switch await authenticate(authorization: authorization) {
        case .valid(let principal):
            return AccessPolicy.decide(operation, principal: principal)
        case .refused(let why):
            // A public route answers even when stale credentials come along (a scraper with an old token).
            return AccessPolicy.decide(operation, principal: nil, credentialProblem: operation == .open ? nil : why)
        case .none:
            let fallback = anonymous.principal(listenIsLoopback: listenIsLoopback)
            if let fallback, !AccessPolicy.allows(fallback.role, operation) {
                return .unauthenticated("this request needs an API token (Authorization: Bearer vgl_…)")
            }
            return AccessPolicy.decide(operation, principal: fallback)
        }
    }
}
