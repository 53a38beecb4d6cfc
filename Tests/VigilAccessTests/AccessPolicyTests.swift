import Testing
import VigilAccess
import VigilCore

/// The role × operation table, and the route → operation mapping the HTTP middleware relies on.
@Suite struct AccessPolicyTests {
    /// The whole table, written out: a change to who may do what must change this test.
    static let expected: [AccessRole: Set<AccessOperation>] = [
        .viewer: [.open, .read],
        .responder: [.open, .read, .respond, .manageSilences, .sendHeartbeat],
        // An admin does everything but speak for a host: only an agent's token forwards as one.
        .admin: Set(AccessOperation.allCases).subtracting([.forwardAsAgent]),
        .sender: [.open, .sendAlerts, .sendHeartbeat],
        .agent: [.open, .forwardAsAgent],
    ]

    @Test(arguments: AccessRole.allCases)
    func roleTable(role: AccessRole) {
        for operation in AccessOperation.allCases {
            #expect(AccessPolicy.allows(role, operation) == Self.expected[role]!.contains(operation),
                    "\(role) × \(operation)")
        }
    }

    @Test(arguments: [
        ("GET", "/-/healthy", AccessOperation.open), ("GET", "/-/ready", .open), ("HEAD", "/-/ready", .open),
        ("GET", "/metrics", .open), ("GET", "/ack/v1.abc", .open), ("POST", "/ack/v1.abc", .open),
        ("POST", "/-/healthy", .administer), ("POST", "/metrics", .administer), ("DELETE", "/ack/x", .administer),
        ("GET", "/api/v2/alerts", .read), ("GET", "/api/v2/status", .read), ("GET", "/api/v1/incidents/INC-1", .read),
        ("POST", "/api/v2/alerts", .sendAlerts), ("post", "/api/v2/alerts/", .sendAlerts),
        ("POST", "/api/v1/heartbeats/nightly-backup", .sendHeartbeat), ("POST", "/api/v1/webhook/grafana", .sendAlerts),
        ("POST", "/api/v2/silences", .manageSilences), ("DELETE", "/api/v2/silence/8d1c", .manageSilences),
        ("POST", "/api/v1/incidents/INC-1/ack", .respond), ("POST", "/api/v1/incidents", .respond),
        ("POST", "/api/v1/actions/4/approve", .respond),
        ("POST", "/api/v1/changes", .sendAlerts), ("GET", "/api/v1/changes", .read), ("DELETE", "/api/v1/changes", .administer),
        ("POST", "/api/v1/incidents/INC-1/postmortem/hypotheses/2", .respond),
        ("POST", "/api/v1/plugins/disk/disable", .administer), ("POST", "/api/v1/tokens", .administer),
        ("DELETE", "/api/v1/tokens/0123456789ab", .administer), ("POST", "/api/v1/config/reload", .administer),
        ("GET", "/api/v1/tokens", .administer), ("GET", "/api/v1/status", .read), ("GET", "/api/v1/plugins", .read),
        ("POST", "/api/v1/incidents/INC-1/verify", .respond),
        ("PUT", "/api/v2/alerts", .administer), ("POST", "/somewhere/new", .administer),
        ("DELETE", "/api/v2/silences", .administer), ("POST", "/api/v2/alerts/groups", .administer),
        ("PUT", "/api/v1/webhook/grafana", .administer), ("DELETE", "/api/v1/alerts", .administer),
        // Signed callbacks carry no token: the signature is checked by the route.
        ("POST", "/api/v1/callbacks/slack", .open), ("POST", "/api/v1/callbacks/pagerduty", .open),
        ("GET", "/api/v1/callbacks/slack", .read), ("DELETE", "/api/v1/callbacks/slack", .administer),
        ("POST", "/api/v1/callbacks/other", .administer), ("POST", "/api/v1/callbacks/slack/x", .administer),
        // The console's data: reads, and on-call overrides as incident work.
        ("GET", "/api/v1/incidents/count", .read), ("GET", "/api/v1/oncall/schedule", .read),
        ("GET", "/api/v1/oncall/overrides", .read), ("GET", "/api/v1/reports/response", .read),
        ("GET", "/api/v1/silences/preview", .read),
        ("POST", "/api/v1/oncall/overrides", .respond), ("DELETE", "/api/v1/oncall/overrides/12", .respond),
        ("DELETE", "/api/v1/oncall/overrides", .administer), ("POST", "/api/v1/oncall/overrides/12", .administer),
        ("POST", "/api/v1/oncall/schedule", .administer), ("DELETE", "/api/v1/oncall/overrides/12/x", .administer),
        ("POST", "/api/v1/silences/preview", .manageSilences),
        // Host agents: forwarding, their long poll and its results; the list is a read.
        ("POST", "/api/v1/agents/signals", .forwardAsAgent), ("POST", "/api/v1/agents/commands", .forwardAsAgent),
        ("POST", "/api/v1/agents/results", .forwardAsAgent), ("GET", "/api/v1/agents", .read),
        ("POST", "/api/v1/agents", .administer), ("POST", "/api/v1/agents/other", .administer),
        ("DELETE", "/api/v1/agents/signals", .administer), ("POST", "/api/v1/agents/signals/x", .administer),
    ])
    func routes(method: String, path: String, operation: AccessOperation) {
        #expect(AccessPolicy.operation(method: method, path: path) == operation, "\(method) \(path)")
    }

    @Test func decisionsCarryTheStatusCodes() {
        let responder = AccessPrincipal(person: "alice", role: .responder, tokenID: "0123456789ab", source: .token)
        #expect(AccessPolicy.decide(.respond, principal: responder) == .allowed(responder))
        #expect(AccessPolicy.decide(.administer, principal: responder).status == 403)
        #expect(AccessPolicy.decide(.read, principal: nil).status == 401)
        #expect(AccessPolicy.decide(.read, principal: responder, credentialProblem: "invalid token").status == 401)
        #expect(AccessPolicy.decide(.open, principal: nil).status == 200)
    }

    @Test func anonymousLoopbackSendersOnlyOnLoopback() {
        #expect(AnonymousAccess.sender.principal(listenIsLoopback: true)?.role == .sender)
        #expect(AnonymousAccess.sender.principal(listenIsLoopback: false) == nil)
        #expect(AnonymousAccess.none.principal(listenIsLoopback: true) == nil)
        for host in ["127.0.0.1", "127.3.2.1", "::1", "[::1]", "localhost"] { #expect(AnonymousAccess.isLoopback(host: host), "\(host)") }
        for host in ["0.0.0.0", "::", "10.0.0.1", "128.0.0.1", "127.0.0", "127.0.0.256", "example.org", ""] {
            #expect(!AnonymousAccess.isLoopback(host: host), "\(host)")
        }
    }
}
