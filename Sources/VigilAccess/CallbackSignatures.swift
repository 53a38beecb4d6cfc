import Synchronization
import VigilCore

/// Why a callback from Slack or PagerDuty is refused before anything in it is read: answered 401
/// and logged with this reason. The text names no secret and no expected signature.
public enum CallbackSignatureError: Error, Sendable, Equatable, CustomStringConvertible {
    case missingHeader(String)
    case malformedHeader(String)
    /// The request's timestamp is this far from the daemon's clock (negative: in the future).
    case stale(seconds: Int64)
    case badSignature
    /// A request with this signature was already accepted within the window.
    case replayed
    /// More requests were accepted within the window than the replay memory holds.
    case replayMemoryFull

    public var description: String {
        switch self {
        case .missingHeader(let name): "no \(name) header"
        case .malformedHeader(let name): "the \(name) header is malformed"
        case .stale(let s):
            s >= 0 ? "the request timestamp is \(s) s old, more than the \(Self.windowSeconds) s allowed"
                : "the request timestamp is \(-s) s in the future, more than the \(Self.windowSeconds) s allowed"
        case .badSignature: "the signature does not match the body under the configured secret"
        case .replayed: "a request with this signature was already accepted (replay)"
        case .replayMemoryFull: "too many signed requests within the replay window; refused until older ones expire"
        }
    }

    static var windowSeconds: Int64 { SlackRequestVerifier.window.nanoseconds / 1_000_000_000 }
}

/// Slack's request signing, version 0: `X-Slack-Signature: v0=<hex HMAC-SHA256(secret,
/// "v0:" + X-Slack-Request-Timestamp + ":" + raw body)>`. The timestamp must be within
/// ``window`` of the daemon's clock, either way, and a signature is accepted once: Slack's
/// signature covers the timestamp, so within the window a replay is recognised by its signature
/// alone, and after it by its age.
public struct SlackRequestVerifier: Sendable {
    /// Slack's documented tolerance.
    public static let window = Duration.seconds(300)

    let secret: [UInt8]
    let clock: any VigilClock
    let accepted: ReplayMemory

    public init(signingSecret: [UInt8], clock: any VigilClock, replayCapacity: Int = ReplayMemory.defaultCapacity) {
        self.secret = signingSecret
        self.clock = clock
        self.accepted = ReplayMemory(capacity: replayCapacity)
    }

    /// Checks one request's headers against its raw body; returns normally only for a fresh,
    /// authentic request, which it then remembers until its timestamp leaves the window.
    public func verify(timestamp: String?, signature: String?, body: [UInt8]) throws(CallbackSignatureError) {
        guard let timestamp else { throw .missingHeader("X-Slack-Request-Timestamp") }
        guard let signature else { throw .missingHeader("X-Slack-Signature") }
        // Unix seconds: ten digits until the year 2286, and a Timestamp holds nanoseconds until 2262.
        guard (1...10).contains(timestamp.utf8.count), timestamp.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
              let seconds = Int64(timestamp), seconds < Int64.max / 1_000_000_000
        else { throw .malformedHeader("X-Slack-Request-Timestamp") }
        guard signature.utf8.count == 67, signature.hasPrefix("v0="),
              let mac = AccessCrypto.fromHex(signature.dropFirst(3).lowercased())
        else { throw .malformedHeader("X-Slack-Signature") }
        let now = clock.now()
        let sent = Timestamp(nanoseconds: seconds * 1_000_000_000)
        let age = now.nanoseconds &- sent.nanoseconds
        guard age.magnitude <= Self.window.nanoseconds.magnitude else { throw .stale(seconds: age / 1_000_000_000) }
        let base = Array("v0:\(timestamp):".utf8) + body
        // The signature is checked before the request is remembered: only authentic requests take room.
        guard AccessCrypto.constantTimeEqual(AccessCrypto.hmacSHA256(key: secret, message: base), mac) else {
            throw .badSignature
        }
        // Keyed by the signature's bytes, so one signature spelled in other letter cases is the same replay.
        switch accepted.admit(signature.lowercased(), until: sent + Self.window, now: now) {
        case .new: return
        case .seen: throw .replayed
        case .full: throw .replayMemoryFull
        }
    }
}

/// PagerDuty's webhook signatures (v3): `X-PagerDuty-Signature: v1=<hex HMAC-SHA256(secret, raw
/// body)>`, several comma-separated while PagerDuty rotates a subscription's secret; the request is
/// authentic when any `v1` signature matches. PagerDuty signs no timestamp: the payload's
/// `occurred_at` bounds replays instead (see `CallbacksController`).
public struct PagerDutySignatureVerifier: Sendable {
    /// Most signatures one header may carry (PagerDuty sends one, two during a rotation).
    public static let maximumSignatures = 8

    let secret: [UInt8]

    public init(webhookSecret: [UInt8]) { self.secret = webhookSecret }

    public func verify(header: String?, body: [UInt8]) throws(CallbackSignatureError) {
        let name = "X-PagerDuty-Signature"
        guard let header else { throw .missingHeader(name) }
        guard header.utf8.count <= 80 * Self.maximumSignatures else { throw .malformedHeader(name) }
        let expected = AccessCrypto.hmacSHA256(key: secret, message: body)
        var matched = false
        var count = 0
        for part in header.split(separator: ",", omittingEmptySubsequences: true) {
            let item = part.trimmingWhitespace()
            // Other versions may appear one day; only v1 is understood and only v1 can match.
            guard item.hasPrefix("v1=") else { continue }
            count += 1
            guard count <= Self.maximumSignatures, let mac = AccessCrypto.fromHex(item.dropFirst(3).lowercased()), mac.count == 32 else {
                throw .malformedHeader(name)
            }
            // Every signature is compared, matched or not: the time taken says nothing about which one matched.
            if AccessCrypto.constantTimeEqual(expected, mac) { matched = true }
        }
        guard count > 0 else { throw .malformedHeader(name) }
        guard matched else { throw .badSignature }
    }
}

/// The signatures accepted within a replay window, each kept until it expires: bounded, and when
/// full of unexpired entries it refuses new ones rather than forget one (forgetting would let that
/// request be replayed). Only requests with a valid signature are admitted, so only the holder of
/// the secret can fill it.
public final class ReplayMemory: Sendable {
    /// Slack sends a few requests per button press; 8192 within five minutes is about 27 a second.
    public static let defaultCapacity = 8192

    public enum Admission: Sendable, Equatable {
        case new
        case seen
        case full
    }

    private let entries = Mutex<[String: Timestamp]>([:])
    let capacity: Int

    public init(capacity: Int = ReplayMemory.defaultCapacity) { self.capacity = max(1, capacity) }

    /// Records `key` until `expiry`, unless it is already recorded (and not yet expired).
    public func admit(_ key: String, until expiry: Timestamp, now: Timestamp) -> Admission {
        entries.withLock { entries in
            if let kept = entries[key], kept >= now { return .seen }
            if entries.count >= capacity {
                entries = entries.filter { $0.value >= now }
                guard entries.count < capacity else { return .full }
            }
            entries[key] = expiry
            return .new
        }
    }

    public var count: Int { entries.withLock { $0.count } }
}
