import HTTPTypes
import Hummingbird
import Logging
import VigilAccess
import VigilCore

/// How the daemon answered one callback: what became of the incident, in a sentence for the
/// person who pressed the button (and the log).
public struct CallbackOutcome: Sendable, Equatable {
    public enum Kind: String, Sendable {
        /// The incident was acknowledged or resolved.
        case done
        /// It already was: nothing to do (PagerDuty echoes what Vigil mirrored to it).
        case already
        /// The incident's state does not allow it, or the request is not acceptable; nothing changed.
        case refused
        /// No incident has this id: nothing changed.
        case unknownIncident = "unknown_incident"
        /// The user maps to no roster person and may not act: nothing changed.
        case unknownUser = "unknown_user"
        /// The incident manager is not running: answered 503, so the sender may retry.
        case unavailable
        /// The payload asks nothing of Vigil (another interaction, another event type, a stale event).
        case ignored
    }

    public var kind: Kind
    public var message: String
    /// The timeline actor the change was (or would have been) recorded under.
    public var actor: String?

    public init(_ kind: Kind, _ message: String, actor: String? = nil) {
        self.kind = kind
        self.message = message
        self.actor = actor
    }
}

/// The callbacks of the services Vigil pages through: `POST /api/v1/callbacks/slack` (a Slack
/// app's interactivity Request URL: the Acknowledge and Resolve buttons of Vigil's messages) and
/// `POST /api/v1/callbacks/pagerduty` (a PagerDuty v3 webhook subscription: an incident
/// acknowledged or resolved in PagerDuty).
///
/// Neither service can send a Vigil token: each request is authenticated by its signature under
/// the secret in `http.callbacks` (``SlackRequestVerifier``, ``PagerDutySignatureVerifier``), which
/// is checked over the raw body before anything in it is read. A route whose secret is not
/// configured answers 404. Answers: 401 for a missing, wrong, stale or replayed signature (logged
/// with the reason, nothing done); 413 above ``maximumBodyBytes`` or `http.max_body_bytes`; 415
/// for another media type; 400 for a signed body that is not the service's payload; 503 when the
/// incident manager is not running; otherwise 200, whatever became of the incident (the body says
/// what), so neither service retries a request that was understood.
public struct CallbacksController: HTTPController {
    /// Acts on one request (the daemon's `CallbackActions`): maps the user to a person and runs
    /// the command.
    public typealias Handler = @Sendable (CallbackRequest) async -> CallbackOutcome

    /// The Slack route's configuration: the verifier holding the signing secret, and the one
    /// workspace (`team.id`) whose users may act, when set.
    public struct Slack: Sendable {
        public var verifier: SlackRequestVerifier
        public var teamID: String?
        public init(verifier: SlackRequestVerifier, teamID: String? = nil) {
            self.verifier = verifier
            self.teamID = teamID
        }
    }

    public static let slackPath = "/api/v1/callbacks/slack"
    public static let pagerDutyPath = "/api/v1/callbacks/pagerduty"
    /// Largest callback body read (Slack's payload carries the whole message, PagerDuty's is at
    /// most 256 KB): these routes answer before any token is checked, so they read less than others.
    public static let maximumBodyBytes = 1 << 20
    /// PagerDuty signs no timestamp; an event that happened longer ago than this is ignored, which
    /// bounds replays (PagerDuty's own retries end about 20 minutes after the event).
    public static let maximumEventAge = Duration.seconds(3600)
    /// How far in the future an event's time may be (PagerDuty's clock is not ours).
    static let maximumEventLead = Duration.seconds(300)

    static let slackSignature = HTTPField.Name("X-Slack-Signature")!
    static let slackTimestamp = HTTPField.Name("X-Slack-Request-Timestamp")!
    static let pagerDutySignature = HTTPField.Name("X-PagerDuty-Signature")!

    let slack: Slack?
    let pagerDuty: PagerDutySignatureVerifier?
    let clock: any VigilClock
    let handle: Handler

    /// A nil service is disabled: its route answers 404.
    public init(slack: Slack?, pagerDuty: PagerDutySignatureVerifier?, clock: any VigilClock, handle: @escaping Handler) {
        self.slack = slack
        self.pagerDuty = pagerDuty
        self.clock = clock
        self.handle = handle
    }

    public func addRoutes(to router: Router<VigilRequestContext>) {
        let controller = self
        router.post(RouterPath(Self.slackPath)) { request, context in try await controller.slack(request, context: context) }
        router.post(RouterPath(Self.pagerDutyPath)) { request, context in try await controller.pagerDuty(request, context: context) }
    }

    // MARK: Slack

    func slack(_ request: Request, context: VigilRequestContext) async throws -> Response {
        guard let slack else {
            throw APIError(.notFound, "the Slack callback is not enabled (http.callbacks.slack.signing_secret_file)")
        }
        let body = try await Self.body(request, context: context)
        do {
            try slack.verifier.verify(timestamp: request.headers[Self.slackTimestamp], signature: request.headers[Self.slackSignature],
                                      body: body)
        } catch {
            throw Self.unauthorized(.slack, error, context: context)
        }
        guard Self.mediaType(request.headers[.contentType]) == "application/x-www-form-urlencoded" else {
            throw APIError(.unsupportedMediaType, "a Slack interaction is application/x-www-form-urlencoded, found "
                + (request.headers[.contentType] ?? "no Content-Type"))
        }
        switch SlackInteractionWire.read(body) {
        case .refused(let why):
            context.logger.warning("callback refused: unreadable payload", metadata: ["service": "Slack", "reason": "\(why)"])
            throw APIError(.badRequest, "the Slack payload cannot be read: \(why)")
        case .ignored(let why):
            context.logger.info("callback ignored", metadata: ["service": "Slack", "reason": "\(why)"])
            return try Self.slackAnswer(why)
        case .requests(let requests):
            var lines: [String] = []
            for r in requests {
                let outcome: CallbackOutcome
                if let team = slack.teamID, r.teamID != team {
                    outcome = CallbackOutcome(.unknownUser, "Slack workspace \(r.teamID ?? "(none)") is not the one Vigil answers "
                        + "(http.callbacks.slack.team_id); nothing was done")
                } else {
                    outcome = await handle(r)
                }
                Self.log(r, outcome, context: context)
                guard outcome.kind != .unavailable else { throw APIError(.serviceUnavailable, outcome.message) }
                lines.append(outcome.message)
            }
            return try Self.slackAnswer(lines.joined(separator: "\n"))
        }
    }

