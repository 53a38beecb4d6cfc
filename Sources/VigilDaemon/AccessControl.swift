import VigilControl
import Foundation
import VigilAccess
import VigilCore
import VigilStore

extension TokenView {
    init(_ r: APITokenRecord, now: Timestamp) {
        self.init(id: r.id, role: r.role, person: r.person,
                  state: r.revokedAt != nil ? "revoked" : (r.expiresAt.map { $0 <= now.nanoseconds } ?? false) ? "expired" : "active",
                  createdAt: Timestamp(nanoseconds: r.createdAt).rfc3339, createdBy: r.createdBy,
                  expiresAt: r.expiresAt.map { Timestamp(nanoseconds: $0).rfc3339 },
                  revokedAt: r.revokedAt.map { Timestamp(nanoseconds: $0).rfc3339 })
    }
}

/// Answers the access commands of the control socket (`tokens.create|list|revoke`,
/// `incidents.ack_link`) and gives the HTTP server what it checks requests with.
public struct AccessControl: Sendable {
    public static let commands = ["tokens.create", "tokens.list", "tokens.revoke", "incidents.ack_link"]
    /// Longest acknowledgement link lifetime: a link in an old mail should not still page-silence.
    public static let maximumLinkLifetime = Duration.seconds(30 * 86_400)
    public static let defaultLinkLifetime = Duration.seconds(86_400)

    let store: Store
    let clock: any VigilClock
    public let signer: AckLinkSigner
    let incidents: IncidentService?

    /// Loads (or makes, once) the link key in `stateDirectory`.
    public init(store: Store, clock: any VigilClock, stateDirectory: String, incidents: IncidentService?) throws {
        self.store = store
        self.clock = clock
        self.signer = AckLinkSigner(key: try AckLinkKey.loadOrCreate(directory: stateDirectory), clock: clock)
        self.incidents = incidents
    }

    public static func handles(_ command: String) -> Bool { commands.contains(command) }

    /// The signed acknowledgement links a page carries: one per person it is for, each valid for
    /// ``defaultLinkLifetime``, under `base` (``HTTPSettings/linkBase(hostName:)``); none for an
    /// incident that is closed or already acknowledged.
    public func pageLinks(for incident: Incident, people: [String], base: String) -> [PageAckLink] {
        guard incident.state.isOpen, incident.acknowledgedAt == nil else { return [] }
        return people.compactMap { person in
            guard let (link, token) = try? signer.sign(incidentID: incident.id, person: person,
                                                        lifetime: Self.defaultLinkLifetime) else { return nil }
            return PageAckLink(person: person, url: base + "/ack/" + token, expiresAt: link.expiresAt)
        }
    }

    /// Checks HTTP credentials against the stored tokens.
    public var authenticator: TokenAuthenticator {
        let store = self.store
        return TokenAuthenticator(clock: clock) { id in
            guard APIToken.isValidID(id), let r = try await store.token(id: id), let role = AccessRole(rawValue: r.role) else {
                return nil
            }
            return StoredAPIToken(id: r.id, hash: r.hash, role: role, person: r.person,
                                  createdAt: Timestamp(nanoseconds: r.createdAt), createdBy: r.createdBy,
                                  expiresAt: r.expiresAt.map(Timestamp.init(nanoseconds:)),
                                  revokedAt: r.revokedAt.map(Timestamp.init(nanoseconds:)))
        }
    }

    /// What `GET`/`POST /ack/{token}` do: the link is used up in the store, then the incident is
    /// acknowledged as the link's person with a note that says it came from a link.
    public var redemption: AckLinkRedemption {
        let store = self.store, clock = self.clock, incidents = self.incidents
        return AckLinkRedemption(signer: signer, consume: { link in
            try await store.consumeAckLinkNonce(link.nonce, incidentID: link.incidentID, person: link.person,
                                                expiresAt: link.expiresAt, now: clock.now())
        }, acknowledge: { link in
            guard let incidents else { throw ControlFailure("the incident manager is not running") }
            do {
                let incident = try await incidents.acknowledge(link.incidentID, actor: link.person,
                                                               note: "from a signed acknowledgement link")
                return "\(incident.id) (\(incident.title)) is acknowledged by \(link.person)."
            } catch let e as IncidentServiceError {
                throw ControlFailure(e.description)
            }
        })
    }

