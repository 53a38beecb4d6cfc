import VigilCore

/// An API token's secret as the holder sends it: `vgl_<id>_<secret>`, where `id` is 12 lowercase
/// hex digits (6 random bytes) that the daemon looks the token up by, and `secret` is 32 random
/// bytes in base64url (43 characters). Only ``hash`` is ever stored.
public struct APIToken: Sendable, Equatable, CustomStringConvertible {
    public static let prefix = "vgl_"
    public static let idLength = 12
    public static let secretLength = 43
    /// The whole token's length (4 + 12 + 1 + 43).
    public static let length = prefix.utf8.count + idLength + 1 + secretLength

    /// The public half: shown by `vigil tokens list`, named in logs and in `revoke`.
    public let id: String
    /// The whole token text, the only thing a client needs.
    public let text: String

    /// A fresh token with a new random id and secret.
    public static func generate() -> APIToken {
        let id = AccessCrypto.hex(AccessCrypto.randomBytes(idLength / 2))
        let secret = Base64URL.encode(AccessCrypto.randomBytes(32))
        return APIToken(id: id, text: prefix + id + "_" + secret)
    }

    /// Reads a token a client sent; nil unless it has exactly the shape ``generate()`` makes.
    public init?(parsing text: some StringProtocol) {
        let bytes = Array(text.utf8)
        guard bytes.count == Self.length, text.hasPrefix(Self.prefix) else { return nil }
        let idStart = Self.prefix.utf8.count
        let idEnd = idStart + Self.idLength
        guard bytes[idEnd] == UInt8(ascii: "_") else { return nil }
        let id = String(decoding: bytes[idStart..<idEnd], as: UTF8.self)
        guard AccessCrypto.fromHex(id) != nil else { return nil }
        guard let secret = Base64URL.decode(String(decoding: bytes[(idEnd + 1)...], as: UTF8.self)), secret.count == 32 else {
            return nil
        }
        self.init(id: id, text: String(decoding: bytes, as: UTF8.self))
    }

    private init(id: String, text: String) {
        self.id = id
        self.text = text
    }

    /// SHA-256 of the whole token, lowercase hex: the stored form. The secret has 256 bits of
    /// entropy, so a fast hash suffices (no password stretching needed) and keeps each request cheap.
    public var hash: String { AccessCrypto.hex(AccessCrypto.sha256(Array(text.utf8))) }

    /// Whether this token's hash equals `storedHash`, compared in constant time.
    public func matches(storedHash: String) -> Bool {
        guard let stored = AccessCrypto.fromHex(storedHash) else { return false }
        return AccessCrypto.constantTimeEqual(AccessCrypto.sha256(Array(text.utf8)), stored)
    }

    /// Never the secret: printing a token (in a log, an error) shows only its id.
    public var description: String { "token \(id)" }

    /// Whether `id` is shaped like a token id (for `revoke ID` and look-ups of hostile input).
    public static func isValidID(_ id: String) -> Bool {
        id.utf8.count == idLength && AccessCrypto.fromHex(id) != nil
    }
}

/// A token as the store keeps it: who it speaks for, in which role, and whether it still may.
public struct StoredAPIToken: Codable, Sendable, Equatable {
    public var id: String
    /// SHA-256 of the token text (``APIToken/hash``); the secret itself is never stored.
    public var hash: String
    public var role: AccessRole
    /// The person every change made with this token is attributed to.
    public var person: String
    public var createdAt: Timestamp
    public var createdBy: String
    public var expiresAt: Timestamp?
    public var revokedAt: Timestamp?

    public init(id: String, hash: String, role: AccessRole, person: String, createdAt: Timestamp, createdBy: String,
                expiresAt: Timestamp? = nil, revokedAt: Timestamp? = nil) {
        self.id = id
        self.hash = hash
        self.role = role
        self.person = person
        self.createdAt = createdAt
        self.createdBy = createdBy
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
    }

    /// `active`, `revoked` or `expired` at `now`.
    public func state(at now: Timestamp) -> String {
        if revokedAt != nil { return "revoked" }
        if let expiresAt, expiresAt <= now { return "expired" }
        return "active"
    }
}
