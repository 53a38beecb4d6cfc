import Foundation
import Testing
import VigilCore
import VigilTestSupport

/// Tokens, acknowledgement links and /metrics in a real vigild, over real sockets.
@Suite(.serialized) struct HTTPAccessDaemonTests {
    static let alert = #"[{"labels":{"alertname":"RoleCheck","instance":"h1"},"endsAt":"2099-01-01T00:00:00Z"}]"#

    /// Off loopback nothing answers without a token; each role is refused what it may not do, and
    /// a refused post stores nothing.
    @Test(.timeLimit(.minutes(2))) func rolesOnARealServerOffLoopback() throws {
        let d = try DaemonProcess(config: try alertingConfig(), httpListen: "0.0.0.0:0")
        defer { d.stop() }
        let base = "http://" + (try d.httpAddress())
        let admin = try apiToken(d, role: "admin"), viewer = try apiToken(d, role: "viewer")
        let responder = try apiToken(d, role: "responder"), sender = try apiToken(d, role: "sender")
        let revoked = try apiToken(d, role: "admin")
        let revokedID = String(revoked.dropFirst(4).prefix(12))
        #expect(try vigil(["tokens", "revoke", revokedID], stateDirectory: d.stateDirectory).status == 0)

        #expect(try curl("GET", base + "/-/healthy").code == 200)
        #expect(try curl("GET", base + "/metrics").code == 200)
        // No token, a revoked one, an unknown one: 401 for a post, even from this host (not loopback-only).
        for token in [nil, revoked, "vgl_000000000000_" + String(repeating: "A", count: 43)] {
            #expect(try curl("POST", base + "/api/v2/alerts", json: Self.alert, token: token).code == 401, "\(token ?? "none")")
            #expect(try curl("GET", base + "/api/v2/alerts", token: token).code == 401)
        }
        // Viewer and responder may not send; the sender may not read.
        #expect(try curl("POST", base + "/api/v2/alerts", json: Self.alert, token: viewer).code == 403)
        #expect(try curl("POST", base + "/api/v2/alerts", json: Self.alert, token: responder).code == 403)
        #expect(try curl("GET", base + "/api/v2/alerts", token: sender).code == 403)
        #expect(try curl("GET", base + "/api/v2/status", token: viewer).code == 200)
        // Nothing a refused request carried was stored: no alert, no incident.
        #expect(try curl("GET", base + "/api/v2/alerts", token: admin).body == "[]")
        #expect(try incidentList(d).isEmpty)
        #expect(try curl("POST", base + "/api/v2/alerts", json: Self.alert, token: sender).code == 200)
        #expect(try curl("GET", base + "/api/v2/alerts", token: viewer).body.contains("RoleCheck"))
        let refusal = try curl("POST", base + "/api/v2/alerts", json: Self.alert, token: viewer)
        #expect(refusal.body.contains("the viewer role may not send alerts"), "\(refusal.body)")
    }

    /// A link from `vigil incidents ack-link`: GET shows the page and changes nothing, POST
    /// acknowledges as the link's person, a second POST is refused.
    @Test(.timeLimit(.minutes(2))) func ackLinkOverHTTP() throws {
        let d = try DaemonProcess(config: try alertingConfig())
        defer { d.stop() }
        let base = "http://" + (try d.httpAddress())
        let declared = try vigil(["incidents", "declare", "--title", "Checkout down", "--severity", "P1", "--json"],
                                 stateDirectory: d.stateDirectory)
        let id = try #require(try JSONDecoder().decode(JSONValue.self, from: Data(declared.out.utf8))["id"]?.stringValue)
        let path = try vigil(["incidents", "ack-link", id, "--person", "alice"], stateDirectory: d.stateDirectory)
            .out.trimmingCharacters(in: .whitespacesAndNewlines)
        let page = try curl("GET", base + path)
        #expect(page.code == 200 && page.body.contains("Acknowledge incident <strong>\(id)</strong>"), "\(page)")
        func acknowledged() throws -> Bool {
            try incidentList(d).first { $0["id"]?.stringValue == id }?["acknowledged_at"] != nil
        }
        #expect(try !acknowledged(), "a GET changes nothing")
        #expect(try curl("POST", base + path).code == 200)
        #expect(try acknowledged())
        let timeline = try vigil(["incidents", "timeline", id], stateDirectory: d.stateDirectory).out
        #expect(timeline.contains("Acknowledged by alice") && timeline.contains("from a signed acknowledgement link"), "\(timeline)")
        #expect(try curl("POST", base + path).code == 410)
        #expect(try curl("POST", base + path.dropLast(3) + "AAA").code == 404)
    }