    /// Slack needs a 200 within 3 seconds; the body is a message in the shape Slack's
    /// `response_url` takes (shown only to the presser), for whoever reads it.
    static func slackAnswer(_ text: String) throws -> Response {
        struct Message: Encodable {
            var response_type = "ephemeral"
            var replace_original = false
            var text: String
        }
        return try JSONResponse.encode(Message(text: text))
    }

    // MARK: PagerDuty

    func pagerDuty(_ request: Request, context: VigilRequestContext) async throws -> Response {
        guard let pagerDuty else {
            throw APIError(.notFound, "the PagerDuty callback is not enabled (http.callbacks.pagerduty.webhook_secret_file)")
        }
        let body = try await Self.body(request, context: context)
        do { try pagerDuty.verify(header: request.headers[Self.pagerDutySignature], body: body) } catch {
            throw Self.unauthorized(.pagerDuty, error, context: context)
        }
        guard SilencesController<VigilRequestContext>.isJSON(request.headers[.contentType]) else {
            throw APIError(.unsupportedMediaType, "a PagerDuty webhook is application/json, found "
                + (request.headers[.contentType] ?? "no Content-Type"))
        }
        switch PagerDutyWebhookWire.read(body) {
        case .refused(let why):
            context.logger.warning("callback refused: unreadable payload", metadata: ["service": "PagerDuty", "reason": "\(why)"])
            throw APIError(.badRequest, "the PagerDuty webhook cannot be read: \(why)")
        case .ignored(let why):
            context.logger.info("callback ignored", metadata: ["service": "PagerDuty", "reason": "\(why)"])
            return try Self.pagerDutyAnswer(CallbackOutcome(.ignored, why))
        case .request(let r, let occurredAt):
            let now = clock.now()
            let outcome: CallbackOutcome
            if now - occurredAt > Self.maximumEventAge || occurredAt - now > Self.maximumEventLead {
                outcome = CallbackOutcome(.ignored, "the event occurred at \(occurredAt.rfc3339), outside the hour Vigil accepts "
                    + "(a replay, or a clock far off); nothing was done")
            } else {
                outcome = await handle(r)
            }
            Self.log(r, outcome, context: context)
            guard outcome.kind != .unavailable else { throw APIError(.serviceUnavailable, outcome.message) }
            return try Self.pagerDutyAnswer(outcome)
        }
    }

    static func pagerDutyAnswer(_ outcome: CallbackOutcome) throws -> Response {
        var body = ["outcome": outcome.kind.rawValue, "message": outcome.message]
        if let actor = outcome.actor { body["actor"] = actor }
        return try JSONResponse.encode(body)
    }

    // MARK: shared

    /// The raw body, at most the smaller of ``maximumBodyBytes`` and `http.max_body_bytes`.
    static func body(_ request: Request, context: VigilRequestContext) async throws -> [UInt8] {
        var context = context
        context.maxBodyBytes = min(context.maxBodyBytes, maximumBodyBytes)
        if let declared = request.headers[.contentLength].flatMap({ Int($0) }), declared > context.maxBodyBytes {
            throw APIError(.contentTooLarge, "the request body has \(declared) bytes; a callback may have at most \(context.maxBodyBytes)")
        }
        return Array(buffer: try await request.collectBody(context: context))
    }

    static func unauthorized(_ service: CallbackRequest.Service, _ error: any Error, context: VigilRequestContext) -> APIError {
        context.logger.warning("callback refused: not authenticated", metadata: ["service": "\(service.rawValue)", "reason": "\(error)"])
        return APIError(.unauthorized, "not accepted as a request from \(service.rawValue): \(error)")
    }

    static func log(_ r: CallbackRequest, _ outcome: CallbackOutcome, context: VigilRequestContext) {
        var metadata: Logger.Metadata = [
            "service": "\(r.service.rawValue)", "action": "\(r.action.rawValue)", "incident": "\(r.incidentID)",
            "outcome": "\(outcome.kind.rawValue)", "message": "\(outcome.message)",
        ]
        if let user = r.userID { metadata["user"] = "\(user)" }
        if let team = r.teamID { metadata["team"] = "\(team)" }
        if let actor = outcome.actor { metadata["actor"] = "\(actor)" }
        switch outcome.kind {
        case .done, .already, .ignored: context.logger.notice("callback handled", metadata: metadata)
        case .refused, .unknownIncident, .unknownUser, .unavailable: context.logger.warning("callback refused", metadata: metadata)
        }
    }

    /// `type/subtype` of a Content-Type, lowercased, without parameters.
    static func mediaType(_ contentType: String?) -> String? {
        guard let contentType else { return nil }
        return contentType.split(separator: ";", maxSplits: 1).first.map { $0.trimmingWhitespace().lowercased() }
    }
}
