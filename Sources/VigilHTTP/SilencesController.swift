import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import VigilSilences

/// Alertmanager API v2's silence routes: `POST/GET /silences`, `GET/DELETE /silence/{id}` (add
/// them to the `/api/v2` group). The answers come from a ``SilencesEndpoint`` (the daemon's silence
/// service); this controller only checks the content type (415), bounds the body (413) and says who
/// is asking.
public struct SilencesController<Context: RequestContext>: Sendable {
    /// Largest silence body read; Alertmanager has no limit, a silence is a few hundred bytes.
    public static var maxBodyBytes: Int { 256 * 1024 }

    let endpoint: any SilencesEndpoint
    /// Who the timelines name for a change (the token's person, `http:ADDRESS` without tokens).
    let actor: @Sendable (Request, Context) -> String

    public init(endpoint: any SilencesEndpoint, actor: @escaping @Sendable (Request, Context) -> String) {
        self.endpoint = endpoint
        self.actor = actor
    }

    public func addRoutes(to group: RouterGroup<Context>) {
        group.post("silences") { request, context in
            guard Self.isJSON(request.headers[.contentType]) else { return Self.unsupportedMediaType(request) }
            var request = request
            let body = try await request.collectBody(upTo: Self.maxBodyBytes)
            return Self.response(await endpoint.post(Array(buffer: body), actor: actor(request, context)))
        }
        group.get("silences") { request, _ in
            Self.response(await endpoint.list(filters: request.uri.queryParameters.getAll("filter")))
        }
        group.get("silence/:id") { _, context in
            Self.response(await endpoint.get(context.parameters.get("id") ?? ""))
        }
        group.delete("silence/:id") { request, context in
            Self.response(await endpoint.delete(context.parameters.get("id") ?? "", actor: actor(request, context)))
        }
    }

    /// Alertmanager consumes `application/json` only (parameters such as `charset` allowed).
    static func isJSON(_ contentType: String?) -> Bool {
        guard let contentType else { return false }
        let type = contentType.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
        return type == "application/json"
    }

    static func unsupportedMediaType(_ request: Request) -> Response {
        let given = request.headers[.contentType] ?? ""
        let message = "unsupported media type \(jsonString(given)), only [application/json] are allowed"
        return json(415, #"{"code":415,"message":\#(jsonString(message))}"# + "\n")
    }

    static func response(_ answer: SilencesAnswer) -> Response {
        var headers = HTTPFields()
        if !answer.body.isEmpty { headers[.contentType] = "application/json" }
        return Response(status: .init(code: answer.status), headers: headers,
                        body: .init(byteBuffer: ByteBuffer(bytes: answer.body)))
    }

    static func json(_ status: Int, _ text: String) -> Response {
        response(SilencesAnswer(status: status, body: Data(text.utf8)))
    }
}

/// A string as a JSON string literal.
func jsonString(_ s: String) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.withoutEscapingSlashes]
    let data = (try? encoder.encode(s)) ?? Data("\"\"".utf8)
    return String(decoding: data, as: UTF8.self)
}

extension SilencesController: HTTPController where Context == VigilRequestContext {
    /// The daemon's controller: its changes are made by the request principal's person (the token's
    /// `--person`; the access middleware has already refused a role that may not make them).
    public init(endpoint: any SilencesEndpoint) {
        self.init(endpoint: endpoint, actor: { _, context in context.principal?.person ?? "anonymous" })
    }

    /// Mounted under `/api/v2`, beside the alert routes.
    public func addRoutes(to router: Router<VigilRequestContext>) {
        addRoutes(to: router.group("api/v2"))
    }
}
