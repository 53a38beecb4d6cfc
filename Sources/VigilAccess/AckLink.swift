import VigilCore

/// A signed acknowledgement link's content: acknowledge `incidentID` as `person`, until `expiresAt`,
/// once (`nonce`). Notifications carry it as `/ack/<token>`; the token is
/// `v1.<incident>.<person>.<expiry>.<nonce>.<mac>` — incident and person in base64url, expiry in
/// Unix seconds, a 16-byte random nonce and HMAC-SHA256 over everything before the last dot, all
/// URL-safe, so it survives mail clients and chat previews unencoded.
public struct AckLink: Sendable, Equatable {
    public var incidentID: String
    public var person: String
    /// Whole seconds: the link's text carries seconds, and a link must read back exactly as signed.
    public var expiresAt: Timestamp
    /// base64url of 16 random bytes: what makes the link single use (the store records used nonces).
    public var nonce: String

    /// Longest token accepted; anything longer is refused before any work.
    public static let maximumTokenLength = 1024
    static let maximumFieldBytes = 256

    public init(incidentID: String, person: String, expiresAt: Timestamp, nonce: String) {
        self.incidentID = incidentID
        self.person = person
        self.expiresAt = expiresAt
        self.nonce = nonce
    }
}

/// Why a link is refused. Tampered and malformed read the same to the holder on purpose.
public enum AckLinkError: Error, Sendable, Equatable, CustomStringConvertible {
    case malformed
    case badSignature
    case expired(Timestamp)
    /// Already used once (single use).
    case used
    case tooLong(field: String)

    public var description: String {
        switch self {
        case .malformed, .badSignature: "this acknowledgement link is not valid (it may have been cut or altered)"
        case .expired(let at): "this acknowledgement link expired at \(at.rfc3339)"
        case .used: "this acknowledgement link was already used"
        case .tooLong(let field): "\(field) is longer than \(AckLink.maximumFieldBytes) bytes"
        }
    }
}

/// Signs and checks acknowledgement links with the daemon's link key (``AckLinkKey``).
public struct AckLinkSigner: Sendable {
    let key: [UInt8]
    let clock: any VigilClock

    public init(key: [UInt8], clock: any VigilClock) {
        self.key = key
        self.clock = clock
    }

    /// A new link valid for `lifetime` from now (whole seconds, rounded down).
    public func sign(incidentID: String, person: String, lifetime: Duration) throws(AckLinkError) -> (link: AckLink, token: String) {
        guard incidentID.utf8.count <= AckLink.maximumFieldBytes else { throw .tooLong(field: "incident id") }
        guard person.utf8.count <= AckLink.maximumFieldBytes else { throw .tooLong(field: "person") }
        let seconds = (clock.now() + lifetime).nanoseconds / 1_000_000_000
        let link = AckLink(incidentID: incidentID, person: person, expiresAt: Timestamp(nanoseconds: seconds * 1_000_000_000),
                           nonce: Base64URL.encode(AccessCrypto.randomBytes(16)))
        let body = Self.body(link, seconds: seconds)
        return (link, body + "." + Base64URL.encode(AccessCrypto.hmacSHA256(key: key, message: Array(body.utf8))))
    }

    /// The link a token stands for, if its signature is this daemon's and it has not expired.
    /// Whether it was already used is the store's to say (``AckLinkError/used``).
    public func verify(_ token: String) throws(AckLinkError) -> AckLink {
        guard token.utf8.count <= AckLink.maximumTokenLength else { throw .malformed }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "v1", let mac = Base64URL.decode(parts[5]), mac.count == 32 else {
            throw .malformed
        }
        let body = parts[0..<5].joined(separator: ".")
        // The signature is checked before anything else is believed.
        guard AccessCrypto.constantTimeEqual(AccessCrypto.hmacSHA256(key: key, message: Array(body.utf8)), mac) else {
            throw .badSignature
        }
        guard let incident = Base64URL.decode(parts[1]), let person = Base64URL.decode(parts[2]),
              let incidentID = String(validating: incident, as: UTF8.self),
              let personName = String(validating: person, as: UTF8.self),
              let seconds = Int64(parts[3]), seconds >= 0, seconds < Int64.max / 1_000_000_000,
              let nonce = Base64URL.decode(parts[4]), nonce.count == 16 else { throw .malformed }
        let expiry = Timestamp(nanoseconds: seconds * 1_000_000_000)
        guard clock.now() < expiry else { throw .expired(expiry) }
        return AckLink(incidentID: incidentID, person: personName, expiresAt: expiry, nonce: String(parts[4]))
    }

    static func body(_ link: AckLink, seconds: Int64) -> String {
        ["v1", Base64URL.encode(Array(link.incidentID.utf8)), Base64URL.encode(Array(link.person.utf8)), String(seconds),
         link.nonce].joined(separator: ".")
    }
}
