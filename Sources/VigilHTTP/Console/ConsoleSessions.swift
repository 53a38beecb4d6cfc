import Foundation
import Synchronization
import VigilAccess
import VigilCore

/// One signed-in browser: the token it signed in with (checked again on every request, so a
/// revoked or expired token ends the session at once), who that is, and the session's CSRF secret.
struct ConsoleSession: Sendable {
    var id: String
    var token: String
    var person: String
    var role: AccessRole
    var csrf: String
    var lastSeen: Timestamp
    var createdAt: Timestamp
    /// Opening order: breaks ties between sessions last used at the same instant.
    var serial: UInt64 = 0
}

/// The console's sessions, in memory: a restart signs everyone out (the token stays valid, so
/// signing in again is one paste). Bounded: at most `capacity` sessions, the least recently used
/// dropped first; a session unused for `idleLimit` or older than `lifetime` is gone.
final class ConsoleSessions: Sendable {
    static let cookieName = "vigil_session"
    private let sessions = Mutex<[String: ConsoleSession]>([:])
    private let serials = Atomic<UInt64>(0)
    let capacity: Int
    let idleLimit: Duration
    let lifetime: Duration
    let clock: any VigilClock

    init(clock: any VigilClock, capacity: Int = 10_000, idleLimit: Duration = .seconds(12 * 3600),
         lifetime: Duration = .seconds(7 * 24 * 3600)) {
        self.clock = clock
        self.capacity = capacity
        self.idleLimit = idleLimit
        self.lifetime = lifetime
    }

    /// Most sessions one token may hold; its oldest gives way to a new one.
    static let perToken = 20

    /// A new session for a checked token, or nil when the table is full of other tokens' live
    /// sessions: signing in never signs anyone else out.
    func open(token: String, person: String, role: AccessRole) -> ConsoleSession? {
        let now = clock.now()
        let serial = serials.add(1, ordering: .relaxed).newValue
        let session = ConsoleSession(id: Self.randomToken(), token: token, person: person, role: role,
                                     csrf: Self.randomToken(), lastSeen: now, createdAt: now, serial: serial)
        return sessions.withLock { all -> ConsoleSession? in
            let own = all.values.filter { $0.token == token }
            if own.count >= Self.perToken, let oldest = own.min(by: { ($0.lastSeen, $0.serial) < ($1.lastSeen, $1.serial) }) {
                all[oldest.id] = nil
            }
            if all.count >= capacity {
                all = all.filter { !self.isExpired($0.value, now: now) }
                guard all.count < capacity else { return nil }
            }
            all[session.id] = session
            return session
        }
    }

    /// The live session with this id (its last use is now), or nil.
    func touch(_ id: String) -> ConsoleSession? {
        let now = clock.now()
        return sessions.withLock { all -> ConsoleSession? in
            guard var session = all[id] else { return nil }
            if isExpired(session, now: now) {
                all[id] = nil
                return nil
            }
            session.lastSeen = now
            all[id] = session
            return session
        }
    }

    func close(_ id: String) { sessions.withLock { $0[id] = nil } }

    /// Whether the session is still open (no touch: a live stream does not keep a session alive).
    func isOpen(_ id: String) -> Bool {
        let now = clock.now()
        return sessions.withLock { all in all[id].map { !isExpired($0, now: now) } ?? false }
    }

    var count: Int { sessions.withLock { $0.count } }

    private func isExpired(_ s: ConsoleSession, now: Timestamp) -> Bool {
        now - s.lastSeen > idleLimit || now - s.createdAt > lifetime
    }

    /// 32 random bytes as URL-safe base64 (no padding): a session id or CSRF secret.
    static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// Compares two secrets in time independent of where they differ.
    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<x.count { diff |= x[i] ^ y[i] }
        return diff == 0
    }
}
