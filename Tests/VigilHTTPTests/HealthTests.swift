import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Testing
import VigilCore
import VigilHTTP

/// A server over fake services, for tests that drive the router in-process or over a socket.
func testServer(maxBodyBytes: Int = 4 << 20, readiness: Readiness = Readiness(ready: true),
                controllers: [any HTTPController] = [], alerts: (any AlertIntake)? = nil,
                clock: any VigilClock = ManualClock()) -> HTTPServer {
    let services = HTTPServices(clock: clock, version: "9.9.9-test",
                                startedAt: Date(timeIntervalSince1970: 1_790_000_000),
                                readiness: { readiness }, configurationText: { "http:\n  listen: 127.0.0.1:9093\n" },
                                alerts: alerts)
    return HTTPServer(settings: HTTPServerSettings(host: "127.0.0.1", port: 0, maxBodyBytes: maxBodyBytes),
                      services: services, controllers: controllers, logger: Logger(label: "test"))
}

func json(_ buffer: ByteBuffer) throws -> [String: Any] {
    let object = try JSONSerialization.jsonObject(with: Data(buffer.readableBytesView))
    guard let dict = object as? [String: Any] else { throw TestFailure("expected a JSON object, got \(object)") }
    return dict
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

@Suite struct HealthTests {
    @Test func healthyAndReadyAnswer200() async throws {
        let app = Application(router: testServer().router())
        try await app.test(.router) { client in
            try await client.execute(uri: "/-/healthy", method: .get) { r in
                #expect(r.status == .ok)
                #expect(String(buffer: r.body) == "OK\n")
            }
            try await client.execute(uri: "/-/ready", method: .get) { r in #expect(r.status == .ok) }
        }
    }

    @Test func notReadyIs503WithTheReasons() async throws {
        let server = testServer(readiness: Readiness(ready: false, reasons: ["the database does not answer"]))
        try await Application(router: server.router()).test(.router) { client in
            try await client.execute(uri: "/-/ready", method: .get) { r in
                #expect(r.status == .serviceUnavailable)
                #expect(String(buffer: r.body).contains("the database does not answer"))
            }
        }
    }

    @Test func unknownRouteIs404JSON() async throws {
        try await Application(router: testServer().router()).test(.router) { client in
            try await client.execute(uri: "/api/v2/nothing-here", method: .get) { r in
                #expect(r.status == .notFound)
                #expect(r.headers[.contentType] == "application/json")
                let body = try json(r.body)
                #expect(body["code"] as? Int == 404)
                #expect((body["message"] as? String)?.contains("/api/v2/nothing-here") == true)
            }
        }
    }

    @Test func statusHasAlertmanagersShape() async throws {
        try await Application(router: testServer().router()).test(.router) { client in
            try await client.execute(uri: "/api/v2/status", method: .get) { r in
                #expect(r.status == .ok)
                let body = try json(r.body)
                let cluster = body["cluster"] as? [String: Any]
                #expect(cluster?["status"] as? String == "disabled")
                #expect((body["versionInfo"] as? [String: Any])?["version"] as? String == "9.9.9-test")
                #expect((body["config"] as? [String: Any])?["original"] as? String == "http:\n  listen: 127.0.0.1:9093\n")
                #expect((body["uptime"] as? String)?.hasPrefix("2026-09-21T") == true)
            }
        }
    }

    /// Over a real socket: a body above the limit is refused with 413 whether it declares its
    /// length or streams it chunked, and the server keeps answering afterwards.
    @Test(.timeLimit(.minutes(1))) func oversizedBodyIs413OverARealSocket() async throws {
        let server = testServer(maxBodyBytes: 1024, controllers: [EchoController()])
        try await Application(router: server.router()).test(.live) { client in
            let big = ByteBuffer(repeating: UInt8(ascii: "x"), count: 4096)
            try await client.execute(uri: "/echo", method: .post, body: big) { r in
                #expect(r.status == .contentTooLarge)
                let code = try json(r.body)["code"] as? Int
                #expect(code == 413)
            }
            try await client.execute(uri: "/echo", method: .post, body: ByteBuffer(string: "small")) { r in
                #expect(r.status == .ok)
                #expect(String(buffer: r.body) == "small")
            }
            try await client.execute(uri: "/-/healthy", method: .get) { r in #expect(r.status == .ok) }
        }
    }

    @Test func chunkedBodyOverTheLimitIs413() async throws {
        let server = testServer(maxBodyBytes: 1024, controllers: [EchoController()])
        try await Application(router: server.router()).test(.router) { client in
            // No Content-Length: the limit is enforced while collecting.
            try await client.execute(uri: "/echo", method: .post, headers: [.transferEncoding: "chunked"],
                                     body: ByteBuffer(repeating: 0x41, count: 2048)) { r in
                #expect(r.status == .contentTooLarge)
            }
        }
    }
}

/// Echoes a collected body, to test the body limit on a route that reads one.
struct EchoController: HTTPController {
    func addRoutes(to router: Router<VigilRequestContext>) {
        router.post("/echo") { request, context in
            var request = request
            let body = try await request.collectBody(upTo: context.maxBodyBytes)
            return Response(status: .ok, body: .init(byteBuffer: body))
        }
    }
}
