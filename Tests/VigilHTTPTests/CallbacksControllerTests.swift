import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing
import VigilAccess
import VigilCore
@testable import VigilHTTP

/// What reached the daemon's side of the callbacks: a refused request must leave nothing here.
actor CallbackLedger {
    var requests: [CallbackRequest] = []
    func add(_ r: CallbackRequest) { requests.append(r) }
}

/// The callback routes over HummingbirdTesting, with a manual clock and a fake handler: what is
/// verified before anything is handed on, and how outcomes become answers.
@Suite struct CallbacksControllerTests {
    static let slackSecret = Array("slack-signing-secret-for-tests".utf8)
    static let pagerDutySecret = Array("pagerduty-webhook-secret".utf8)
    static let now = Timestamp(nanoseconds: 1_796_000_000 * 1_000_000_000)

    static func app(ledger: CallbackLedger, clock: ManualClock = ManualClock(now), enabled: Bool = true, teamID: String? = nil,
                    maxBodyBytes: Int = 4 << 20,
                    outcome: @escaping @Sendable (CallbackRequest) -> CallbackOutcome = { CallbackOutcome(.done, "\($0.incidentID) done", actor: "alice (via Slack)") })
        -> some ApplicationProtocol {
        let controller = CallbacksController(
            slack: enabled ? .init(verifier: SlackRequestVerifier(signingSecret: slackSecret, clock: clock), teamID: teamID) : nil,
            pagerDuty: enabled ? PagerDutySignatureVerifier(webhookSecret: pagerDutySecret) : nil,
            clock: clock, handle: { r in
                await ledger.add(r)
                return outcome(r)
            })
        let server = HTTPServer(settings: HTTPServerSettings(host: "127.0.0.1", port: 0, maxBodyBytes: maxBodyBytes),
                                services: HTTPServices(clock: clock, version: "t"), controllers: [controller], logger: Logger(label: "test"))
        return Application(router: server.router())
    }

    static func slackHeaders(_ body: [UInt8], timestamp: Int64 = 1_796_000_000, secret: [UInt8] = slackSecret) -> HTTPFields {
        let ts = String(timestamp)
        let mac = AccessCrypto.hmacSHA256(key: secret, message: Array("v0:\(ts):".utf8) + body)
        return [.contentType: "application/x-www-form-urlencoded", HTTPField.Name("X-Slack-Request-Timestamp")!: ts,
                HTTPField.Name("X-Slack-Signature")!: "v0=" + hexString(mac)]
    }

    static func pagerDutyHeaders(_ body: [UInt8], secrets: [[UInt8]] = [pagerDutySecret]) -> HTTPFields {
        let signatures = secrets.map { "v1=" + hexString(AccessCrypto.hmacSHA256(key: $0, message: body)) }
        return [.contentType: "application/json", HTTPField.Name("X-PagerDuty-Signature")!: signatures.joined(separator: ",")]
    }

    static let press = CallbackWireTests.slackForm(CallbackWireTests.slackPayload())

