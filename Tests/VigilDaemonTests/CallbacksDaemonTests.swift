import Foundation
import Testing
import VigilAccess
import VigilCore
import VigilTestSupport

/// Slack's buttons and PagerDuty's webhooks against a real vigild listening off loopback, so
/// nothing but the signature lets them in: requests signed as the services sign them, sent with curl.
@Suite(.serialized) struct CallbacksDaemonTests {
    static let slackSecret = "slack-signing-secret-daemon-test"
    static let pagerDutySecret = "pagerduty-webhook-secret-daemon-test"

    /// The default configuration with both callbacks on (secrets in files beside it) and alice
    /// mapped to a Slack member id and a PagerDuty user id.
    static func config() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-callbacks-\(UUID().uuidString.prefix(8))").path
        // A notifier for the pagerduty channel, and a mirror: PagerDuty may act only on incidents
        // Vigil sent it.
        let sdk = repositoryRoot + "/Plugins/sdk"
        try installPlugin(at: dir + "/plugins/pd-echo", manifest: """
            name: pd-echo
            kind: notifier
            exec: behave.py
            args: [echo-notifier, pd-echo]
            protocol: 1
            sandbox: { read_paths: [\(sdk)], env: { VIGIL_SDK: \(sdk)/python } }
            config: { channels: [pagerduty] }
            """, copy: [repositoryRoot + "/Tests/VigilPluginHostTests/Fixtures/python/behave.py": "behave.py"])
        _ = try runProgram("/bin/chmod", ["-R", "a+rX", dir])
        var text = try defaultConfigText(pluginDirectories: [dir + "/plugins"])
        let mirrors = "  # mirrors:\n  #   - { channel: pagerduty, recipient: default, min_severity: P2 }\n"
        guard text.contains(mirrors) else { throw DaemonTestError("Config/vigil.yaml changed: \(mirrors)") }
        text = text.replacingOccurrences(of: mirrors, with: "  mirrors:\n    - { channel: pagerduty, recipient: default, min_severity: P2 }\n")
        let auth = "  auth:\n    loopback_anonymous: sender\n"
        let alice = "contacts: { email: alice@example.org }"
        guard text.contains(auth), text.contains(alice) else { throw DaemonTestError("Config/vigil.yaml changed: \(auth) / \(alice)") }
        text = text.replacingOccurrences(of: auth, with: auth + """
              callbacks:
                slack: { signing_secret_file: slack.secret }
                pagerduty: { webhook_secret_file: pagerduty.secret }

            """)
        text = text.replacingOccurrences(of: alice, with: "contacts: { email: alice@example.org, slack: U0ALICE, pagerduty: PALICE1 }")
        // Dave holds the primary rotation whatever the week: in alice's weeks her backlog notice for
        // the P4 would fall back from email to her PagerDuty contact, and that incident must stay
        // one Vigil never sent to PagerDuty.
        let overrides = "  overrides: []\n"
        guard text.contains(overrides) else { throw DaemonTestError("Config/vigil.yaml changed: \(overrides)") }
        text = text.replacingOccurrences(of: overrides, with: """
              overrides:
                - { rotation: primary, person: dave, from: 2026-01-01T00:00:00Z, until: 2036-01-01T00:00:00Z }

            """)
        try (slackSecret + "\n").write(toFile: dir + "/slack.secret", atomically: true, encoding: .utf8)
        try (pagerDutySecret + "\n").write(toFile: dir + "/pagerduty.secret", atomically: true, encoding: .utf8)
        try text.write(toFile: dir + "/vigil.yaml", atomically: true, encoding: .utf8)
        return dir + "/vigil.yaml"
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef")
        return String(bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0x0f)]] })
    }

    /// POSTs `body` (from a file, so a large one cannot block a pipe) with `headers`.
    static func post(_ url: String, body: String, headers: [String]) throws -> (code: Int, body: String) {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-body-\(UUID().uuidString)").path
        try body.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let r = try runProgram("/usr/bin/curl", ["-s", "-m", "10", "-X", "POST", "-w", "\n%{http_code}", url, "--data-binary", "@" + file]
            + headers.flatMap { ["-H", $0] })
        let lines = r.out.split(separator: "\n", omittingEmptySubsequences: false)
        return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
    }

    /// A press of one of Vigil's buttons as Slack posts it: the form, signed at `timestamp`.
    static func slackPress(_ url: String, action: String, incident: String, user: String = "U0ALICE",
                           timestamp: Int? = nil, secret: String = slackSecret, padding: Int = 0) throws -> (code: Int, body: String) {
        let payload = """
            {"type":"block_actions","user":{"id":"\(user)","username":"\(user.lowercased())","team_id":"T0001"},\
            "team":{"id":"T0001","domain":"example"},"trigger_id":"\(UUID().uuidString)",\
            "actions":[{"action_id":"\(action)","block_id":"vigil","value":"\(incident)","type":"button","action_ts":"1"}]}
            """
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._*")
        let body = "payload=" + payload.addingPercentEncoding(withAllowedCharacters: allowed)!
            + (padding > 0 ? "&padding=" + String(repeating: "a", count: padding) : "")
        let ts = String(timestamp ?? Int(Date().timeIntervalSince1970))
        let mac = AccessCrypto.hmacSHA256(key: Array(secret.utf8), message: Array("v0:\(ts):\(body)".utf8))
        return try post(url, body: body, headers: ["Content-Type: application/x-www-form-urlencoded",
                                                   "X-Slack-Request-Timestamp: \(ts)", "X-Slack-Signature: v0=\(hex(mac))"])
    }

    /// A PagerDuty v3 webhook event, signed with each of `secrets` (two during a rotation).
    static func pagerDutyEvent(_ url: String, type: String, incident: String, agent: String = "PALICE1",
                               secrets: [String] = [pagerDutySecret]) throws -> (code: Int, body: String) {
        let body = """
            {"event":{"id":"\(UUID().uuidString)","event_type":"\(type)","resource_type":"incident",\
            "occurred_at":"\(Timestamp(Date()).rfc3339)","agent":{"id":"\(agent)","summary":"Agent \(agent)","type":"user_reference"},\
            "client":null,"data":{"id":"Q1PD0001","type":"incident","number":7,"status":"acknowledged","incident_key":"\(incident)",\
            "title":"Checkout down"}}}
            """
        let signatures = secrets.map { "v1=" + hex(AccessCrypto.hmacSHA256(key: Array($0.utf8), message: Array(body.utf8))) }
        return try post(url, body: body, headers: ["Content-Type: application/json",
                                                   "X-PagerDuty-Signature: \(signatures.joined(separator: ","))"])
    }

    static func declare(_ d: DaemonProcess, _ title: String, severity: String = "P2") throws -> String {
        let r = try vigil(["incidents", "declare", "--title", title, "--severity", severity, "--json"], stateDirectory: d.stateDirectory)
        return try #require(try JSONDecoder().decode(JSONValue.self, from: Data(r.out.utf8))["id"]?.stringValue, "\(r.err)")
    }

    static func show(_ d: DaemonProcess, _ id: String) throws -> JSONValue {
        let r = try vigil(["incidents", "show", id, "--json"], stateDirectory: d.stateDirectory)
        return try JSONDecoder().decode(JSONValue.self, from: Data(r.out.utf8))
    }

    /// Walks an incident along its lifecycle to `validating`, where it may be resolved.
    static func toValidating(_ d: DaemonProcess, _ id: String) throws {
        for state in ["classified", "mobilised", "containing", "contained", "investigating", "remediating", "recovering", "validating"] {
            let current = try show(d, id)["state"]?.stringValue
            guard current != "validating" else { return }
            _ = try vigil(["incidents", "transition", id, state, "--reason", "test walk"], stateDirectory: d.stateDirectory)
        }
        #expect(try show(d, id)["state"]?.stringValue == "validating")
    }

    static func timeline(_ d: DaemonProcess, _ id: String) throws -> [JSONValue] {
        try show(d, id)["timeline"]?.arrayValue ?? []
    }

    /// The buttons act as the roster person mapped to the Slack user, through the same command
    /// path as the CLI; anything unsigned, stale, replayed, unmapped or oversized changes nothing.
    @Test(.timeLimit(.minutes(2))) func slackButtonsActAsTheMappedPerson() throws {
        let d = try DaemonProcess(config: try Self.config(), httpListen: "0.0.0.0:0")
        defer { d.stop() }
        let url = "http://" + (try d.httpAddress()) + "/api/v1/callbacks/slack"
        let id = try Self.declare(d, "Checkout down")
        func acknowledged() throws -> Bool { try Self.show(d, id)["acknowledged_at"] != nil }

        let unmapped = try Self.slackPress(url, action: "vigil_acknowledge", incident: id, user: "U0STRANGER")
        #expect(unmapped.code == 200 && unmapped.body.contains("Slack user U0STRANGER (u0stranger) is not anyone in Vigil's roster"),
                "\(unmapped)")
        let wrong = try Self.slackPress(url, action: "vigil_acknowledge", incident: id, secret: "not-the-secret")
        #expect(wrong.code == 401, "\(wrong)")
        let stale = try Self.slackPress(url, action: "vigil_acknowledge", incident: id, timestamp: Int(Date().timeIntervalSince1970) - 301)
        #expect(stale.code == 401 && stale.body.contains("s old"), "\(stale)")
        let huge = try Self.slackPress(url, action: "vigil_acknowledge", incident: id, padding: 1 << 20)
        #expect(huge.code == 413, "\(huge)")
        #expect(try !acknowledged(), "nothing refused changed the incident")
        #expect(d.waitForLog("callback refused: not authenticated"), "\(d.log)")
        #expect(d.log.contains("the signature does not match") && d.log.contains("s old, more than the 300 s allowed"))
        #expect(d.log.contains("U0STRANGER") && !d.log.contains(Self.slackSecret))

        // The press as Slack sends it: no Vigil token, off loopback.
        let ts = Int(Date().timeIntervalSince1970)
        let press = try Self.slackPress(url, action: "vigil_acknowledge", incident: id, timestamp: ts)
        #expect(press.code == 200 && press.body.contains("\(id) acknowledged by alice (via Slack)"), "\(press)")
        #expect(try acknowledged())
        let ack = try #require(try Self.timeline(d, id).first { $0["kind"]?.stringValue == "acknowledged" })
        #expect(ack["actor"]?.stringValue == "alice (via Slack)", "\(ack)")
        #expect(ack["message"]?.stringValue?.hasPrefix("Acknowledged by alice (via Slack)") == true, "\(ack)")
        let again = try Self.slackPress(url, action: "vigil_acknowledge", incident: id)
        #expect(again.code == 200 && again.body.contains("already acknowledged"), "\(again)")

        // Resolve before validating: refused by the lifecycle, said on the timeline; then allowed.
        let early = try Self.slackPress(url, action: "vigil_resolve", incident: id)
        #expect(early.code == 200 && early.body.contains("\(id) was not resolved"), "\(early)")
        #expect(try Self.timeline(d, id).contains {
            $0["actor"]?.stringValue == "alice (via Slack)" && $0["message"]?.stringValue?.contains("Slack: resolve requested by alice (via Slack), not done") == true
        })
        try Self.toValidating(d, id)
        let resolve = try Self.slackPress(url, action: "vigil_resolve", incident: id)
        #expect(resolve.code == 200 && resolve.body.contains("\(id) resolved by alice (via Slack)"), "\(resolve)")
        let resolved = try Self.show(d, id)
        #expect(resolved["state"]?.stringValue == "resolved", "\(resolved)")
        let entry = try #require(try Self.timeline(d, id).first { $0["kind"]?.stringValue == "resolved" })
        #expect(entry["actor"]?.stringValue == "alice (via Slack)")
        let unknown = try Self.slackPress(url, action: "vigil_acknowledge", incident: "INC-1999-0001")
        #expect(unknown.code == 200 && unknown.body.contains("no incident INC-1999-0001"), "\(unknown)")
    }

    /// A replayed press (the same request, byte for byte, within the window) is refused.
    @Test(.timeLimit(.minutes(2))) func aReplayedPressIsRefused() throws {
        let d = try DaemonProcess(config: try Self.config(), httpListen: "0.0.0.0:0")
        defer { d.stop() }
        let url = "http://" + (try d.httpAddress()) + "/api/v1/callbacks/slack"
        let id = try Self.declare(d, "Queue stuck")
        let ts = String(Int(Date().timeIntervalSince1970))
        let body = "payload=" + #"{"type":"block_actions","user":{"id":"U0ALICE"},"actions":[{"action_id":"vigil_acknowledge","value":"\#(id)"}]}"#
            .addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        let mac = AccessCrypto.hmacSHA256(key: Array(Self.slackSecret.utf8), message: Array("v0:\(ts):\(body)".utf8))
        let headers = ["Content-Type: application/x-www-form-urlencoded", "X-Slack-Request-Timestamp: \(ts)",
                       "X-Slack-Signature: v0=\(Self.hex(mac))"]
        #expect(try Self.post(url, body: body, headers: headers).code == 200)
        let replay = try Self.post(url, body: body, headers: headers)
        #expect(replay.code == 401 && replay.body.contains("replay"), "\(replay)")
        #expect(d.waitForLog("already accepted (replay)"), "\(d.log)")
    }

    /// PagerDuty acknowledging and resolving an incident Vigil paged does the same in Vigil, as the
    /// mapped person or as `pagerduty`; repeats are harmless, and only signed events act.
    @Test(.timeLimit(.minutes(2))) func pagerDutyWebhooksFollowTheIncident() throws {
        let d = try DaemonProcess(config: try Self.config(), httpListen: "0.0.0.0:0")
        defer { d.stop() }
        let url = "http://" + (try d.httpAddress()) + "/api/v1/callbacks/pagerduty"
        // An incident Vigil never sent to PagerDuty is not acted on from there.
        let unsent = try Self.declare(d, "Not on PagerDuty", severity: "P4")
        let id = try Self.declare(d, "Payments slow")
        #expect(try eventually(30) { try Self.timeline(d, id).contains { $0["message"]?.stringValue?.hasPrefix("Delivered pagerduty") == true } })
        let notSent = try Self.pagerDutyEvent(url, type: "incident.acknowledged", incident: unsent)
        let unsentLines = try Self.timeline(d, unsent).map { $0["message"]?.stringValue ?? "" }
        #expect(notSent.code == 200 && notSent.body.contains("never sent"), "\(notSent); \(unsentLines)")
        #expect(try Self.show(d, unsent)["acknowledged_at"] == nil)

        let forged = try Self.pagerDutyEvent(url, type: "incident.acknowledged", incident: id, secrets: ["guess"])
        #expect(forged.code == 401, "\(forged)")
        #expect(try Self.show(d, id)["acknowledged_at"] == nil)
        // Mid-rotation: signed with the old secret and with ours.
        let ack = try Self.pagerDutyEvent(url, type: "incident.acknowledged", incident: id, secrets: ["old-secret", Self.pagerDutySecret])
        #expect(ack.code == 200 && ack.body.contains(#""outcome":"done""#) && ack.body.contains("alice (via PagerDuty)"), "\(ack)")
        let entry = try #require(try Self.timeline(d, id).first { $0["kind"]?.stringValue == "acknowledged" })
        #expect(entry["actor"]?.stringValue == "alice (via PagerDuty)")
        #expect(entry["message"]?.stringValue?.contains("in PagerDuty by Agent PALICE1 (PALICE1), PagerDuty incident Q1PD0001") == true, "\(entry)")
        let echo = try Self.pagerDutyEvent(url, type: "incident.acknowledged", incident: id)
        #expect(echo.code == 200 && echo.body.contains(#""outcome":"already""#), "\(echo)")

        let other = try Self.pagerDutyEvent(url, type: "incident.priority_updated", incident: id)
        #expect(other.code == 200 && other.body.contains(#""outcome":"ignored""#), "\(other)")
        let stranger = try Self.pagerDutyEvent(url, type: "incident.resolved", incident: "not-a-vigil-incident")
        #expect(stranger.code == 200 && stranger.body.contains(#""outcome":"unknown_incident""#), "\(stranger)")

        // Resolved by a PagerDuty user who is not in the roster: recorded as pagerduty.
        try Self.toValidating(d, id)
        let resolved = try Self.pagerDutyEvent(url, type: "incident.resolved", incident: id, agent: "PSOMEONE")
        #expect(resolved.code == 200 && resolved.body.contains(#""actor":"pagerduty""#), "\(resolved)")
        #expect(try Self.show(d, id)["state"]?.stringValue == "resolved")
        let resolution = try #require(try Self.timeline(d, id).first { $0["kind"]?.stringValue == "resolved" })
        #expect(resolution["actor"]?.stringValue == "pagerduty", "\(resolution)")
        let repeated = try Self.pagerDutyEvent(url, type: "incident.resolved", incident: id)
        #expect(repeated.code == 200 && repeated.body.contains(#""outcome":"already""#), "\(repeated)")
    }
}
