import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Hummingbird
import HummingbirdTesting
import Logging
import Testing
import VigilAccess
import VigilControl
import VigilCore
import VigilHTTP

/// What reached the executor, and as whom.
actor ControlLedger {
    var requests: [(ControlRequest, HTTPPrincipal)] = []
    func add(_ r: ControlRequest, _ p: HTTPPrincipal) { requests.append((r, p)) }
}

/// Sets a fixed principal, as the token middleware does once a token checks out.
struct FixedPrincipal: RouterMiddleware {
    typealias Context = VigilRequestContext
    let principal: HTTPPrincipal?
    func handle(_ request: Request, context: VigilRequestContext,
                next: (Request, VigilRequestContext) async throws -> Response) async throws -> Response {
        var context = context
        context.principal = principal
        return try await next(request, context)
    }
}

/// The incident API's routes over a fake executor: how HTTP requests become control requests
/// and how refusals become status codes.
@Suite struct ControlControllerTests {
    static func app(ledger: ControlLedger, principal: HTTPPrincipal? = HTTPPrincipal(person: "alice", role: "responder"),
                    answer: @escaping @Sendable (ControlRequest) -> ControlResponse = { _ in .success(.object(["ok": .bool(true)])) })
        -> some ApplicationProtocol {
        let controller = ControlController(execute: { request, principal in
            await ledger.add(request, principal)
            return answer(request)
        })
        let server = HTTPServer(settings: HTTPServerSettings(host: "127.0.0.1", port: 0, maxBodyBytes: 1 << 16),
                                services: HTTPServices(clock: ManualClock(), version: "t"), controllers: [controller],
                                middlewares: [FixedPrincipal(principal: principal)], logger: Logger(label: "test"))
        return Application(router: server.router())
    }

