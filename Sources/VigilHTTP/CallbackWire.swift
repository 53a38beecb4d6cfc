import VigilCore
import VigilPluginProtocol

/// What a signed callback asks of Vigil: acknowledge or resolve one incident, on behalf of a user
/// of Slack or PagerDuty. The services' wire shapes (Slack's `block_actions` payload, PagerDuty's
/// v3 webhook event) stop at this type; the daemon maps the user to a roster person and runs the
/// command (`CallbackActions` in VigilDaemon).
public struct CallbackRequest: Sendable, Equatable {
    public enum Service: String, Sendable {
        case slack = "Slack"
        case pagerDuty = "PagerDuty"
    }

    public enum Action: String, Sendable {
        case acknowledge
        case resolve
    }

    public var service: Service
    public var action: Action
    /// The Vigil incident (Slack: the button's `value`; PagerDuty: the incident's `incident_key`,
    /// which is the `dedup_key` Vigil's PagerDuty notifier sends).
    public var incidentID: String
    /// The service's id of the user who acted (Slack `user.id`, PagerDuty `event.agent.id`); nil
    /// when the service names no user (a PagerDuty integration or automation acted).
    public var userID: String?
    /// The Slack workspace (`team.id`) the user belongs to.
    public var teamID: String?
    /// A readable name of who acted (at most 64 characters, no control characters), for notes and
    /// logs only: never used to decide anything.
    public var userName: String?
    /// The service's own reference to what was acted on (PagerDuty's incident id), for notes and logs.
    public var reference: String?

    public init(service: Service, action: Action, incidentID: String, userID: String? = nil, teamID: String? = nil,
                userName: String? = nil, reference: String? = nil) {
        self.service = service
        self.action = action
        self.incidentID = incidentID
        self.userID = userID
        self.teamID = teamID
        self.userName = userName
        self.reference = reference
    }

    /// Longest incident id or user id a callback may carry.
    public static let maximumIdentifierBytes = 256
}

/// Slack's interactivity payload: `application/x-www-form-urlencoded` with one `payload` field
/// holding JSON. A press of a Vigil button is a `block_actions` payload whose `actions` include
/// `action_id` ``acknowledgeActionID`` or ``resolveActionID`` with the incident id as `value`.
/// Read by hand so a refusal names the field; the scanner and the standard library only, so the
/// fuzz package links it (target `callbacks`).
public enum SlackInteractionWire: WireText {
    public static let acknowledgeActionID = "vigil_acknowledge"
    public static let resolveActionID = "vigil_resolve"
    /// Slack's limit for an actions block's elements.
    static let maximumActions = 25

    public enum Reading: Sendable, Equatable {
        /// Not a payload Slack sends (the message names the field): answered 400.
        case refused(String)
        /// A valid payload that asks nothing of Vigil (another kind of interaction, another app's button).
        case ignored(String)
        /// One request per Vigil button in the payload, in order.
        case requests([CallbackRequest])
    }

