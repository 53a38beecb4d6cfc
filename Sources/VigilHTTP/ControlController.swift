import Foundation
import HTTPTypes
import Hummingbird
import VigilControl
import VigilCore

/// The incident API (`/api/v1`): one route per entry of ``ControlCatalogue``, each turned into
/// the same ``ControlRequest`` the control socket carries and answered by the daemon's one
/// executor (`execute`), under the token's person.
///
/// Answers: 200 with the command's view; errors as `{"code": …, "message": …}`: 400 for a bad
/// body or argument (naming it), 404 for an unknown incident, action, plugin or runbook, 409 for
/// a change the incident's state does not allow, 415 for a body that is not JSON, 503 when a part
/// of the daemon is not running.
public struct ControlController: HTTPController {
    public typealias Executor = @Sendable (ControlRequest, HTTPPrincipal) async -> ControlResponse
    let execute: Executor

    public init(execute: @escaping Executor) { self.execute = execute }

    public func addRoutes(to router: Router<VigilRequestContext>) {
        for route in ControlCatalogue.routes {
            let execute = self.execute
            router.on(RouterPath(route.routerPath), method: HTTPRequest.Method(rawValue: route.method) ?? .get) { request, context in
                guard let principal = context.principal else {
                    throw APIError(.unauthorized, "this request needs an API token (Authorization: Bearer vgl_…)")
                }
                var body: JSONValue?
                if route.method != "GET" {
                    let bytes = try await request.collectBody(context: context)
                    if bytes.readableBytes > 0 {
                        guard SilencesController<VigilRequestContext>.isJSON(request.headers[.contentType]) else {
                            throw APIError(.unsupportedMediaType, "the body must be application/json, found "
                                + (request.headers[.contentType] ?? "no Content-Type"))
                        }
                        do { body = try ControlCatalogue.parseBody(Array(buffer: bytes)) } catch {
                            throw APIError(.badRequest, "\(error)")
                        }
                    }
                }
                var pathParameters: [String: String] = [:]
                for name in route.pathParameters {
                    pathParameters[name] = context.parameters.get(name).map { $0.removingPercentEncoding ?? $0 }
                }
                // Hummingbird decodes the values, not the keys.
                let query = request.uri.queryParameters.map { (String($0.key).removingPercentEncoding ?? String($0.key), String($0.value)) }
                let controlRequest: ControlRequest
                do {
                    controlRequest = try ControlCatalogue.request(route: route, pathParameters: pathParameters, query: query,
                                                                  body: body)
                } catch {
                    throw APIError(.badRequest, "\(error)")
                }
                let response = await execute(controlRequest, principal)
                guard response.ok else {
                    throw APIError(Self.status(errorKind: response.errorKind), response.error ?? "the daemon refused the request")
                }
                return try JSONResponse.encode(response.result ?? .null)
            }
        }
    }

    /// The HTTP status of a refusal of this kind (``ControlFailure/Kind``).
    static func status(errorKind: String?) -> HTTPResponse.Status {
        switch errorKind.flatMap(ControlFailure.Kind.init(rawValue:)) {
        case .notFound?: .notFound
        case .conflict?: .conflict
        case .forbidden?: .forbidden
        case .unavailable?: .serviceUnavailable
        case .invalid?, nil: .badRequest
        }
    }
}
