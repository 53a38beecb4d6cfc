import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import VigilAccess
import VigilCore
import VigilHTTP
import VigilMetrics
import VigilStore

struct AccessTestContext: AccessRequestContext {
    var coreContext: CoreRequestContextStorage
    var principal: AccessPrincipal?
    init(source: ApplicationRequestContextSource) { coreContext = .init(source: source) }
    mutating func setPrincipal(_ principal: AccessPrincipal) { self.principal = principal }
}

/// What reached a handler, and as whom: a refused request must leave nothing here.
actor Ledger {
    var entries: [String] = []
    func add(_ e: String) { entries.append(e) }
}

/// The middleware in front of a router, with tokens in a real SQLite store, over HummingbirdTesting.
@Suite struct AccessMiddlewareTests {
    /// One route per operation of the role table; each handler records `actor route`.
    static let routes: [(HTTPRequest.Method, String, AccessOperation)] = [
        (.get, "/api/v1/incidents", .read), (.post, "/api/v2/alerts", .sendAlerts),
        (.post, "/api/v1/heartbeats/backup", .sendHeartbeat), (.post, "/api/v1/incidents/INC-1/ack", .respond),
        (.post, "/api/v2/silences", .manageSilences), (.delete, "/api/v2/silence/abc", .manageSilences),
        (.post, "/api/v1/plugins/disk/disable", .administer), (.post, "/api/v1/tokens", .administer),
    ]

    struct Rig {
        let app: Application<RouterResponder<AccessTestContext>>
        let ledger: Ledger
        let tokens: [AccessRole: String]
        let revoked: String
        let expired: String
        let store: Store
        let signer: AckLinkSigner
    }

    static func rig(anonymous: AnonymousAccess = .sender, loopback: Bool = false) async throws -> Rig {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-http-access-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let store = try Store(path: dir + "/vigil.db")
        let clock = ManualClock()
        var tokens: [AccessRole: String] = [:]
        for role in AccessRole.allCases {
            let t = APIToken.generate()
            try await store.insertToken(APITokenRecord(id: t.id, hash: t.hash, role: role.rawValue, person: "\(role)-person",
                                                       createdAt: clock.now(), createdBy: "root", expiresAt: nil))
            tokens[role] = t.text
        }
        let revoked = APIToken.generate(), expired = APIToken.generate()
        try await store.insertToken(APITokenRecord(id: revoked.id, hash: revoked.hash, role: "admin", person: "r",
                                                   createdAt: clock.now(), createdBy: "root", expiresAt: nil))
        _ = try await store.revokeToken(id: revoked.id, at: clock.now())
        try await store.insertToken(APITokenRecord(id: expired.id, hash: expired.hash, role: "admin", person: "e",
                                                   createdAt: clock.now(), createdBy: "root", expiresAt: clock.now() + .seconds(1)))
        clock.advance(by: .seconds(2))
        let authenticator = TokenAuthenticator(clock: clock) { id in
            guard let r = try await store.token(id: id), let role = AccessRole(rawValue: r.role) else { return nil }
            return StoredAPIToken(id: r.id, hash: r.hash, role: role, person: r.person, createdAt: Timestamp(nanoseconds: r.createdAt),
                                  createdBy: r.createdBy, expiresAt: r.expiresAt.map(Timestamp.init(nanoseconds:)),
                                  revokedAt: r.revokedAt.map(Timestamp.init(nanoseconds:)))
        }
        let ledger = Ledger()
        let router = Router(context: AccessTestContext.self)
        router.add(middleware: AccessMiddleware(authenticator: authenticator, anonymous: anonymous, listenIsLoopback: loopback))
        for (method, path, _) in routes {
            router.on(RouterPath(path), method: method) { _, context in
                await ledger.add("\(context.principal?.actor ?? "nobody") \(method) \(path)")
                return Response(status: .ok)
            }
        }
        router.get("/-/healthy") { _, _ in Response(status: .ok) }
        let signer = AckLinkSigner(key: AccessCrypto.randomBytes(32), clock: clock)
        let redemption = AckLinkRedemption(signer: signer, consume: { link in
            try await store.consumeAckLinkNonce(link.nonce, incidentID: link.incidentID, person: link.person,
                                                expiresAt: link.expiresAt, now: clock.now())
        }, acknowledge: { link in
            await ledger.add("\(link.person) ack \(link.incidentID)")
            return "acknowledged"
        })
        let metrics = VigilMetrics()
        AccessController<AccessTestContext>(redemption: redemption, scrape: { metrics.render(MetricsSnapshot()) })
            .addRoutes(to: router)
        return Rig(app: Application(router: router), ledger: ledger, tokens: tokens, revoked: revoked.text,
                   expired: expired.text, store: store, signer: signer)
    }

