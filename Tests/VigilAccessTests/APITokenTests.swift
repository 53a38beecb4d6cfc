import Testing
import VigilAccess
import VigilCore

@Suite struct APITokenTests {
    @Test func generatedTokensParseBackAndHashStably() throws {
        let token = APIToken.generate()
        #expect(token.text.hasPrefix("vgl_"))
        #expect(token.text.utf8.count == APIToken.length)
        let parsed = try #require(APIToken(parsing: token.text))
        #expect(parsed == token)
        #expect(token.hash.count == 64)
        #expect(!token.hash.contains(token.text) && !token.text.contains(token.hash))
        #expect(token.matches(storedHash: token.hash))
        #expect(!APIToken.generate().matches(storedHash: token.hash))
        #expect("\(token)" == "token \(token.id)", "printing a token never shows its secret")
        #expect(APIToken.generate().id != token.id)
    }

    @Test(arguments: [
        "", "vgl_", "Bearer vgl_x", "vgl_0123456789ab_" + String(repeating: "A", count: 42),
        "vgl_0123456789AB_" + String(repeating: "A", count: 43),           // id must be lowercase hex
        "vgl_0123456789ab-" + String(repeating: "A", count: 43),           // separator
        "xyz_0123456789ab_" + String(repeating: "A", count: 43),
        "vgl_0123456789ab_" + String(repeating: "A", count: 42) + "=",     // padding
        "vgl_0123456789ab_" + String(repeating: "A", count: 42) + "B",     // non-canonical last character
        "vgl_0123456789ab_" + String(repeating: "é", count: 22),
    ])
    func malformedTokensAreRefused(text: String) {
        #expect(APIToken(parsing: text) == nil)
    }

    static func authenticator(_ tokens: [StoredAPIToken], clock: ManualClock) -> TokenAuthenticator {
        let byID = Dictionary(uniqueKeysWithValues: tokens.map { ($0.id, $0) })
        return TokenAuthenticator(clock: clock) { byID[$0] }
    }

    @Test func unknownRevokedExpiredAndWrongSecretAre401() async {
        let clock = ManualClock()
        let good = APIToken.generate(), revoked = APIToken.generate(), expired = APIToken.generate()
        let stored = [
            StoredAPIToken(id: good.id, hash: good.hash, role: .responder, person: "alice", createdAt: clock.now(), createdBy: "root",
                           expiresAt: clock.now() + .seconds(3600)),
            StoredAPIToken(id: revoked.id, hash: revoked.hash, role: .admin, person: "bob", createdAt: clock.now(), createdBy: "root",
                           revokedAt: clock.now()),
            StoredAPIToken(id: expired.id, hash: expired.hash, role: .admin, person: "carol", createdAt: clock.now(), createdBy: "root",
                           expiresAt: clock.now() + .seconds(10)),
        ]
        let auth = Self.authenticator(stored, clock: clock)
        clock.advance(by: .seconds(10))
        #expect(await auth.authenticate(authorization: "Bearer \(good.text)")
            == .valid(AccessPrincipal(person: "alice", role: .responder, tokenID: good.id, source: .token)))
        #expect(await auth.authenticate(authorization: "bearer  \(good.text) ") != .none)
        #expect(await auth.authenticate(authorization: nil) == .none)
        #expect(await auth.authenticate(authorization: "Bearer \(revoked.text)") == .refused("token \(revoked.id) was revoked"))
        guard case .refused(let why) = await auth.authenticate(authorization: "Bearer \(expired.text)") else {
            Issue.record("an expired token was accepted"); return
        }
        #expect(why.contains("expired"))
        #expect(await auth.authenticate(authorization: "Bearer \(APIToken.generate().text)") == .refused("invalid token"))
        // Right id, wrong secret: reads exactly as an unknown token.
        let forged = "vgl_\(good.id)_" + String(APIToken.generate().text.suffix(43))
        #expect(await auth.authenticate(authorization: "Bearer \(forged)") == .refused("invalid token"))
        #expect(await auth.authenticate(authorization: "Basic dXNlcjpwYXNz") != .none)
        #expect(await auth.authenticate(authorization: "Bearer " + String(repeating: "a", count: 5000)) != .none)
        clock.advance(by: .seconds(3600))
        #expect(await auth.authenticate(authorization: "Bearer \(good.text)") != .valid(
            AccessPrincipal(person: "alice", role: .responder, tokenID: good.id, source: .token)))
    }

    @Test func decideRoleByEndpoint() async {
        let clock = ManualClock()
        var stored: [StoredAPIToken] = []
        var texts: [AccessRole: String] = [:]
        for role in AccessRole.allCases {
            let t = APIToken.generate()
            texts[role] = t.text
            stored.append(StoredAPIToken(id: t.id, hash: t.hash, role: role, person: "p-\(role)", createdAt: clock.now(), createdBy: "root"))
        }
        let auth = Self.authenticator(stored, clock: clock)
        let requests: [(String, String)] = [("GET", "/api/v1/incidents"), ("POST", "/api/v2/alerts"),
                                            ("POST", "/api/v1/heartbeats/x"), ("POST", "/api/v1/incidents/I/ack"),
                                            ("POST", "/api/v2/silences"), ("POST", "/api/v1/tokens"), ("GET", "/metrics")]
        for role in AccessRole.allCases {
            for (method, path) in requests {
                let decision = await auth.decide(method: method, path: path, authorization: "Bearer \(texts[role]!)",
                                                 anonymous: .none, listenIsLoopback: false)
                let may = AccessPolicy.allows(role, AccessPolicy.operation(method: method, path: path))
                #expect(decision.status == (may ? 200 : 403), "\(role) \(method) \(path)")
                if case .allowed(let p) = decision, path != "/metrics" { #expect(p.actor == "p-\(role)") }
            }
        }
        // Without credentials: loopback senders may send, nothing else; off loopback, nothing but the open routes.
        #expect(await auth.decide(method: "POST", path: "/api/v2/alerts", authorization: nil, anonymous: .sender,
                                  listenIsLoopback: true).status == 200)
        #expect(await auth.decide(method: "GET", path: "/api/v2/alerts", authorization: nil, anonymous: .sender,
                                  listenIsLoopback: true).status == 401)
        #expect(await auth.decide(method: "POST", path: "/api/v2/alerts", authorization: nil, anonymous: .sender,
                                  listenIsLoopback: false).status == 401)
        #expect(await auth.decide(method: "POST", path: "/api/v2/alerts", authorization: nil, anonymous: .none,
                                  listenIsLoopback: true).status == 401)
        #expect(await auth.decide(method: "GET", path: "/-/healthy", authorization: "Bearer junk", anonymous: .none,
                                  listenIsLoopback: false).status == 200)
        // Bad credentials are not rescued by anonymous access.
        #expect(await auth.decide(method: "POST", path: "/api/v2/alerts", authorization: "Bearer junk", anonymous: .sender,
                                  listenIsLoopback: true).status == 401)
    }
}