    /// A page carries one signed acknowledgement link per person it is for, under the address
    /// the server really bound; the bundled webhook notifier passes it on, and the link works.
    @Test(.timeLimit(.minutes(2)), .enabled(if: isRoot, "plugins run sandboxed as root"))
    func pagesCarryWorkingAckLinks() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-links-\(UUID().uuidString.prefix(8))").path
        let plugins = root + "/plugins"
        try FileManager.default.createDirectory(atPath: plugins, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        // A receiver on loopback that writes each body it is sent as one line.
        let received = root + "/received.jsonl"
        let sink = Process()
        sink.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        sink.arguments = ["-c", """
            import http.server, sys
            class H(http.server.BaseHTTPRequestHandler):
                def do_POST(self):
                    body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                    with open(sys.argv[1], "ab") as f:
                        f.write(body.replace(b"\\n", b" ") + b"\\n")
                    self.send_response(200); self.end_headers()
                def log_message(self, *a): pass
            s = http.server.HTTPServer(("127.0.0.1", 0), H)
            print(s.server_port, flush=True)
            s.serve_forever()
            """, received]
        let out = Pipe()
        sink.standardOutput = out
        try sink.run()
        // SIGKILL: the test process's blocked signals are inherited, SIGTERM may never arrive.
        defer { kill(sink.processIdentifier, SIGKILL); sink.waitUntilExit() }
        let portLine = String(decoding: out.fileHandleForReading.availableData, as: UTF8.self)
        let port = try #require(Int(portLine.trimmingCharacters(in: .whitespacesAndNewlines)), "sink port: \(portLine)")

        for name in ["webhook", "sdk"] {
            try FileManager.default.copyItem(atPath: repositoryRoot + "/Plugins/" + name, toPath: plugins + "/" + name)
        }
        let manifest = plugins + "/webhook/plugin.yaml"
        let text = try String(contentsOfFile: manifest, encoding: .utf8)
            .replacingOccurrences(of: "egress: [\"127.0.0.1:9099\"]", with: "egress: [\"127.0.0.1:\(port)\"]")
            .replacingOccurrences(of: "http://127.0.0.1:9099/vigil", with: "http://127.0.0.1:\(port)/vigil")
            .replacingOccurrences(of: "channels: [\"webhook\"]", with: "channels: [\"*\"]")
        try text.write(toFile: manifest, atomically: true, encoding: .utf8)
        _ = try runProgram("/bin/chmod", ["-R", "a+rX", root])

        let d = try DaemonProcess(config: try isolatedConfig(pluginDirectories: [plugins]))
        defer { d.stop() }
        let base = "http://" + (try d.httpAddress())
        let declared = try vigil(["incidents", "declare", "--title", "Checkout down", "--severity", "P1", "--json"],
                                 stateDirectory: d.stateDirectory)
        let id = try #require(try JSONDecoder().decode(JSONValue.self, from: Data(declared.out.utf8))["id"]?.stringValue,
                              "\(declared.err)")
        var links: [JSONValue] = []
        var body = ""
        #expect(try eventually(60) {
            let lines = ((try? String(contentsOfFile: received, encoding: .utf8)) ?? "").split(separator: "\n")
            for line in lines {
                guard let page = try? JSONDecoder().decode(JSONValue.self, from: Data(line.utf8)),
                      page["incident"]?["id"]?.stringValue == id,
                      let found = page["incident"]?["ack_links"]?.arrayValue, !found.isEmpty else { continue }
                links = found
                body = page["body"]?.stringValue ?? ""
                return true
            }
            return false
        }, "a page with links reached the receiver\n\(d.log)")
        let link = try #require(links.first)
        let person = try #require(link["person"]?.stringValue)
        let url = try #require(link["url"]?.stringValue)
        #expect(url.hasPrefix(base + "/ack/v1."), "\(url) is under \(base)")
        #expect(link["expires_at"]?.stringValue != nil)
        #expect(body.contains("Acknowledge as \(person): \(url)"), "\(body)")
        #expect(try curl("GET", url).code == 200)
        #expect(try curl("POST", url).code == 200)
        let incident = try incidentList(d).first { $0["id"]?.stringValue == id }
        #expect(incident?["acknowledged_at"] != nil)
        let timeline = try vigil(["incidents", "timeline", id], stateDirectory: d.stateDirectory).out
        #expect(timeline.contains("Acknowledged by \(person)"), "\(timeline)")
    }

    /// The real /metrics after real work passes `promtool check metrics` with nothing to say.
    @Test(.timeLimit(.minutes(2))) func metricsPassPromtool() throws {
        let d = try DaemonProcess(config: try alertingConfig())
        defer { d.stop() }
        let base = "http://" + (try d.httpAddress())
        #expect(try curl("POST", base + "/api/v2/alerts", json: Self.alert).code == 200)
        #expect(try curl("POST", base + "/api/v2/alerts", json: #"[{"labels":{}}]"#).code == 400)
        #expect(try eventually(20) { try !incidentList(d).isEmpty })
        let metrics = try curl("GET", base + "/metrics")
        #expect(metrics.code == 200)
        for line in [#"alertmanager_alerts_received_total{status="firing",version="v2"} 1"#,
                     #"alertmanager_alerts_invalid_total{version="v2"} 1"#, "vigil_incidents_opened_total{",
                     "vigil_eventbus_queue_depth{lane=", "vigil_incidents_open{"] {
            #expect(metrics.body.contains(line), "missing \(line) in:\n\(metrics.body)")
        }
        let lint = try runProgram("/usr/bin/promtool", ["check", "metrics"], stdin: metrics.body, stderr: true)
        #expect(lint.status == 0, "promtool: \(lint.out)")
        #expect(lint.out.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "promtool: \(lint.out)")
    }
}
