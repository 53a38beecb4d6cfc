import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle
import VigilAccess
import VigilSilences

/// Where and how the server listens (the daemon maps the configuration's `http:` onto this).
public struct HTTPServerSettings: Sendable, Equatable {
    public var host: String
    /// 0 binds a free port (tests); the bound one is told to `onListening`.
    public var port: Int
    public var maxBodyBytes: Int
    /// PEM files; nil serves plain HTTP.
    public var tlsCertificate: String?
    public var tlsKey: String?
    /// A request's head and body must arrive within this of its head (slow clients are cut off).
    public var requestReadTimeout: Duration
    /// A connection with no request for this long is closed; a head must arrive whole within it.
    public var idleTimeout: Duration

    public init(host: String = "127.0.0.1", port: Int = 9093, maxBodyBytes: Int = 4 << 20,
                tlsCertificate: String? = nil, tlsKey: String? = nil,
                requestReadTimeout: Duration = .seconds(30), idleTimeout: Duration = .seconds(60)) {
        self.host = host
        self.port = port
        self.maxBodyBytes = maxBodyBytes
        self.tlsCertificate = tlsCertificate
        self.tlsKey = tlsKey
        self.requestReadTimeout = requestReadTimeout
        self.idleTimeout = idleTimeout
    }
}

/// Why the HTTP server could not start.
public struct HTTPServerError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A middleware every route passes through, in the order added (the token check goes here).
public typealias VigilMiddleware = any MiddlewareProtocol<Request, Response, VigilRequestContext>

/// The HTTP front door: a Hummingbird application run as one service of the daemon's
/// `ServiceGroup`, so it starts with the daemon and drains on its graceful shutdown.
///
/// Every request passes, in order: the JSON error shape, the body limit, then the extra
/// middlewares (authentication), then the controllers' routes.
public struct HTTPServer: Service {
    public let settings: HTTPServerSettings
    public let services: HTTPServices
    let controllers: [any HTTPController]
    let middlewares: [VigilMiddleware]
    let logger: Logger
    let onListening: @Sendable (String) async -> Void

    /// - Parameters:
    ///   - controllers: routes added after the built-in ones (health, status, alerts).
    ///   - middlewares: run before every route, after the body limit (authentication).
    ///   - onListening: told the bound `HOST:PORT` once the socket listens.
    public init(settings: HTTPServerSettings, services: HTTPServices, controllers: [any HTTPController] = [],
                middlewares: [VigilMiddleware] = [], logger: Logger,
                onListening: @escaping @Sendable (String) async -> Void = { _ in }) {
        self.settings = settings
        self.services = services
        self.controllers = controllers
        self.middlewares = middlewares
        self.logger = logger
        self.onListening = onListening
    }

    static let maximumConnections = 1024

    /// The controllers every server has.
    public static func builtInControllers(_ services: HTTPServices) -> [any HTTPController] {
        [HealthController(services: services), StatusController(services: services), AlertsController(services: services),
         HeartbeatsController(services: services), WebhooksController(services: services), AgentsController(services: services)]
    }

    /// The controllers the daemon adds to the built-in ones: signed acknowledgement links and
    /// `/metrics`, Alertmanager's silence routes, the incident API (``ControlController``) and the
    /// signed callbacks of Slack and PagerDuty (``CallbacksController``). The daemon's composition
    /// root and the OpenAPI test both take the route set from here.
    public static func daemonControllers(redemption: AckLinkRedemption, scrape: @escaping @Sendable () async -> [UInt8],
                                         silences: any SilencesEndpoint,
                                         execute: @escaping ControlController.Executor,
                                         callbacks: CallbacksController) -> [any HTTPController] {
        [AccessController<VigilRequestContext>(redemption: redemption, scrape: scrape),
         SilencesController<VigilRequestContext>(endpoint: silences),
         ControlController(execute: execute), callbacks]
    }

    /// The router with every middleware and route; tests drive it in-process.
    public func router() -> Router<VigilRequestContext> {
        let router = Router(context: VigilRequestContext.self)
        // Middlewares only wrap routes added after them, so they go first.
        router.add(middleware: JSONErrorMiddleware<VigilRequestContext>())
        router.add(middleware: BodyLimitMiddleware(maxBodyBytes: settings.maxBodyBytes))
        for m in middlewares { router.add(middleware: m) }
        for c in Self.builtInControllers(services) + controllers { c.addRoutes(to: router) }
        return router
    }

    /// The Hummingbird application (plain or TLS); `run()` serves it.
    public func application() throws -> some ApplicationProtocol {
        // A connection idle this long is closed, a request not read whole within its deadline
        // too, and at most `maximumConnections` are open at once: a crowd of silent or trickling
        // clients cannot hold the server's sockets.
        let (readLimit, logger) = (TimeAmount.nanoseconds(settings.requestReadTimeout.nanoseconds), self.logger)
        let http1 = HTTPServerBuilder.http1(configuration: .init(
            additionalChannelHandlers: [RequestReadDeadline(limit: readLimit, logger: logger)],
            idleTimeout: .nanoseconds(settings.idleTimeout.nanoseconds)))
        let server: HTTPServerBuilder
        if let certificate = settings.tlsCertificate, let key = settings.tlsKey {
            server = try .tls(http1, tlsConfiguration: Self.tlsConfiguration(certificate: certificate, key: key))
        } else {
            server = http1
        }
        let (onListening, tls) = (self.onListening, settings.tlsCertificate != nil)
        return Application(router: router(), server: server,
                           configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "Vigil",
                                                availableConnectionsDelegate: MaximumAvailableConnections(Self.maximumConnections,
                                                                                                          logger: logger)),
                           onServerRunning: { channel in
                               let bound = channel.localAddress.map(Self.describe) ?? "?"
                               logger.notice("http listening", metadata: ["address": "\(bound)", "tls": "\(tls)"])
                               await onListening(bound)
                           },
                           logger: logger)
    }

    public func run() async throws {
        try await application().run()
    }

    /// Loads the TLS files as the server will, so a composition root can refuse them at start.
    public static func checkTLS(certificate: String, key: String) throws {
        _ = try tlsConfiguration(certificate: certificate, key: key)
    }

    static func tlsConfiguration(certificate: String, key: String) throws -> TLSConfiguration {
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(certificate).map { NIOSSLCertificateSource.certificate($0) }
            guard !chain.isEmpty else { throw HTTPServerError("\(certificate) holds no PEM certificate") }
            let privateKey = try NIOSSLPrivateKey(file: key, format: .pem)
            return TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(privateKey))
        } catch let e as HTTPServerError {
            throw e
        } catch {
            throw HTTPServerError("cannot load http.tls (certificate \(certificate), key \(key)): \(error)")
        }
    }

    static func describe(_ address: SocketAddress) -> String {
        let host = address.ipAddress ?? "?"
        let port = address.port ?? 0
        return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
