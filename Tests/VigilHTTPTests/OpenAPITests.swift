import Foundation
import Hummingbird
import Logging
import Testing
import VigilAccess
import VigilControl
import VigilCore
import VigilHTTP
import Yams

/// Docs/openapi.yaml describes exactly the routes the daemon registers: every documented path
/// and method is a route, and every route is documented.
@Suite struct OpenAPITests {
    static var documentPath: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Docs/openapi.yaml").path
    }

    /// `/api/v1/incidents/{id}` and `/api/v1/incidents/:id` both become `/api/v1/incidents/{}`.
    static func normalized(_ path: String) -> String {
        "/" + path.split(separator: "/").map { s in
            s.hasPrefix(":") || (s.hasPrefix("{") && s.hasSuffix("}")) ? "{}" : String(s)
        }.joined(separator: "/")
    }

    static func documentedRoutes() throws -> Set<String> {
        let text = try String(contentsOfFile: documentPath, encoding: .utf8)
        guard let root = try Yams.load(yaml: text) as? [String: Any], let paths = root["paths"] as? [String: Any] else {
            throw TestFailure("\(documentPath): no paths")
        }
        #expect((root["openapi"] as? String)?.hasPrefix("3.") == true)
        let methods: Set<String> = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]
        var out = Set<String>()
        for (path, item) in paths {
            guard let operations = item as? [String: Any] else { throw TestFailure("\(path): not a path item") }
            for key in operations.keys where methods.contains(key) { out.insert("\(key.uppercased()) \(normalized(path))") }
        }
        return out
    }

    /// The daemon's router: the built-in controllers and the ones `HTTPComposition` adds.
    static func registeredRoutes() throws -> Set<String> {
        let clock = ManualClock()
        let signer = AckLinkSigner(key: AccessCrypto.randomBytes(32), clock: clock)
        let redemption = AckLinkRedemption(signer: signer, consume: { _ in true }, acknowledge: { _ in "" })
        let callbacks = CallbacksController(slack: nil, pagerDuty: nil, clock: clock,
                                            handle: { _ in CallbackOutcome(.unavailable, "") })
        let controllers = HTTPServer.daemonControllers(redemption: redemption, scrape: { [] }, silences: EchoEndpoint(),
                                                       execute: { _, _ in .success(.null) }, callbacks: callbacks)
        let server = HTTPServer(settings: HTTPServerSettings(), services: HTTPServices(clock: clock, version: "t"),
                                controllers: controllers, logger: Logger(label: "test"))
        let router = server.router()
        try router.validate()
        return Set(router.routes.map { "\($0.method.rawValue) \(normalized($0.path.description))" })
    }

    @Test func openAPIMatchesTheRoutesBothWays() throws {
        let documented = try Self.documentedRoutes()
        let registered = try Self.registeredRoutes()
        #expect(registered.subtracting(documented).sorted() == [], "routes missing from Docs/openapi.yaml")
        #expect(documented.subtracting(registered).sorted() == [], "documented routes the daemon does not register")
        #expect(registered.count > 40)
    }

    @Test func everyCatalogueCommandHasADocumentedRoute() throws {
        let documented = try Self.documentedRoutes()
        for route in ControlCatalogue.routes {
            #expect(documented.contains("\(route.method) \(Self.normalized(route.path))"), "\(route.command)")
        }
    }
}
