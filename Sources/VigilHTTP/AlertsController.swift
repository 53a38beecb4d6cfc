import Foundation
import Hummingbird
import VigilCore

/// `POST/GET /api/v2/alerts` and `GET /api/v2/alerts/groups` with the real Alertmanager's
/// semantics and status codes (see ``AlertWire`` for the decoding rules).
public struct AlertsController: HTTPController {
    let services: HTTPServices

    public init(services: HTTPServices) { self.services = services }

    public func addRoutes(to router: Router<VigilRequestContext>) {
        let services = self.services
        router.post("/api/v2/alerts") { request, context in try await Self.post(request, context: context, services: services) }
        router.get("/api/v2/alerts") { request, _ in
            let query = try AlertQuery(request.uri.queryParameters)
            let intake = try Self.intake(services)
            let listed = await intake.snapshot().filter(query.admits).sorted { $0.fingerprint < $1.fingerprint }
            return try JSONResponse.encode(listed.map(GettableAlert.init))
        }
        router.get("/api/v2/alerts/groups") { request, _ in
            let query = try AlertQuery(request.uri.queryParameters)
            let intake = try Self.intake(services)
            var groups: [String: AlertGroup] = [:]
            for s in await intake.snapshot() where query.admits(s) {
                groups[s.groupKey, default: AlertGroup(labels: s.groupLabels, receiver: .init(name: s.receiver), alerts: [])]
                    .alerts.append(GettableAlert(s))
            }
            let ordered = groups.sorted { $0.key < $1.key }.map { key, group in
                var g = group
                g.alerts.sort { $0.fingerprint < $1.fingerprint }
                return g
            }
            return try JSONResponse.encode(ordered)
        }
    }

    static func intake(_ services: HTTPServices) throws -> any AlertIntake {
        guard let intake = services.alerts else { throw APIError(.serviceUnavailable, "alert intake is not running") }
        return intake
    }

    static func post(_ request: Request, context: VigilRequestContext, services: HTTPServices) async throws -> Response {
        try AlertWire.checkContentType(request)
        let intake = try intake(services)
        let body = try await request.collectBody(context: context)
        let posted = try AlertWire.decode(body)
        let (valid, errors) = AlertWire.validate(posted, now: services.clock.now(), resolveTimeout: services.resolveTimeout)
        // Best effort, as Alertmanager: the valid alerts are kept even when others are refused.
        do { try await intake.accept(valid) } catch {
            context.logger.error("alerts could not be stored", metadata: ["alerts": "\(valid.count)", "error": "\(error)"])
            throw APIError(.internalServerError, "the alerts could not be stored: \(error)")
        }
        if let metrics = services.metrics {
            let now = services.clock.now()
            let firing = valid.count { $0.isActive(at: now) }
            metrics.alertsReceived(firing: firing, resolved: valid.count - firing)
            metrics.alertsRefused(errors.count)
        }
        guard errors.isEmpty else {
            // Alertmanager answers per-alert errors as a bare JSON string.
            let message = errors.joined(separator: "; ")
            let data = (try? JSONEncoder().encode(message)) ?? Data("\"invalid alerts\"".utf8)
            return Response(status: .badRequest, headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(bytes: data + Data("\n".utf8))))
        }
        return Response(status: .ok)
    }
}

/// The query of `GET /api/v2/alerts`: `filter` matchers (repeatable), the `active`, `silenced`,
/// `inhibited` and `unprocessed` flags (default true), and a `receiver` regex.
struct AlertQuery {
    var matchers: [AlertMatcher] = []
    var active = true
    var silenced = true
    var inhibited = true
    var receiver: AlertMatcher?

    /// At most this many `filter` parameters: each is a regex compiled per request.
    static let maximumFilters = 64

    init(_ parameters: Parameters) throws {
        let filters = parameters.getAll("filter")
        guard filters.count <= Self.maximumFilters else {
            throw APIError(.badRequest, "at most \(Self.maximumFilters) filter parameters are accepted")
        }
        for f in filters {
            do { matchers.append(try AlertMatcher.parse(f)) } catch { throw Self.plain("\(error)") }
        }
        // go-openapi's boolean reading: anything but a true word is false.
        func flag(_ name: String) -> Bool {
            guard let v = parameters.get(name) else { return true }
            return ["true", "1", "yes", "ok", "y", "on", "selected", "checked", "t", "enabled"].contains(v.lowercased())
        }
        active = flag("active")
        silenced = flag("silenced")
        inhibited = flag("inhibited")
        if let r = parameters.get("receiver") {
            do { receiver = try AlertMatcher(name: "receiver", op: .regex, value: r) } catch { throw Self.plain("\(error)") }
        }
    }

    /// A 400 whose body is a bare JSON string, as Alertmanager answers a bad filter.
    static func plain(_ message: String) -> APIError { APIError(.badRequest, message, code: -1) }

    func admits(_ s: AlertSnapshot) -> Bool {
        if let receiver, !receiver.matches(value: s.receiver) { return false }
        if !active, s.state == "active" { return false }
        if !silenced, !s.silencedBy.isEmpty { return false }
        if !inhibited, !s.inhibitedBy.isEmpty { return false }
        return matchers.matches(s.alert.labels)
    }
}

/// `gettableAlert` of the Alertmanager API.
struct GettableAlert: Encodable {
    struct Receiver: Encodable { var name: String }
    struct Status: Encodable {
        var state: String
        var silencedBy: [String]
        var inhibitedBy: [String]
    }
    var labels: [String: String]
    var annotations: [String: String]
    var startsAt: String
    var endsAt: String
    var updatedAt: String
    var generatorURL: String?
    var fingerprint: String
    var receivers: [Receiver]
    var status: Status

    init(_ s: AlertSnapshot) {
        labels = s.alert.labels
        annotations = s.alert.annotations
        startsAt = WireTime.format(s.alert.startsAt)
        endsAt = WireTime.format(s.alert.endsAt)
        updatedAt = WireTime.format(s.alert.updatedAt)
        generatorURL = s.alert.generatorURL.isEmpty ? nil : s.alert.generatorURL
        fingerprint = s.fingerprint
        receivers = [Receiver(name: s.receiver)]
        status = Status(state: s.state, silencedBy: s.silencedBy, inhibitedBy: s.inhibitedBy)
    }
}

/// `alertGroup` of the Alertmanager API.
struct AlertGroup: Encodable {
    var labels: [String: String]
    var receiver: GettableAlert.Receiver
    var alerts: [GettableAlert]
}
