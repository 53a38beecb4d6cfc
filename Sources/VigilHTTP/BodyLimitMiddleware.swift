import Hummingbird

/// Refuses bodies above the configured size with 413 before reading them when the client
/// declares a `Content-Length`, and sets the limit that collecting a streamed body enforces
/// (so a chunked body cannot grow past it either).
public struct BodyLimitMiddleware: RouterMiddleware {
    public typealias Context = VigilRequestContext
    public let maxBodyBytes: Int

    public init(maxBodyBytes: Int) { self.maxBodyBytes = maxBodyBytes }

    public func handle(_ request: Request, context: Context,
                       next: (Request, Context) async throws -> Response) async throws -> Response {
        if let declared = request.headers[.contentLength] {
            // A length that is not a number, or a huge one, is as refusable as a large one.
            guard let length = Int(declared), length >= 0 else {
                throw APIError(.badRequest, "Content-Length must be a whole number of bytes, found \"\(declared.prefix(40))\"")
            }
            if length > maxBodyBytes {
                throw APIError(.contentTooLarge,
                               "the request body has \(length) bytes; this server accepts at most \(maxBodyBytes) (http.max_body_bytes)")
            }
        }
        var context = context
        context.maxBodyBytes = maxBodyBytes
        return try await next(request, context)
    }
}

extension Request {
    /// The whole body, at most the context's limit; 413 beyond it.
    func collectBody(context: VigilRequestContext) async throws -> ByteBuffer {
        var request = self
        do {
            return try await request.collectBody(upTo: context.maxBodyBytes)
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            throw APIError(.contentTooLarge,
                           "the request body is larger than the \(context.maxBodyBytes) bytes this server accepts (http.max_body_bytes)")
        }
    }
}