    @Test func pathBodyAndQueryBecomeTheSocketsRequest() async throws {
        let ledger = ControlLedger()
        try await Self.app(ledger: ledger).test(.router) { client in
            try await client.execute(uri: "/api/v1/incidents/INC-2026-0001/ack", method: .post,
                                     headers: [.contentType: "application/json"],
                                     body: ByteBuffer(string: #"{"note":"on it"}"#)) { r in
                #expect(r.status == .ok)
                #expect(String(buffer: r.body) == #"{"ok":true}"#)
            }
            try await client.execute(uri: "/api/v1/incidents?states=open&states=resolved,closed", method: .get) { r in
                #expect(r.status == .ok)
            }
            try await client.execute(uri: "/api/v1/actions/7/approve", method: .post) { r in #expect(r.status == .ok) }
            try await client.execute(uri: "/api/v1/incidents/INC-9/runbook", method: .get) { r in #expect(r.status == .ok) }
            try await client.execute(uri: "/api/v1/runbooks/disk-full", method: .get) { r in #expect(r.status == .ok) }
            try await client.execute(uri: "/api/v1/actions/catalog", method: .get) { r in #expect(r.status == .ok) }
        }
        let seen = await ledger.requests
        #expect(seen.count == 6)
        #expect(seen[0].0.command == "incidents.ack")
        #expect(seen[0].0.args == ["id": .string("INC-2026-0001"), "note": .string("on it")])
        #expect(seen[0].1 == HTTPPrincipal(person: "alice", role: "responder"))
        #expect(seen[1].0.command == "incidents.list")
        #expect(seen[1].0.args["states"] == .array([.string("open"), .string("resolved"), .string("closed")]))
        #expect(seen[2].0.command == "actions.approve")
        #expect(seen[2].0.args["id"] == .number(7))
        #expect(seen[3].0.command == "runbooks.show")
        #expect(seen[3].0.args == ["incident": .string("INC-9")])
        #expect(seen[4].0.args == ["name": .string("disk-full")])
        #expect(seen[5].0.command == "actions.catalog")
    }

    /// The console's commands: `/api/v1/incidents/count` is its own route, not an incident
    /// called "count"; numbers and lists arrive typed.
    @Test func theConsolesRoutesReachTheirCommands() async throws {
        let ledger = ControlLedger()
        try await Self.app(ledger: ledger).test(.router) { client in
            for uri in ["/api/v1/incidents/count?severity=P1,P2&text=disk", "/api/v1/incidents/INC-2026-0001",
                        "/api/v1/incidents?limit=50&offset=100&order=open-first", "/api/v1/oncall/schedule?days=7",
                        "/api/v1/oncall/overrides", "/api/v1/reports/response?weeks=4",
                        "/api/v1/silences/preview?matchers=team%3D%22db%22&matchers=severity%3D~%22P%5B34%5D%22"] {
                try await client.execute(uri: uri, method: .get) { r in #expect(r.status == .ok, "\(uri)") }
            }
            try await client.execute(uri: "/api/v1/oncall/overrides", method: .post, headers: [.contentType: "application/json"],
                                     body: ByteBuffer(string: #"{"rotation":"primary","person":"bob"}"#)) { r in
                #expect(r.status == .ok)
            }
            try await client.execute(uri: "/api/v1/oncall/overrides/3", method: .delete) { r in #expect(r.status == .ok) }
            try await client.execute(uri: "/api/v1/oncall/overrides/three", method: .delete) { r in
                #expect(r.status == .badRequest)
            }
            try await client.execute(uri: "/api/v1/incidents?limit=fifty", method: .get) { r in
                #expect(r.status == .badRequest)
                let message = try json(r.body)["message"] as? String
                #expect(message == "limit: expected a number, found \"fifty\"")
            }
        }
        let seen = await ledger.requests.map(\.0)
        #expect(seen.map(\.command) == ["incidents.count", "incidents.show", "incidents.list", "oncall.schedule",
                                        "oncall.overrides", "report.response", "silences.preview", "oncall.override",
                                        "oncall.override.remove"])
        #expect(seen[0].args == ["severity": .array([.string("P1"), .string("P2")]), "text": .string("disk")])
        #expect(seen[1].args == ["id": .string("INC-2026-0001")])
        #expect(seen[2].args == ["limit": .number(50), "offset": .number(100), "order": .string("open-first")])
        #expect(seen[3].args == ["days": .number(7)])
        #expect(seen[5].args == ["weeks": .number(4)])
        #expect(seen[6].args == ["matchers": .array([.string(#"team="db""#), .string(#"severity=~"P[34]""#)])])
        #expect(seen[8].args == ["id": .number(3)])
    }

    @Test func badBodiesAreRefusedNamingTheProblemBeforeTheExecutor() async throws {
        let ledger = ControlLedger()
        try await Self.app(ledger: ledger).test(.router) { client in
            try await client.execute(uri: "/api/v1/incidents", method: .post, headers: [.contentType: "application/json"],
                                     body: ByteBuffer(string: #"{"title": "x""#)) { r in
                #expect(r.status == .badRequest)
                let body = try json(r.body)
                #expect(body["code"] as? Int == 400)
                #expect((body["message"] as? String)?.hasPrefix("body: not valid JSON") == true)
            }
            try await client.execute(uri: "/api/v1/incidents", method: .post, headers: [.contentType: "application/json"],
                                     body: ByteBuffer(string: #"["title"]"#)) { r in
                #expect(r.status == .badRequest)
                let message = try json(r.body)["message"] as? String
                #expect(message == "body: expected a JSON object of arguments")
            }
            try await client.execute(uri: "/api/v1/incidents", method: .post, headers: [.contentType: "text/plain"],
                                     body: ByteBuffer(string: #"{"title":"x"}"#)) { r in
                #expect(r.status == .unsupportedMediaType)
            }
            try await client.execute(uri: "/api/v1/incidents/INC-1/ack", method: .post, headers: [.contentType: "application/json"],
                                     body: ByteBuffer(string: #"{"id":"INC-2"}"#)) { r in
                #expect(r.status == .badRequest)
                let message = try json(r.body)["message"] as? String
                #expect(message?.hasPrefix("id: the body says") == true)
            }
            try await client.execute(uri: "/api/v1/actions/seven/approve", method: .post) { r in
                #expect(r.status == .badRequest)
                let message = try json(r.body)["message"] as? String
                #expect(message == "id: expected a number, found \"seven\"")
            }
            try await client.execute(uri: "/api/v1/incidents", method: .post, headers: [.contentType: "application/json"],
                                     body: ByteBuffer(repeating: 0x20, count: 70_000)) { r in #expect(r.status.code == 413) }
        }
        #expect(await ledger.requests.isEmpty)
    }

    @Test(arguments: [(ControlFailure.Kind.invalid, 400), (.notFound, 404), (.conflict, 409), (.forbidden, 403),
                      (.unavailable, 503)])
    func refusalsKeepTheirKindAsStatus(kind: ControlFailure.Kind, status: Int) async throws {
        let ledger = ControlLedger()
        try await Self.app(ledger: ledger, answer: { _ in .failure(ControlFailure("no incident INC-404", kind: kind)) })
            .test(.router) { client in
                try await client.execute(uri: "/api/v1/incidents/INC-404", method: .get) { r in
                    #expect(Int(r.status.code) == status)
                    let body = try json(r.body)
                    #expect(body["code"] as? Int == status)
                    #expect(body["message"] as? String == "no incident INC-404")
                }
            }
    }

    @Test func withoutAPrincipalNothingRuns() async throws {
        let ledger = ControlLedger()
        try await Self.app(ledger: ledger, principal: nil).test(.router) { client in
            try await client.execute(uri: "/api/v1/incidents", method: .post, headers: [.contentType: "application/json"],
                                     body: ByteBuffer(string: #"{"title":"x"}"#)) { r in #expect(r.status == .unauthorized) }
        }
        #expect(await ledger.requests.isEmpty)
    }

    /// The CLI's HTTP client builds exactly the requests the routes read back.
    @Test func theHTTPClientAndTheRoutesAgree() throws {
        let client = try HTTPControlClient(url: "https://vigil.example:9093/prefix", token: "vgl_x")
        let ack = try client.httpRequest(for: ControlRequest(command: "incidents.ack",
                                                             args: ["id": .string("INC 1/2"), "note": .string("n")]))
        #expect(ack.httpMethod == "POST")
        #expect(ack.url?.absoluteString == "https://vigil.example:9093/prefix/api/v1/incidents/INC%201%2F2/ack")
        #expect(ack.value(forHTTPHeaderField: "Authorization") == "Bearer vgl_x")
        #expect(ack.httpBody.map { String(decoding: $0, as: UTF8.self) } == #"{"note":"n"}"#)
        let list = try client.httpRequest(for: ControlRequest(command: "incidents.list",
                                                              args: ["states": .array([.string("open"), .string("closed")])]))
        #expect(list.httpMethod == "GET")
        #expect(list.url?.absoluteString == "https://vigil.example:9093/prefix/api/v1/incidents?states=open&states=closed")
        let approve = try client.httpRequest(for: ControlRequest(command: "actions.approve", args: ["id": .number(7)]))
        #expect(approve.url?.path == "/prefix/api/v1/actions/7/approve")
        #expect(throws: ControlFailure.self) { try client.httpRequest(for: ControlRequest(command: "emit")) }
        #expect(throws: ControlFailure.self) { try HTTPControlClient(url: "ftp://x", token: "t") }
    }
}
