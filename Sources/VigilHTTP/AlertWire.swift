import Foundation
import Hummingbird
import VigilCore

/// `POST /api/v2/alerts` over HTTP: the content type, and ``AlertBody``'s refusals as
/// Alertmanager's answers. The domain never sees these types.
enum AlertWire: WireText {
    /// Refuses bodies that are not JSON (`Content-Type` missing counts as octet-stream, as Go does).
    static func checkContentType(_ request: Request) throws {
        let raw = request.headers[.contentType] ?? "application/octet-stream"
        let media = raw.split(separator: ";", maxSplits: 1).first.map { $0.trimmingWhitespace().lowercased() } ?? ""
        guard media == "application/json" else {
            throw APIError(.unsupportedMediaType,
                           "unsupported media type \"\(raw.prefix(100))\", only [application/json] are allowed")
        }
    }

    /// Decodes the body into posted alerts, or throws the answer Alertmanager would give.
    static func decode(_ body: ByteBuffer) throws -> [AlertBody.Posted] {
        do {
            return try body.withUnsafeReadableBytes { raw throws(AlertBody.Refusal) in try AlertBody.decode(raw) }
        } catch {
            throw error.unprocessable ? APIError(.unprocessableContent, error.message, code: error.code)
                : APIError(.badRequest, error.message)
        }
    }

    static func validate(_ posted: [AlertBody.Posted], now: Timestamp, resolveTimeout: Duration) -> (valid: [Alert], errors: [String]) {
        AlertBody.validate(posted, now: now, resolveTimeout: resolveTimeout)
    }
}
