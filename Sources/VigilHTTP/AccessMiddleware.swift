import Hummingbird
import VigilAccess
import VigilCore

/// A request context that carries who is asking, once ``AccessMiddleware`` has checked.
public protocol AccessRequestContext: RequestContext {
    /// Records the checked principal before any handler runs; handlers use its person
    /// (``AccessPrincipal/actor``) as the actor of every change they make.
    mutating func setPrincipal(_ principal: AccessPrincipal)
}

extension VigilRequestContext: AccessRequestContext {
    /// Controllers read ``VigilRequestContext/principal``: the person is the actor of their changes.
    public mutating func setPrincipal(_ principal: AccessPrincipal) {
        self.principal = HTTPPrincipal(person: principal.actor, role: principal.role.rawValue)
    }
}

/// Checks every request's credentials against the role table before any handler sees it, so a
/// refused request never reaches code that could store what it carried.
///
/// 401 (with `WWW-Authenticate: Bearer`) for no, unknown, revoked or expired credentials; 403
/// for a valid token whose role may not do this. Routes map to operations by method and path
/// (``AccessPolicy/operation(method:path:)``); a change the table does not name needs `admin`.
public struct AccessMiddleware<Context: AccessRequestContext>: RouterMiddleware {
    let authenticator: TokenAuthenticator
    let anonymous: AnonymousAccess
    let listenIsLoopback: Bool

    public init(authenticator: TokenAuthenticator, anonymous: AnonymousAccess, listenIsLoopback: Bool) {
        self.authenticator = authenticator
        self.anonymous = anonymous
        self.listenIsLoopback = listenIsLoopback
    }

    public func handle(_ request: Request, context: Context,
                       next: (Request, Context) async throws -> Response) async throws -> Response {
        let decision = await authenticator.decide(method: request.method.rawValue, path: request.uri.path,
                                                  authorization: request.headers[.authorization],
                                                  anonymous: anonymous, listenIsLoopback: listenIsLoopback)
        switch decision {
        case .allowed(let principal):
            var context = context
            context.setPrincipal(principal)
            return try await next(request, context)
        case .unauthenticated(let why):
            context.logger.info("request refused: unauthenticated", metadata: ["path": "\(request.uri.path)", "reason": "\(why)"])
            return Self.refusal(.unauthorized, why, extra: [.wwwAuthenticate: "Bearer realm=\"vigil\""])
        case .forbidden(let why):
            context.logger.info("request refused: forbidden", metadata: ["path": "\(request.uri.path)", "reason": "\(why)"])
            return Self.refusal(.forbidden, why)
        }
    }

    static func refusal(_ status: HTTPResponse.Status, _ message: String, extra: HTTPFields = [:]) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        headers.append(contentsOf: extra)
        let body = "{\"code\":\(status.code),\"message\":\(Self.quoted(message))}\n"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}

extension AccessMiddleware {
    /// A JSON string literal for `text`.
    static func quoted(_ text: String) -> String {
        var out = ""
        JSONValue.quote(text, into: &out)
        return out
    }
}