    @Test func aSignedPressIsHandedOnAndAnswered() async throws {
        let ledger = CallbackLedger()
        try await Self.app(ledger: ledger).test(.router) { client in
            try await client.execute(uri: "/api/v1/callbacks/slack", method: .post, headers: Self.slackHeaders(Self.press),
                                     body: ByteBuffer(bytes: Self.press)) { r in
                #expect(r.status == .ok)
                let answer = try JSONDecoder().decode([String: JSONValue].self, from: Data(buffer: r.body))
                #expect(answer == ["response_type": .string("ephemeral"), "replace_original": .bool(false), "text": .string("INC-2026-0001 done")])
            }
        }
        #expect(await ledger.requests == [CallbackRequest(service: .slack, action: .acknowledge, incidentID: "INC-2026-0001",
                                                          userID: "U024BE7LH", teamID: "T0001", userName: "alice")])
    }

    /// Wrong secret, a body changed after signing, no signature, a stale or future timestamp, a
    /// replay: 401 and nothing handed on.
    @Test func unsignedStaleAndReplayedPressesAreRefused() async throws {
        let ledger = CallbackLedger()
        let uri = "/api/v1/callbacks/slack"
        try await Self.app(ledger: ledger).test(.router) { client in
            let refusals: [(HTTPFields, [UInt8], String)] = [
                (Self.slackHeaders(Self.press, secret: Array("wrong".utf8)), Self.press, "does not match"),
                (Self.slackHeaders(Self.press), Self.press + Array("&x=1".utf8), "does not match"),
                ([.contentType: "application/x-www-form-urlencoded"], Self.press, "no X-Slack-Request-Timestamp"),
                (Self.slackHeaders(Self.press, timestamp: 1_796_000_000 - 301), Self.press, "301 s old"),
                (Self.slackHeaders(Self.press, timestamp: 1_796_000_000 + 400), Self.press, "400 s in the future"),
            ]
            for (headers, body, reason) in refusals {
                try await client.execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(bytes: body)) { r in
                    #expect(r.status == .unauthorized, "\(reason)")
                    #expect(String(buffer: r.body).contains(reason), "\(String(buffer: r.body))")
                }
            }
            #expect(await ledger.requests.isEmpty)
            // Within the window, the first is taken and the same signature again is a replay.
            let old = Self.slackHeaders(Self.press, timestamp: 1_796_000_000 - 299)
            try await client.execute(uri: uri, method: .post, headers: old, body: ByteBuffer(bytes: Self.press)) { r in
                #expect(r.status == .ok)
            }
            try await client.execute(uri: uri, method: .post, headers: old, body: ByteBuffer(bytes: Self.press)) { r in
                #expect(r.status == .unauthorized)
                #expect(String(buffer: r.body).contains("replay"))
            }
        }
        #expect(await ledger.requests.count == 1)
    }

    @Test func disabledRoutesAnswer404() async throws {
        let ledger = CallbackLedger()
        try await Self.app(ledger: ledger, enabled: false).test(.router) { client in
            try await client.execute(uri: "/api/v1/callbacks/slack", method: .post, headers: Self.slackHeaders(Self.press),
                                     body: ByteBuffer(bytes: Self.press)) { r in
                #expect(r.status == .notFound)
                #expect(String(buffer: r.body).contains("http.callbacks.slack"))
            }
            let event = CallbackWireTests.pagerDutyEvent()
            try await client.execute(uri: "/api/v1/callbacks/pagerduty", method: .post, headers: Self.pagerDutyHeaders(event),
                                     body: ByteBuffer(bytes: event)) { r in
                #expect(r.status == .notFound)
            }
        }
        #expect(await ledger.requests.isEmpty)
    }

    /// The callbacks read at most 1 MiB, less than other routes: refused before reading when the
    /// length is declared, while reading otherwise.
    @Test func oversizedBodiesAre413() async throws {
        let ledger = CallbackLedger()
        let big = Self.press + Array("&pad=".utf8) + [UInt8](repeating: 0x61, count: CallbacksController.maximumBodyBytes)
        try await Self.app(ledger: ledger).test(.router) { client in
            try await client.execute(uri: "/api/v1/callbacks/slack", method: .post, headers: Self.slackHeaders(big),
                                     body: ByteBuffer(bytes: big)) { r in
                #expect(r.status == .contentTooLarge)
            }
        }
        try await Self.app(ledger: ledger, maxBodyBytes: 4096).test(.router) { client in
            try await client.execute(uri: "/api/v1/callbacks/slack", method: .post, headers: Self.slackHeaders(Array(big.prefix(5000))),
                                     body: ByteBuffer(bytes: big.prefix(5000))) { r in
                #expect(r.status == .contentTooLarge, "http.max_body_bytes applies too")
            }
        }
        #expect(await ledger.requests.isEmpty)
    }

    @Test func signedButUnreadableOrOfAnotherWorkspace() async throws {
        let ledger = CallbackLedger()
        try await Self.app(ledger: ledger, teamID: "T0002").test(.router) { client in
            // (Each request is signed afresh: a signature is accepted once, even when what it signed is then refused.)
            var json = Self.slackHeaders(Self.press, timestamp: 1_796_000_000 - 1)
            json[.contentType] = "application/json"
            try await client.execute(uri: "/api/v1/callbacks/slack", method: .post, headers: json, body: ByteBuffer(bytes: Self.press)) { r in
                #expect(r.status == .unsupportedMediaType)
            }
            let garbage = Array("payload=%7Bnope".utf8)
            try await client.execute(uri: "/api/v1/callbacks/slack", method: .post, headers: Self.slackHeaders(garbage),
                                     body: ByteBuffer(bytes: garbage)) { r in
                #expect(r.status == .badRequest)
                #expect(String(buffer: r.body).contains("payload is not valid JSON"))
            }
            try await client.execute(uri: "/api/v1/callbacks/slack", method: .post, headers: Self.slackHeaders(Self.press),
                                     body: ByteBuffer(bytes: Self.press)) { r in
                #expect(r.status == .ok)
                #expect(String(buffer: r.body).contains("Slack workspace T0001 is not the one Vigil answers"))
            }
        }
        #expect(await ledger.requests.isEmpty)
    }

    @Test func anUnavailableDaemonIs503() async throws {
        let ledger = CallbackLedger()
        try await Self.app(ledger: ledger, outcome: { _ in CallbackOutcome(.unavailable, "the incident manager is not running") })
            .test(.router) { client in
                try await client.execute(uri: "/api/v1/callbacks/slack", method: .post, headers: Self.slackHeaders(Self.press),
                                         body: ByteBuffer(bytes: Self.press)) { r in
                    #expect(r.status == .serviceUnavailable)
                }
            }
    }

    // MARK: PagerDuty

    @Test func pagerDutyEventsAreVerifiedThenHandedOn() async throws {
        let ledger = CallbackLedger()
        let clock = ManualClock(RFC3339.parse("2026-12-05T09:00:30Z")!)
        let uri = "/api/v1/callbacks/pagerduty"
        try await Self.app(ledger: ledger, clock: clock, outcome: { CallbackOutcome(.already, "\($0.incidentID) is already acknowledged",
                                                                                       actor: "alice (via PagerDuty)") })
            .test(.router) { client in
                let event = CallbackWireTests.pagerDutyEvent()
                // One signature, and two while PagerDuty rotates the secret (ours is either).
                for secrets in [[Self.pagerDutySecret], [Array("old".utf8), Self.pagerDutySecret], [Self.pagerDutySecret, Array("new".utf8)]] {
                    try await client.execute(uri: uri, method: .post, headers: Self.pagerDutyHeaders(event, secrets: secrets),
                                             body: ByteBuffer(bytes: event)) { r in
                        #expect(r.status == .ok)
                        let answer = try JSONDecoder().decode([String: String].self, from: Data(buffer: r.body))
                        #expect(answer == ["outcome": "already", "message": "INC-2026-0001 is already acknowledged",
                                           "actor": "alice (via PagerDuty)"])
                    }
                }
                #expect(await ledger.requests.count == 3)
                for headers in [Self.pagerDutyHeaders(event, secrets: [Array("old".utf8)]), [.contentType: "application/json"]] {
                    try await client.execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(bytes: event)) { r in
                        #expect(r.status == .unauthorized)
                    }
                }
                // Ignored, answered 200 so PagerDuty neither retries nor disables the subscription.
                for ignored in [CallbackWireTests.pagerDutyEvent(type: "incident.triggered"),
                                CallbackWireTests.pagerDutyEvent(occurredAt: "2026-12-05T07:59:00Z"),
                                CallbackWireTests.pagerDutyEvent(occurredAt: "2026-12-05T09:06:00Z")] {
                    try await client.execute(uri: uri, method: .post, headers: Self.pagerDutyHeaders(ignored),
                                             body: ByteBuffer(bytes: ignored)) { r in
                        #expect(r.status == .ok)
                        #expect(String(buffer: r.body).contains(#""outcome":"ignored""#), "\(String(buffer: r.body))")
                    }
                }
                let bad = Array(#"{"event":{"event_type":"incident.resolved"}}"#.utf8)
                try await client.execute(uri: uri, method: .post, headers: Self.pagerDutyHeaders(bad), body: ByteBuffer(bytes: bad)) { r in
                    #expect(r.status == .badRequest)
                    #expect(String(buffer: r.body).contains("event.occurred_at is required"))
                }
            }
        #expect(await ledger.requests.count == 3)
    }
}

func hexString(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef")
    return String(bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0x0f)]] })
}
