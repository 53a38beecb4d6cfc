import Foundation
import Hummingbird
import VigilCore

/// One heartbeat as `GET /api/v1/heartbeats` lists it.
public struct HeartbeatView: Sendable, Equatable {
    /// `waiting` (never beat, not yet due), `ok` (beating) or `missed` (an incident is open for it).
    public enum State: String, Sendable, Equatable, Encodable {
        case waiting, ok, missed
    }
    public var name: String
    public var interval: Duration
    public var grace: Duration
    public var lastBeatAt: Timestamp?
    /// When it counts as missed if no beat comes first.
    public var deadline: Timestamp
    public var state: State
    /// The body of the last beat, if the sender sent one.
    public var lastMessage: String?

    public init(name: String, interval: Duration, grace: Duration, lastBeatAt: Timestamp?, deadline: Timestamp,
                state: State, lastMessage: String? = nil) {
        self.name = name
        self.interval = interval
        self.grace = grace
        self.lastBeatAt = lastBeatAt
        self.deadline = deadline
        self.state = state
        self.lastMessage = lastMessage
    }
}

/// Where heartbeats are recorded, implemented by the daemon's heartbeat service.
public protocol HeartbeatIntake: Sendable {
    /// Records a beat of `name` durably before returning (a restart does not forget it) and
    /// resolves its incident if it had been missed. Returns nil for a name not configured.
    func beat(_ name: String, message: String?) async throws -> HeartbeatView?
    /// Every configured heartbeat, by name.
    func heartbeats() async -> [HeartbeatView]
}

/// `POST /api/v1/heartbeats/NAME`, `GET /api/v1/heartbeats` and `GET /api/v1/heartbeats/NAME`.
///
/// A beat needs no body and no content type (`curl -X POST URL` is enough); a body, if any, is
/// kept as a short note (UTF-8, at most ``maximumMessageBytes``) shown in the list.
public struct HeartbeatsController: HTTPController {
    let services: HTTPServices

    /// A beat's note is a status line, not a log: larger bodies are refused with 413.
    public static let maximumMessageBytes = 4096

    public init(services: HTTPServices) { self.services = services }

    public func addRoutes(to router: Router<VigilRequestContext>) {
        let services = self.services
        router.post("/api/v1/heartbeats/:name") { request, context in
            let intake = try Self.intake(services)
            let name = context.parameters.get("name") ?? ""
            let message = try await Self.message(request, context: context)
            let recorded: HeartbeatView?
            do { recorded = try await intake.beat(name, message: message) } catch {
                context.logger.error("heartbeat could not be stored", metadata: ["heartbeat": "\(name.prefix(128))", "error": "\(error)"])
                throw APIError(.internalServerError, "the heartbeat could not be stored: \(error)")
            }
            guard let recorded else { throw Self.unknown(name) }
            return try JSONResponse.encode(Wire(recorded))
        }
        router.get("/api/v1/heartbeats") { _, _ in
            let intake = try Self.intake(services)
            return try JSONResponse.encode(await intake.heartbeats().sorted { $0.name < $1.name }.map(Wire.init))
        }
        router.get("/api/v1/heartbeats/:name") { _, context in
            let intake = try Self.intake(services)
            let name = context.parameters.get("name") ?? ""
            guard let found = await intake.heartbeats().first(where: { $0.name == name }) else { throw Self.unknown(name) }
            return try JSONResponse.encode(Wire(found))
        }
    }

    static func intake(_ services: HTTPServices) throws -> any HeartbeatIntake {
        guard let intake = services.heartbeats else { throw APIError(.serviceUnavailable, "heartbeats are not running") }
        return intake
    }

    static func unknown(_ name: String) -> APIError {
        APIError(.notFound, "no heartbeat named \(AlertWire.quoted(name)) in the configuration (heartbeats:)")
    }

    /// The body as a note: nil when empty; 413 over the limit; 400 when not UTF-8 text.
    static func message(_ request: Request, context: VigilRequestContext) async throws -> String? {
        var limited = context
        limited.maxBodyBytes = min(context.maxBodyBytes, maximumMessageBytes)
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > limited.maxBodyBytes {
            throw APIError(.contentTooLarge,
                           "a heartbeat's body has \(declared) bytes; at most \(limited.maxBodyBytes) are accepted")
        }
        let body = try await request.collectBody(context: limited)
        guard body.readableBytes > 0 else { return nil }
        let bytes = Array(body.readableBytesView)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw APIError(.badRequest, "body: a heartbeat's body must be UTF-8 text")
        }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return trimmed.isEmpty ? nil : trimmed
    }

    /// The JSON shape of one heartbeat (times RFC 3339, durations in seconds).
    struct Wire: Encodable {
        var name: String
        var intervalSeconds: Double
        var graceSeconds: Double
        var lastBeatAt: String?
        var deadline: String
        var state: HeartbeatView.State
        var lastMessage: String?

        init(_ v: HeartbeatView) {
            name = v.name
            intervalSeconds = Self.seconds(v.interval)
            graceSeconds = Self.seconds(v.grace)
            lastBeatAt = v.lastBeatAt.map(WireTime.format)
            deadline = WireTime.format(v.deadline)
            state = v.state
            lastMessage = v.lastMessage
        }

        static func seconds(_ d: Duration) -> Double {
            Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
        }
    }
}