    public static func read(_ body: [UInt8]) -> Reading {
        do throws(WireRefusal) {
            let fields = try FormURLEncoded.decode(body)
            let payloads = fields.filter { $0.name == "payload" }
            guard payloads.count == 1, let text = payloads.first?.value else {
                throw WireRefusal(payloads.isEmpty ? "the form has no payload field" : "the form has \(payloads.count) payload fields, expected one")
            }
            let top: JSONValue
            do { top = try JSONValue.parse(Array(text.utf8)) } catch {
                throw WireRefusal("payload is not valid JSON: \(error.problem) at byte \(error.offset)")
            }
            guard case .object(let payload) = top else { throw WireRefusal("payload is \(kind(top)), expected an object") }
            let type = try string(payload["type"], field: "payload.type") ?? ""
            guard type == "block_actions" else {
                return .ignored("a Slack \(quoted(type)) interaction, not a button press (block_actions)")
            }
            guard case .object(let user)? = payload["user"] else { throw WireRefusal("payload.user is required (an object)") }
            guard let userID = try identifier(user["id"], field: "payload.user.id") else {
                throw WireRefusal("payload.user.id is required")
            }
            var teamID = try identifier(user["team_id"], field: "payload.user.team_id")
            if case .object(let team)? = payload["team"], let id = try identifier(team["id"], field: "payload.team.id") { teamID = id }
            var name = try string(user["username"], field: "payload.user.username")
            if name == nil { name = try string(user["name"], field: "payload.user.name") }
            guard case .array(let actions)? = payload["actions"] else { throw WireRefusal("payload.actions is required (a list)") }
            guard actions.count <= maximumActions else {
                throw WireRefusal("payload.actions has \(actions.count) items, at most \(maximumActions)")
            }
            var requests: [CallbackRequest] = []
            for (i, item) in actions.enumerated() {
                guard case .object(let action) = item else { throw WireRefusal("payload.actions[\(i)] is \(kind(item)), expected an object") }
                let verb: CallbackRequest.Action
                switch try string(action["action_id"], field: "payload.actions[\(i)].action_id") {
                case acknowledgeActionID?: verb = .acknowledge
                case resolveActionID?: verb = .resolve
                default: continue
                }
                guard let id = try identifier(action["value"], field: "payload.actions[\(i)].value") else {
                    throw WireRefusal("payload.actions[\(i)].value is required (the incident id)")
                }
                requests.append(CallbackRequest(service: .slack, action: verb, incidentID: id, userID: userID, teamID: teamID,
                                                userName: name.flatMap(displayName)))
            }
            guard !requests.isEmpty else {
                return .ignored("no Vigil button (\(acknowledgeActionID), \(resolveActionID)) among the payload's actions")
            }
            return .requests(requests)
        } catch {
            return .refused(error.message)
        }
    }
}

/// PagerDuty's v3 webhook payload: `{"event": {"id", "event_type", "resource_type", "occurred_at",
/// "agent", "client", "data"}}`. `incident.acknowledged` and `incident.resolved` ask Vigil to do
/// the same to the incident whose id is the PagerDuty incident's `incident_key` (Vigil's PagerDuty
/// notifier sends the incident id as `dedup_key`, which PagerDuty keeps as `incident_key`); every
/// other event type is ignored.
public enum PagerDutyWebhookWire: WireText {
    public enum Reading: Sendable, Equatable {
        case refused(String)
        case ignored(String)
        /// The request, and when PagerDuty says the event happened (replays are bounded by it).
        case request(CallbackRequest, occurredAt: Timestamp)
    }

    public static func read(_ body: [UInt8]) -> Reading {
        do throws(WireRefusal) {
            let top: JSONValue
            do { top = try JSONValue.parse(body) } catch {
                throw WireRefusal("the body is not valid JSON: \(error.problem) at byte \(error.offset)")
            }
            guard case .object(let root) = top else { throw WireRefusal("the body is \(kind(top)), expected an object") }
            guard case .object(let event)? = root["event"] else { throw WireRefusal("event is required (an object)") }
            guard let type = try string(event["event_type"], field: "event.event_type") else {
                throw WireRefusal("event.event_type is required")
            }
            let action: CallbackRequest.Action
            switch type {
            case "incident.acknowledged": action = .acknowledge
            case "incident.resolved": action = .resolve
            default: return .ignored("PagerDuty event \(quoted(type)) asks nothing of Vigil")
            }
            guard let when = try string(event["occurred_at"], field: "event.occurred_at") else {
                throw WireRefusal("event.occurred_at is required")
            }
            guard let occurredAt = RFC3339.parse(when) else {
                throw WireRefusal("event.occurred_at \(quoted(when)) is not an ISO 8601 time like 2026-12-05T09:00:00.000Z")
            }
            guard case .object(let data)? = event["data"] else { throw WireRefusal("event.data is required (an object)") }
            if let dataType = try string(data["type"], field: "event.data.type"), dataType != "incident" {
                throw WireRefusal("event.data.type \(quoted(dataType)) is not incident")
            }
            guard let key = try identifier(data["incident_key"], field: "event.data.incident_key") else {
                return .ignored("the PagerDuty incident has no incident_key, so it is not one Vigil paged")
            }
            var request = CallbackRequest(service: .pagerDuty, action: action, incidentID: key,
                                          reference: try identifier(data["id"], field: "event.data.id"))
            if case .object(let agent)? = event["agent"] {
                request.userName = try string(agent["summary"], field: "event.agent.summary").flatMap(displayName)
                // Only a user is a person; a service or an integration acting is PagerDuty itself.
                if try string(agent["type"], field: "event.agent.type") == "user_reference" {
                    request.userID = try identifier(agent["id"], field: "event.agent.id")
                }
            }
            return .request(request, occurredAt: occurredAt)
        } catch {
            return .refused(error.message)
        }
    }
}