    @Test(.timeLimit(.minutes(1))) func eachRoleIsRefusedWhatItMayNotDo() async throws {
        let rig = try await Self.rig()
        try await rig.app.test(.router) { client in
            for role in AccessRole.allCases {
                for (method, path, operation) in Self.routes {
                    let may = AccessPolicy.allows(role, operation)
                    try await client.execute(uri: path, method: method,
                                             headers: [.authorization: "Bearer \(rig.tokens[role]!)"]) { response in
                        #expect(response.status == (may ? .ok : .forbidden), "\(role) \(method) \(path)")
                        if !may { #expect(String(buffer: response.body).contains("the \(role) role may not")) }
                    }
                }
            }
        }
        let reached = await rig.ledger.entries
        let expected = AccessRole.allCases.flatMap { role in
            Self.routes.filter { AccessPolicy.allows(role, $0.2) }.map { "\(role)-person \($0.0) \($0.1)" }
        }
        #expect(reached == expected, "only allowed requests reach a handler, each as its token's person")
    }

    @Test(.timeLimit(.minutes(1))) func noneRevokedExpiredUnknownAreUnauthorized() async throws {
        let rig = try await Self.rig()
        let forged = "vgl_" + String(rig.tokens[.admin]!.dropFirst(4).prefix(12)) + "_" + String(APIToken.generate().text.suffix(43))
        let credentials: [String?] = [nil, "Bearer \(rig.revoked)", "Bearer \(rig.expired)", "Bearer \(APIToken.generate().text)",
                                      "Bearer \(forged)", "Bearer nonsense", "Basic YWRtaW46YWRtaW4="]
        try await rig.app.test(.router) { client in
            for credential in credentials {
                for (method, path, _) in Self.routes {
                    var headers = HTTPFields()
                    if let credential { headers[.authorization] = credential }
                    try await client.execute(uri: path, method: method, headers: headers) { response in
                        #expect(response.status == .unauthorized, "\(credential ?? "none") \(method) \(path)")
                        #expect(response.headers[.wwwAuthenticate] == "Bearer realm=\"vigil\"")
                    }
                }
            }
            // The open routes answer anyway, even with stale credentials.
            try await client.execute(uri: "/-/healthy", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/metrics", method: .get, headers: [.authorization: "Bearer \(rig.revoked)"]) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == VigilMetrics.contentType)
                #expect(String(buffer: response.body).contains("alertmanager_alerts_received_total"))
            }
        }
        #expect(await rig.ledger.entries.isEmpty, "no refused request reached a handler")
    }

    @Test(.timeLimit(.minutes(1))) func loopbackAnonymousSendersMaySendOnly() async throws {
        let loopback = try await Self.rig(anonymous: .sender, loopback: true)
        try await loopback.app.test(.router) { client in
            for (method, path, operation) in Self.routes {
                try await client.execute(uri: path, method: method) { response in
                    let may = operation == .sendAlerts || operation == .sendHeartbeat
                    #expect(response.status == (may ? .ok : .unauthorized), "\(method) \(path)")
                }
            }
        }
        #expect(await loopback.ledger.entries == ["anonymous sender (loopback) POST /api/v2/alerts",
                                                  "anonymous sender (loopback) POST /api/v1/heartbeats/backup"])
        for (anonymous, isLoopback) in [(AnonymousAccess.none, true), (.sender, false)] {
            let rig = try await Self.rig(anonymous: anonymous, loopback: isLoopback)
            try await rig.app.test(.router) { client in
                try await client.execute(uri: "/api/v2/alerts", method: .post) { #expect($0.status == .unauthorized) }
            }
            #expect(await rig.ledger.entries.isEmpty)
        }
    }

    @Test(.timeLimit(.minutes(1))) func ackLinkPagesGetConfirmsPostAcknowledgesOnce() async throws {
        let rig = try await Self.rig(anonymous: .none)
        let (_, token) = try rig.signer.sign(incidentID: "INC-2026-0042", person: "alice", lifetime: .seconds(600))
        try await rig.app.test(.router) { client in
            for _ in 0..<2 {
                try await client.execute(uri: "/ack/\(token)", method: .get) { response in
                    #expect(response.status == .ok)
                    #expect(String(buffer: response.body).contains("<form method=\"post\""))
                    #expect(response.headers[.cacheControl] == "no-store")
                    #expect(response.headers[.contentType] == "text/html; charset=utf-8")
                }
            }
            #expect(await rig.ledger.entries.isEmpty, "a GET changes nothing")
            try await client.execute(uri: "/ack/\(token)", method: .post) { #expect($0.status == .ok) }
            try await client.execute(uri: "/ack/\(token)", method: .post) { #expect($0.status == .gone) }
            try await client.execute(uri: "/ack/v1.bogus", method: .get) { #expect($0.status == .notFound) }
            try await client.execute(uri: "/ack/\(token.dropLast(2))xx", method: .post) { #expect($0.status == .notFound) }
        }
        #expect(await rig.ledger.entries == ["alice ack INC-2026-0042"])
        #expect(try await rig.store.usedAckLinkCount() == 1)
    }
}
