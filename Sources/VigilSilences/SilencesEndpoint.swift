import Foundation

/// An answer of Alertmanager's silence API: the HTTP status and the JSON body (empty for its
/// bodiless answers).
public struct SilencesAnswer: Sendable, Equatable {
    public var status: Int
    public var body: Data

    public init(status: Int, body: Data) {
        self.status = status
        self.body = body
    }
}

/// The Alertmanager API v2 silence endpoints as the HTTP server calls them: the daemon implements
/// them over its silence service, the server only routes, limits bodies and checks the content
/// type and the caller (so the HTTP module needs nothing of the daemon's internals).
public protocol SilencesEndpoint: Sendable {
    /// `POST /api/v2/silences` with the request body; `actor` is who the timeline names.
    func post(_ body: [UInt8], actor: String) async -> SilencesAnswer
    /// `GET /api/v2/silences` with the `filter` query values.
    func list(filters: [String]) async -> SilencesAnswer
    /// `GET /api/v2/silence/{id}`.
    func get(_ id: String) async -> SilencesAnswer
    /// `DELETE /api/v2/silence/{id}`.
    func delete(_ id: String, actor: String) async -> SilencesAnswer
}
