import Foundation
import Hummingbird
import VigilCore

/// Alert intake for senders that are not Prometheus: `POST /api/v1/webhooks/grafana` (Grafana
/// unified alerting's webhook contact point), `/api/v1/webhooks/alertmanager` (an Alertmanager's
/// `webhook_configs`, so an existing one can forward to Vigil) and `/api/v1/webhooks/generic`
/// (Vigil's simple shape, see Docs/http.md). Each maps onto the same intake as
/// `POST /api/v2/alerts`: the alerts are stored before the answer and routed into incidents.
///
/// 415 for a body that is not `application/json`, 413 over `http.max_body_bytes`, 400 naming the
/// field for a body that cannot be read; per alert, best effort: valid alerts are kept and the
/// refused ones are named in a 400 whose body is a JSON string, as `POST /api/v2/alerts` answers.
public struct WebhooksController: HTTPController {
    let services: HTTPServices

    public init(services: HTTPServices) { self.services = services }

    public func addRoutes(to router: Router<VigilRequestContext>) {
        let services = self.services
        for payload in [WebhookWire.Payload.grafana, .alertmanager, .generic] {
            router.post("/api/v1/webhooks/\(payload.rawValue)") { request, context in
                try await Self.post(request, context: context, payload: payload, services: services)
            }
        }
    }

    static func post(_ request: Request, context: VigilRequestContext, payload: WebhookWire.Payload,
                     services: HTTPServices) async throws -> Response {
        try AlertWire.checkContentType(request)
        let intake = try AlertsController.intake(services)
        let body = try await request.collectBody(context: context)
        let now = services.clock.now()
        let (valid, errors, count): ([Alert], [String], Int)
        switch WebhookWire.read(Data(body.readableBytesView), payload: payload.rawValue, now: now, lease: services.webhookLease) {
        case .refused(let why):
            services.metrics?.alertsRefused(1)
            throw APIError(.badRequest, "parsing the \(payload.rawValue) webhook body failed, because \(why)")
        case .read(let v, let e, let c):
            (valid, errors, count) = (v, e, c)
        }
        do { try await intake.accept(valid) } catch {
            context.logger.error("webhook alerts could not be stored",
                                 metadata: ["webhook": "\(payload.rawValue)", "alerts": "\(valid.count)", "error": "\(error)"])
            throw APIError(.internalServerError, "the alerts could not be stored: \(error)")
        }
        if let metrics = services.metrics {
            let firing = valid.count { $0.isActive(at: now) }
            metrics.alertsReceived(firing: firing, resolved: valid.count - firing)
            metrics.alertsRefused(errors.count)
        }
        guard errors.isEmpty else {
            let message = "\(valid.count) of \(count) alerts accepted; refused: " + errors.joined(separator: "; ")
            let data = (try? JSONEncoder().encode(message)) ?? Data("\"invalid alerts\"".utf8)
            return Response(status: .badRequest, headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(bytes: data + Data("\n".utf8))))
        }
        return try JSONResponse.encode(["accepted": valid.count])
    }
}
