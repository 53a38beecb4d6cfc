import Foundation
import Testing
import VigilCore
@testable import VigilHTTP

/// Reading Slack's interaction payloads and PagerDuty's v3 webhook events, valid and hostile.
@Suite struct CallbackWireTests {
    /// A `block_actions` payload as Slack sends it for a press of one of Vigil's buttons (trimmed:
    /// Slack also sends the whole message, the container and the state).
    static func slackPayload(actionID: String = "vigil_acknowledge", value: String = "INC-2026-0001",
                             user: String = #"{"id":"U024BE7LH","username":"alice","name":"alice","team_id":"T0001"}"#,
                             type: String = "block_actions") -> String {
        """
        {"type":"\(type)","user":\(user),"api_app_id":"A0001","token":"legacy","container":{"type":"message",
        "message_ts":"1796000000.000100","channel_id":"C0001","is_ephemeral":false},"trigger_id":"1796000000.1.abc",
        "team":{"id":"T0001","domain":"example"},"channel":{"id":"C0001","name":"incidents"},
        "response_url":"https://hooks.slack.com/actions/T0001/1/abc",
        "actions":[{"action_id":"\(actionID)","block_id":"vigil-INC-2026-0001","text":{"type":"plain_text","text":"Acknowledge"},
        "value":"\(value)","type":"button","action_ts":"1796000000.100"}]}
        """
    }

    /// The form Slack posts: `payload=` and the JSON, percent-encoded.
    static func slackForm(_ payload: String) -> [UInt8] {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._*")
        return Array(("payload=" + payload.addingPercentEncoding(withAllowedCharacters: allowed)!).utf8)
    }

    @Test func formDecodingIsStrict() throws {
        let fields = try FormURLEncoded.decode(Array("a=1&b=x+y%21&&c&d=%E2%9C%93=".utf8))
        #expect(fields.map(\.name) == ["a", "b", "c", "d"])
        #expect(fields.map(\.value) == ["1", "x y!", "", "✓="])
        for bad in ["a=%4", "a=%zz", "a=%", "a=%ff", "%c3=1"] {
            #expect(throws: WireRefusal.self, "\(bad)") { try FormURLEncoded.decode(Array(bad.utf8)) }
        }
        let many = (0...64).map { "f\($0)=1" }.joined(separator: "&")
        #expect(throws: WireRefusal("the form has more than 64 fields")) { try FormURLEncoded.decode(Array(many.utf8)) }
    }

