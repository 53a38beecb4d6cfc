import Foundation
import HTTPTypes
import Hummingbird

/// An error answered as Alertmanager's API answers its own (go-openapi's shape):
/// `{"code": 404, "message": "..."}` with `application/json`.
public struct APIError: Error, HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    /// The `code` field; Alertmanager's validation errors carry go-openapi codes (≥ 600) here
    /// while the HTTP status is 422.
    public var code: Int
    public var message: String

    public init(_ status: HTTPResponse.Status, _ message: String, code: Int? = nil) {
        self.status = status
        self.code = code ?? status.code
        self.message = message
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        // code -1: Alertmanager answers some 400s with the message as a bare JSON string.
        let body = code == -1
            ? ((try? JSONEncoder().encode(message)) ?? Data("\"\"".utf8)) + Data("\n".utf8)
            : (try? JSONSerialization.data(withJSONObject: ["code": code, "message": message] as [String: Any],
                                           options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return Response(status: status, headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}

/// Turns every error that escapes a route (Hummingbird's own 404, 405 and 413 included) into the
/// JSON shape of ``APIError``, so a client never has to parse two error formats; errors that are
/// not HTTP errors become a 500 whose message does not leak internals.
public struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    public init() {}

    public func handle(_ request: Request, context: Context,
                       next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            throw error
        } catch let error as HTTPError {
            let message = error.body ?? Self.defaultMessage(error.status, request: request)
            throw APIError(error.status, message)
        } catch let error as any HTTPResponseError {
            throw APIError(error.status, Self.defaultMessage(error.status, request: request))
        } catch {
            context.logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            throw APIError(.internalServerError, "internal error; the daemon's log has the details")
        }
    }

    static func defaultMessage(_ status: HTTPResponse.Status, request: Request) -> String {
        switch status {
        case .notFound: "no such route: \(request.method) \(request.uri.path)"
        case .contentTooLarge: "the request body is larger than the server accepts (http.max_body_bytes)"
        case .methodNotAllowed: "\(request.method) is not allowed on \(request.uri.path)"
        default: status.reasonPhrase
        }
    }
}