/// A payload refused whole; the message names the field.
struct WireRefusal: Error, Equatable {
    var message: String
    init(_ message: String) { self.message = message }
}

extension WireText {
    /// A string field, nil when absent or null.
    static func string(_ value: JSONValue?, field: String) throws(WireRefusal) -> String? {
        switch value {
        case nil, .null?: return nil
        case .string(let s)?: return s
        case let other?: throw WireRefusal("\(field) is \(kind(other)), expected a string")
        }
    }

    /// A name for people to read (in logs, answers and timeline notes): control characters
    /// dropped (a newline must not forge a log line), at most 64 characters; nil when nothing is left.
    static func displayName(_ text: String) -> String? {
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars where scalar.properties.generalCategory != .control {
            out.append(scalar)
        }
        let name = String(String(out).prefix(64)).trimmingWhitespace()
        return name.isEmpty ? nil : name
    }

    /// An id (incident, user, workspace): nil when absent, null or empty; at most
    /// ``CallbackRequest/maximumIdentifierBytes``, no control characters or spaces at its ends.
    static func identifier(_ value: JSONValue?, field: String) throws(WireRefusal) -> String? {
        guard let text = try string(value, field: field), !text.isEmpty else { return nil }
        guard text.utf8.count <= CallbackRequest.maximumIdentifierBytes else {
            throw WireRefusal("\(field) is longer than \(CallbackRequest.maximumIdentifierBytes) bytes")
        }
        guard !text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }),
              text.trimmingWhitespace() == text else {
            throw WireRefusal("\(field) \(quoted(text)) has control characters or surrounding spaces")
        }
        return text
    }
}

/// `application/x-www-form-urlencoded` (the WHATWG URL standard's parser, strictly): fields
/// separated by `&`, name and value by the first `=`, `+` for a space, `%XX` for a byte; an
/// invalid escape or a value that is not UTF-8 refuses the whole body rather than guess.
enum FormURLEncoded {
    static let maximumFields = 64

    static func decode(_ bytes: [UInt8]) throws(WireRefusal) -> [(name: String, value: String)] {
        var fields: [(name: String, value: String)] = []
        for part in bytes.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            guard fields.count < maximumFields else { throw WireRefusal("the form has more than \(maximumFields) fields") }
            let equals = part.firstIndex(of: UInt8(ascii: "=")) ?? part.endIndex
            let name = try text(part[part.startIndex..<equals], what: "a field name")
            let value = equals == part.endIndex ? "" : try text(part[(equals + 1)...], what: "the \(String(name.prefix(40))) field")
            fields.append((name, value))
        }
        return fields
    }

    static func text(_ raw: ArraySlice<UInt8>, what: String) throws(WireRefusal) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var i = raw.startIndex
        while i < raw.endIndex {
            let b = raw[i]
            if b == UInt8(ascii: "+") {
                out.append(0x20)
            } else if b == UInt8(ascii: "%") {
                guard i + 2 < raw.endIndex, let hi = hexValue(raw[i + 1]), let lo = hexValue(raw[i + 2]) else {
                    throw WireRefusal("\(what) has an invalid percent escape")
                }
                out.append(hi << 4 | lo)
                i += 2
            } else {
                out.append(b)
            }
            i += 1
        }
        guard let s = String(validating: out, as: UTF8.self) else { throw WireRefusal("\(what) is not UTF-8") }
        return s
    }

    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