    @Test func aButtonPressIsARequest() {
        #expect(SlackInteractionWire.read(Self.slackForm(Self.slackPayload())) == .requests([
            CallbackRequest(service: .slack, action: .acknowledge, incidentID: "INC-2026-0001", userID: "U024BE7LH", teamID: "T0001",
                            userName: "alice"),
        ]))
        guard case .requests(let r) = SlackInteractionWire.read(Self.slackForm(Self.slackPayload(actionID: "vigil_resolve"))) else {
            Issue.record("not read")
            return
        }
        #expect(r.map(\.action) == [.resolve])
        // `+` for a space, as Slack writes forms.
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._* ")
        let payload = Self.slackPayload(user: #"{"id":"U024BE7LH","username":"alice martin"}"#)
        let form = "payload=" + payload.addingPercentEncoding(withAllowedCharacters: allowed)!.replacingOccurrences(of: " ", with: "+")
        guard case .requests(let spaced) = SlackInteractionWire.read(Array(form.utf8)) else {
            Issue.record("not read: \(form.prefix(80))")
            return
        }
        #expect(spaced.first?.userName == "alice martin" && spaced.first?.teamID == "T0001")
    }

    /// Names reach logs, answers and the timeline: no control characters (a newline would forge a
    /// log line), at most 64 characters.
    @Test func namesAreMadeSafeToShow() {
        let user = #"{"id":"U1","username":"mallory\n2026-12-07 notice vigild: forged\u0007","team_id":"T1"}"#
        guard case .requests(let r) = SlackInteractionWire.read(Self.slackForm(Self.slackPayload(user: user))) else {
            Issue.record("not read")
            return
        }
        #expect(r.first?.userName == "mallory2026-12-07 notice vigild: forged")
        let long = #"{"id":"U1","username":"\#(String(repeating: "é", count: 300))"}"#
        guard case .requests(let l) = SlackInteractionWire.read(Self.slackForm(Self.slackPayload(user: long))) else {
            Issue.record("not read")
            return
        }
        #expect(l.first?.userName == String(repeating: "é", count: 64))
    }

    @Test func whatAsksNothingIsIgnored() {
        for payload in [Self.slackPayload(type: "view_submission"), Self.slackPayload(type: "shortcut"),
                        Self.slackPayload(actionID: "someone_elses_button")] {
            guard case .ignored(let why) = SlackInteractionWire.read(Self.slackForm(payload)) else {
                Issue.record("not ignored: \(payload.prefix(60))")
                continue
            }
            #expect(!why.isEmpty)
        }
    }

    @Test(arguments: [
        ("", "no payload field"),
        ("payload=1&payload=2", "2 payload fields"),
        ("payload=%7B", "payload is not valid JSON"),
        ("payload=%5B%5D", "payload is a list, expected an object"),
    ])
    func unreadableFormsAreRefused(body: String, reason: String) {
        guard case .refused(let why) = SlackInteractionWire.read(Array(body.utf8)) else {
            Issue.record("not refused: \(body)")
            return
        }
        #expect(why.contains(reason), "\(why)")
    }

    @Test(arguments: [
        (slackPayload(user: "null"), "payload.user is required"),
        (slackPayload(user: #"{"id":7}"#), "payload.user.id is a number or boolean, expected a string"),
        (slackPayload(user: #"{"name":"x"}"#), "payload.user.id is required"),
        (slackPayload(value: ""), "payload.actions[0].value is required"),
        (slackPayload(value: #"INC-1\u0007"#), "payload.actions[0].value \"INC-1\u{7}\" has control characters"),
        (slackPayload(value: String(repeating: "x", count: 257)), "longer than 256 bytes"),
        (slackPayload().replacingOccurrences(of: #""actions":["#, with: #""actions":7,"x":["#), "payload.actions is required"),
    ])
    func malformedPayloadsAreRefusedNamingTheField(payload: String, reason: String) {
        guard case .refused(let why) = SlackInteractionWire.read(Self.slackForm(payload)) else {
            Issue.record("not refused: \(payload.prefix(80))")
            return
        }
        #expect(why.contains(reason), "\(why)")
    }

    // MARK: PagerDuty

    /// An `incident.acknowledged` event as PagerDuty's v3 webhooks send it.
    static func pagerDutyEvent(type: String = "incident.acknowledged", key: String = #""INC-2026-0001""#,
                               agent: String = #"{"html_url":"https://acme.pagerduty.com/users/PALICE1","id":"PALICE1","self":"https://api.pagerduty.com/users/PALICE1","summary":"Alice Martin","type":"user_reference"}"#,
                               occurredAt: String = "2026-12-05T09:00:00.123Z") -> [UInt8] {
        Array("""
        {"event":{"id":"01DEN5QSX4T3TJPAE5ZKSY7O5W","event_type":"\(type)","resource_type":"incident",
        "occurred_at":"\(occurredAt)","agent":\(agent),"client":null,
        "data":{"id":"Q2W3E4R5T6Y7U8","type":"incident","self":"https://api.pagerduty.com/incidents/Q2W3E4R5T6Y7U8",
        "html_url":"https://acme.pagerduty.com/incidents/Q2W3E4R5T6Y7U8","number":42,"status":"acknowledged",
        "incident_key":\(key),"created_at":"2026-12-05T08:55:00Z","title":"Checkout down",
        "service":{"id":"PSVC001","type":"service_reference","summary":"Checkout"},"urgency":"high","resolve_reason":null}}}
        """.utf8)
    }

    @Test func acknowledgedAndResolvedEventsAreRequests() {
        let at = RFC3339.parse("2026-12-05T09:00:00.123Z")!
        #expect(PagerDutyWebhookWire.read(Self.pagerDutyEvent()) == .request(CallbackRequest(
            service: .pagerDuty, action: .acknowledge, incidentID: "INC-2026-0001", userID: "PALICE1", userName: "Alice Martin",
            reference: "Q2W3E4R5T6Y7U8"), occurredAt: at))
        guard case .request(let resolved, _) = PagerDutyWebhookWire.read(Self.pagerDutyEvent(type: "incident.resolved")) else {
            Issue.record("not read")
            return
        }
        #expect(resolved.action == .resolve)
        // A service (an integration, an automation) acting is no user.
        let service = #"{"id":"PSVC001","summary":"Checkout","type":"service_reference"}"#
        guard case .request(let byService, _) = PagerDutyWebhookWire.read(Self.pagerDutyEvent(agent: service)) else {
            Issue.record("not read")
            return
        }
        #expect(byService.userID == nil && byService.userName == "Checkout")
        guard case .request(let byNobody, _) = PagerDutyWebhookWire.read(Self.pagerDutyEvent(agent: "null")) else {
            Issue.record("not read")
            return
        }
        #expect(byNobody.userID == nil && byNobody.userName == nil)
    }

    @Test func otherEventsAreIgnored() {
        for type in ["incident.triggered", "incident.priority_updated", "incident.annotated", "pagey.ping", "service.updated"] {
            guard case .ignored(let why) = PagerDutyWebhookWire.read(Self.pagerDutyEvent(type: type)) else {
                Issue.record("not ignored: \(type)")
                continue
            }
            #expect(why.contains(type))
        }
        guard case .ignored = PagerDutyWebhookWire.read(Self.pagerDutyEvent(key: "null")) else {
            Issue.record("an incident without incident_key is not ignored")
            return
        }
    }

    @Test(arguments: [
        (#"[]"#, "the body is a list, expected an object"),
        (#"{"event":null}"#, "event is required"),
        (#"{"event":{"event_type":5}}"#, "event.event_type is a number or boolean"),
        (#"{"event":{"event_type":"incident.resolved","data":{}}}"#, "event.occurred_at is required"),
        (#"{"event":{"event_type":"incident.resolved","occurred_at":"yesterday","data":{}}}"#, "event.occurred_at \"yesterday\""),
        (#"{"event":{"event_type":"incident.resolved","occurred_at":"2026-12-05T09:00:00Z"}}"#, "event.data is required"),
        (#"{"event":{"event_type":"incident.resolved","occurred_at":"2026-12-05T09:00:00Z","data":{"type":"service"}}}"#, "event.data.type \"service\""),
        (#"{"event":{"event_type":"incident.resolved","occurred_at":"2026-12-05T09:00:00Z","data":{"incident_key":["x"]}}}"#, "event.data.incident_key is a list"),
        ("{\"event\":" + String(repeating: "[", count: 10_000), "not valid JSON"),
    ])
    func malformedEventsAreRefusedNamingTheField(body: String, reason: String) {
        guard case .refused(let why) = PagerDutyWebhookWire.read(Array(body.utf8)) else {
            Issue.record("not refused: \(body.prefix(80))")
            return
        }
        #expect(why.contains(reason), "\(why)")
    }
}