    /// Runs one access command. Tokens are managed only by root or the daemon's own user
    /// (`mayManageTokens`), not by every member of the control group: a token can outlive the
    /// group membership it was made with.
    func handle(_ r: ControlRequest, actor: String, mayManageTokens: Bool) async throws -> JSONValue {
        let now = clock.now()
        if r.command.hasPrefix("tokens."), !mayManageTokens {
            throw ControlFailure("\(r.command): only root or the daemon's user may manage API tokens")
        }
        switch r.command {
        case "tokens.create":
            let roleName = try r.string("role")
            guard let role = AccessRole(rawValue: roleName) else {
                throw ControlFailure("role \"\(roleName)\": expected one of "
                    + AccessRole.allCases.map(\.rawValue).joined(separator: ", "))
            }
            let person = try Self.person(try r.string("person"))
            // An agent's person is its host's name: it goes into labels and fingerprints.
            if role == .agent, !AgentName.isValid(person) {
                throw ControlFailure("person \"\(person)\": an agent token's person is the host's name: "
                    + "1 to \(AgentName.maximumLength) letters, digits, '.', '_' and '-'")
            }
            let expires = try Self.expiry(r.optionalString("expires"), now: now)
            let token = APIToken.generate()
            let record = APITokenRecord(id: token.id, hash: token.hash, role: role.rawValue, person: person,
                                        createdAt: now, createdBy: actor, expiresAt: expires)
            try await store.insertToken(record)
            return try JSONValue.encoding(CreatedTokenView(token: TokenView(record, now: now), secret: token.text))
        case "tokens.list":
            return try JSONValue.encoding(try await store.tokens().map { TokenView($0, now: now) })
        case "tokens.revoke":
            let id = try r.string("id")
            guard APIToken.isValidID(id), let record = try await store.revokeToken(id: id, at: now) else {
                throw ControlFailure.notFound("no token \(id) (see vigil tokens list)")
            }
            return try JSONValue.encoding(TokenView(record, now: now))
        case "incidents.ack_link":
            return try await ackLink(r, now: now)
        default:
            throw ControlFailure("unknown access command \"\(r.command)\"")
        }
    }

    private func ackLink(_ r: ControlRequest, now: Timestamp) async throws -> JSONValue {
        guard let incidents else { throw ControlFailure("the incident manager is not running") }
        let id = try r.string("id"), person = try r.string("person")
        let roster = await incidents.policy.roster.people.map(\.id)
        guard roster.contains(person) else {
            throw ControlFailure("person \(person): not a person in the roster (known: \(roster.joined(separator: ", ")))")
        }
        guard let incident = try await store.incident(id: id) else { throw ControlFailure("no incident \(id)") }
        guard incident.state.isOpen, incident.acknowledgedAt == nil else {
            throw ControlFailure("\(id) is \(incident.acknowledgedAt == nil ? incident.state.rawValue : "already acknowledged")")
        }
        var lifetime = Self.defaultLinkLifetime
        if let text = r.optionalString("ttl") {
            guard let d = DurationText.parse(text), d > .zero, d <= Self.maximumLinkLifetime else {
                throw ControlFailure("ttl \"\(text)\": expected a duration like \"4 hours\", at most 30 days")
            }
            lifetime = d
        }
        let (link, token) = try signer.sign(incidentID: id, person: person, lifetime: lifetime)
        return try JSONValue.encoding(AckLinkView(incident: id, person: person, expiresAt: link.expiresAt.rfc3339,
                                                  path: "/ack/\(token)"))
    }

    /// A token's person: what the timeline will show, so printable and short.
    static func person(_ text: String) throws(ControlFailure) -> String {
        let name = text.trimmingWhitespace()
        guard !name.isEmpty, name.utf8.count <= 128,
              name.unicodeScalars.allSatisfy({ !$0.properties.generalCategory.isControl }) else {
            throw ControlFailure("person \"\(text)\": expected a name of 1 to 128 printable characters")
        }
        return name
    }

    /// `--expires`: never (default), a duration from now (`90 days`), or an RFC 3339 time.
    static func expiry(_ text: String?, now: Timestamp) throws(ControlFailure) -> Timestamp? {
        guard let raw = text?.trimmingWhitespace(), !raw.isEmpty, raw != "never" else { return nil }
        if let t = RFC3339.parse(raw) {
            guard t > now else { throw ControlFailure("expires \"\(raw)\": that time has passed") }
            return t
        }
        guard let d = DurationText.parse(raw), d > .zero, d <= .seconds(100 * 365 * 86_400) else {
            throw ControlFailure("expires \"\(raw)\": expected never, a duration like \"90 days\" or an RFC 3339 time")
        }
        return now + d
    }
}

private extension Unicode.GeneralCategory {
    var isControl: Bool {
        switch self {
        case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .privateUse, .unassigned: true
        default: false
        }
    }
}

/// One acknowledgement link in a page: who it acknowledges as, and until when.
public struct PageAckLink: Sendable, Equatable {
    public var person: String
    public var url: String
    public var expiresAt: Timestamp

    var json: JSONValue {
        .object(["person": .string(person), "url": .string(url), "expires_at": .string(expiresAt.rfc3339)])
    }
}
