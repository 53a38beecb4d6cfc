import Foundation
import Testing
import VigilCore
import VigilTestSupport

/// The incident API (`/api/v1`) of a real vigild, driven by the real `vigil --url --token` and curl.
@Suite(.serialized) struct IncidentAPIDaemonTests {
    /// `vigil --url … --token …` sends the socket's commands over HTTP; the timeline names the
    /// token's person, not the local account, and a client-supplied name is refused.
    @Test(.timeLimit(.minutes(2))) func remoteCLIWorksIncidentsAsTheTokensPerson() throws {
        let d = try DaemonProcess(config: try alertingConfig())
        defer { d.stop() }
        let base = "http://" + (try d.httpAddress())
        let token = try apiToken(d, role: "responder")
        // A state folder with no daemon: if the CLI used the socket it would fail.
        let remote = ["--url", base, "--token", token, "--state-dir", d.stateDirectory + "/nowhere"]
        let declared = try runVigil(["incidents", "declare", "--title", "Checkout down", "--severity", "P2", "--json"] + remote)
        #expect(declared.status == 0, "\(declared.err)")
        let id = try #require(try JSONDecoder().decode(JSONValue.self, from: Data(declared.out.utf8))["id"]?.stringValue)
        // The leading form, and the environment variables.
        let acked = try runVigil(["--url", base, "--token", token, "incidents", "ack", id, "--note", "looking"])
        #expect(acked.status == 0, "\(acked.err)")
        #expect(acked.out.contains("\(id) acknowledged at"))
        let shown = try runVigil(["incidents", "show", id, "--json"],
                                 prefix: ["/usr/bin/env", "VIGIL_URL=\(base)", "VIGIL_TOKEN=\(token)"])
        #expect(shown.status == 0, "\(shown.err)")
        let view = try JSONDecoder().decode(JSONValue.self, from: Data(shown.out.utf8))
        #expect(view["state"]?.stringValue == "acknowledged" || view["acknowledged_at"] != nil)
        let timeline = view["timeline"]?.arrayValue ?? []
        let ack = try #require(timeline.first { $0["kind"]?.stringValue == "acknowledged" } ?? timeline.first {
            ($0["message"]?.stringValue ?? "").lowercased().contains("acknowledged")
        })
        #expect(ack["actor"]?.stringValue == "test-responder", "\(ack)")
        let declaredEntry = try #require(timeline.first)
        #expect(declaredEntry["actor"]?.stringValue == "test-responder", "\(declaredEntry)")
        // The same incident through the socket shows the same view.
        let local = try vigil(["incidents", "timeline", id], stateDirectory: d.stateDirectory)
        #expect(local.out.contains("test-responder"))
        // `--as` is the socket's; over HTTP the token's person is the only name.
        let asOther = try runVigil(["incidents", "comment", id, "hi", "--as", "alice"] + remote)
        #expect(asOther.status == 1)
        #expect(asOther.err.contains("as: not accepted over HTTP"), "\(asOther.err)")
        // Unknown incident: the daemon's sentence, exit 1.
        let missing = try runVigil(["incidents", "show", "INC-1999-0001"] + remote)
        #expect(missing.status == 1 && missing.err.contains("HTTP 404: no incident INC-1999-0001"), "\(missing.err)")
        // No token: told how to get one, before anything is sent.
        let tokenless = try runVigil(["incidents", "list", "--url", base, "--state-dir", d.stateDirectory])
        #expect(tokenless.status == 69 && tokenless.err.contains("needs an API token"), "\(tokenless.err)")
    }

    /// Status codes and roles of the incident API on a real server.
    @Test(.timeLimit(.minutes(2))) func statusCodesAndRoles() throws {
        let d = try DaemonProcess(config: try alertingConfig())
        defer { d.stop() }
        let base = "http://" + (try d.httpAddress()) + "/api/v1"
        let viewer = try apiToken(d, role: "viewer"), responder = try apiToken(d, role: "responder")
        let sender = try apiToken(d, role: "sender"), admin = try apiToken(d, role: "admin")

        // 400 naming the field; nothing is declared.
        let untitled = try curl("POST", base + "/incidents", json: #"{"severity":"P2"}"#, token: responder)
        #expect(untitled.code == 400 && untitled.body.contains("title"), "\(untitled)")
        let malformed = try curl("POST", base + "/incidents", json: #"{"title": "#, token: responder)
        #expect(malformed.code == 400 && malformed.body.contains("body: not valid JSON"), "\(malformed)")
        let wrongType = try curl("POST", base + "/incidents", json: #"{"title": 5}"#, token: responder)
        #expect(wrongType.code == 400 && wrongType.body.contains("title"), "\(wrongType)")
        #expect(try curl("GET", base + "/incidents", token: viewer).body == "[]")

        // Roles: the viewer reads only; the sender not even that.
        #expect(try curl("POST", base + "/incidents", json: #"{"title":"x","severity":"P3"}"#, token: viewer).code == 403)
        #expect(try curl("GET", base + "/incidents", token: sender).code == 403)
        #expect(try curl("GET", base + "/status", token: sender).code == 403)
        #expect(try curl("GET", base + "/incidents").code == 401)
        let created = try curl("POST", base + "/incidents", json: #"{"title":"Queue stuck","severity":"P3"}"#, token: responder)
        #expect(created.code == 200, "\(created)")
        let id = try #require(try JSONDecoder().decode(JSONValue.self, from: Data(created.body.utf8))["id"]?.stringValue)
        #expect(try curl("GET", base + "/incidents/\(id)", token: viewer).code == 200)
        #expect(try curl("GET", base + "/status", token: viewer).code == 200)
        #expect(try curl("GET", base + "/oncall", token: viewer).code == 200)
        #expect(try curl("GET", base + "/runbooks", token: viewer).code == 200)
        #expect(try curl("GET", base + "/actions", token: viewer).code == 200)
        #expect(try curl("GET", base + "/plugins", token: viewer).code == 200)
        #expect(try curl("POST", base + "/incidents/\(id)/ack", token: viewer).code == 403)
        // Tokens and plugin switches are the admin's.
        #expect(try curl("GET", base + "/tokens", token: responder).code == 403)
        #expect(try curl("POST", base + "/plugins/none/disable", token: responder).code == 403)
        let tokens = try curl("GET", base + "/tokens", token: admin)
        #expect(tokens.code == 200 && tokens.body.contains("test-viewer") && !tokens.body.contains("vgl_"), "\(tokens)")
        #expect(try curl("POST", base + "/plugins/none/disable", token: admin).code != 403)

        // 404 unknown incident, 409 a change its state does not allow.
        #expect(try curl("GET", base + "/incidents/INC-1999-0001", token: viewer).code == 404)
        #expect(try curl("POST", base + "/incidents/INC-1999-0001/ack", token: responder).code == 404)
        #expect(try curl("POST", base + "/incidents/\(id)/ack", token: responder).code == 200)
        let again = try curl("POST", base + "/incidents/\(id)/ack", token: responder)
        #expect(again.code == 409 && again.body.contains("already acknowledged"), "\(again)")
        let jump = try curl("POST", base + "/incidents/\(id)/transition", json: #"{"state":"closed","reason":"skip"}"#, token: responder)
        #expect(jump.code == 409, "\(jump)")
        let comment = try curl("POST", base + "/incidents/\(id)/comments", json: #"{"text":"draining the queue"}"#, token: responder)
        #expect(comment.code == 200, "\(comment)")
        let timeline = try curl("GET", base + "/incidents/\(id)/timeline", token: viewer)
        let entries = try JSONDecoder().decode(JSONValue.self, from: Data(timeline.body.utf8)).arrayValue ?? []
        let note = try #require(entries.first { $0["message"]?.stringValue?.contains("draining the queue") == true })
        #expect(note["actor"]?.stringValue == "test-responder")
    }
}
