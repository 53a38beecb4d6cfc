import Foundation
import Testing
import VigilCore
import VigilTestSupport

/// Runs a program to completion; returns its status and its standard output (standard error
/// too, after it, when `stderr` is true).
func runProgram(_ path: String, _ args: [String], stdin: String? = nil, stderr: Bool = false) throws -> (status: Int32, out: String) {
    guard FileManager.default.isExecutableFile(atPath: path) else {
        throw DaemonTestError("\(path) is missing (CI installs it: Makefile APT_PACKAGES)")
    }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = args
    let out = Pipe()
    p.standardOutput = out
    // amtool warns on stderr that Vigil's version is not Alertmanager's.
    p.standardError = stderr ? out : FileHandle.nullDevice
    if let stdin {
        let input = Pipe()
        p.standardInput = input
        try p.run()
        input.fileHandleForWriting.write(Data(stdin.utf8))
        try input.fileHandleForWriting.close()
    } else {
        try p.run()
    }
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// `curl` a request at the daemon; returns the status code and body.
func curl(_ method: String, _ url: String, json body: String? = nil, token: String? = nil) throws -> (code: Int, body: String) {
    var args = ["-s", "-m", "10", "-X", method, "-w", "\n%{http_code}", url]
    if let token { args += ["-H", "Authorization: Bearer \(token)"] }
    if body != nil { args += ["-H", "Content-Type: application/json", "--data-binary", "@-"] }
    let r = try runProgram("/usr/bin/curl", args, stdin: body)
    let lines = r.out.split(separator: "\n", omittingEmptySubsequences: false)
    return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
}

/// A configuration for alert tests: no plugins; incidents whose alerts all resolved are resolved
/// after one clear second (`incidents.when_condition_clears`), and `alerting` as given.
func alertingConfig(_ alerting: String = "") throws -> String {
    var text = try defaultConfigText()
    let clears = "when_condition_clears:\n    move_to: validating\n    after: 5 minutes"
    guard text.contains(clears) else { throw DaemonTestError("Config/vigil.yaml no longer has \(clears)") }
    text = text.replacingOccurrences(of: clears, with: "when_condition_clears:\n    move_to: resolved\n    after: 1 second")
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-alerts-\(UUID().uuidString.prefix(8))").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    try (text + "\n" + alerting).write(toFile: dir + "/vigil.yaml", atomically: true, encoding: .utf8)
    return dir + "/vigil.yaml"
}

/// A fresh API token of `role` from the daemon (reads over HTTP need one; loopback senders do not).
func apiToken(_ d: DaemonProcess, role: String = "viewer", person: String? = nil) throws -> String {
    let r = try vigil(["tokens", "create", "--role", role, "--person", person ?? "test-\(role)"], stateDirectory: d.stateDirectory)
    guard r.status == 0 else { throw DaemonTestError("vigil tokens create: \(r.err)") }
    return r.out.trimmingCharacters(in: .whitespacesAndNewlines)
}

func incidentList(_ d: DaemonProcess) throws -> [JSONValue] {
    let r = try vigil(["incidents", "list", "--json"], stateDirectory: d.stateDirectory)
    guard r.status == 0 else { throw DaemonTestError("vigil incidents list: \(r.err)") }
    return try JSONDecoder().decode(JSONValue.self, from: Data(r.out.utf8)).arrayValue ?? []
}

@Suite(.serialized) struct AlertIntakeDaemonTests {
    @Test(.timeLimit(.minutes(2))) func amtoolAddAndQueryAgainstVigild() throws {
        let d = try DaemonProcess(config: try alertingConfig())
        defer { d.stop() }
        let httpConfig = d.stateDirectory + "/amtool-http.yml"
        try "authorization:\n  credentials: \(try apiToken(d, role: "admin"))\n".write(toFile: httpConfig, atomically: true, encoding: .utf8)
        let url = "--alertmanager.url=http://" + (try d.httpAddress())
        let auth = "--http.config.file=" + httpConfig
        let add = try runProgram("/usr/bin/amtool", [url, auth, "alert", "add", "alertname=VigilAmtool", "severity=critical",
                                                     "instance=h1", "--annotation=summary=Disk full on h1"])
        #expect(add.status == 0, "\(add.out)")
        let query = try runProgram("/usr/bin/amtool", [url, auth, "alert", "query", "-o", "json", "alertname=VigilAmtool"])
        #expect(query.status == 0, "\(query.out)")
        let listed = try JSONDecoder().decode(JSONValue.self, from: Data(query.out.utf8)).arrayValue ?? []
        #expect(listed.count == 1)
        #expect(listed.first?["fingerprint"]?.stringValue == AlertFingerprint.hex(
            ["alertname": "VigilAmtool", "severity": "critical", "instance": "h1"]))
        #expect(listed.first?["annotations"]?["summary"]?.stringValue == "Disk full on h1")
        let simple = try runProgram("/usr/bin/amtool", [url, auth, "alert", "query"])
        #expect(simple.out.contains("VigilAmtool"), "\(simple.out)")
        // The alert opened one incident, critical → the active ladder's Critical (P1 on p1-p4).
        #expect(try eventually(20) {
            try incidentList(d).contains { $0["fingerprint"]?.stringValue == "alertmanager:{}:{alertname=\"VigilAmtool\"}"
                && $0["severity"]?.stringValue == "P1" }
        }, "\((try? incidentList(d)) ?? [])")
        // Silenced as Alertmanager shows it: left out of the default query, listed with
        // --silenced, suppressed and silencedBy the silence's id.
        let silence = try runProgram("/usr/bin/amtool", [url, auth, "silence", "add", "alertname=VigilAmtool",
                                                         "--comment=swap", "--duration=1h", "--author=ana"])
        #expect(silence.status == 0, "\(silence.out)")
        let silenceID = silence.out.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try eventually(10) {
            !(try runProgram("/usr/bin/amtool", [url, auth, "alert", "query"])).out.contains("VigilAmtool")
        })
        let silenced = try runProgram("/usr/bin/amtool", [url, auth, "alert", "query", "--silenced", "-o", "json", "alertname=VigilAmtool"])
        let shown = try JSONDecoder().decode(JSONValue.self, from: Data(silenced.out.utf8)).arrayValue ?? []
        #expect(shown.first?["status"]?["state"]?.stringValue == "suppressed", "\(silenced.out)")
        #expect(shown.first?["status"]?["silencedBy"]?.arrayValue == [.string(silenceID)], "\(silenced.out)")
    }

    @Test(.timeLimit(.minutes(2))) func acceptedAlertSurvivesKillNine() throws {
        let d = try DaemonProcess(config: try alertingConfig())
        defer { d.stop() }
        let base = "http://" + (try d.httpAddress())
        let posted = try curl("POST", base + "/api/v2/alerts",
                              json: #"[{"labels":{"alertname":"Durable","instance":"h9"},"endsAt":"2099-01-01T00:00:00Z"}]"#)
        #expect(posted.code == 200)
        d.killHard()  // right after the 200: nothing may be lost
        try d.start()
        let base2 = "http://" + (try d.httpAddress())
        let listed = try curl("GET", base2 + "/api/v2/alerts?filter=alertname%3D%22Durable%22", token: try apiToken(d))
        #expect(listed.code == 200)
        #expect(listed.body.contains(AlertFingerprint.hex(["alertname": "Durable", "instance": "h9"])), "\(listed.body)")
    }

    @Test(.timeLimit(.minutes(2))) func groupResolvesWhenEveryAlertResolved() throws {
        let d = try DaemonProcess(config: try alertingConfig("""
            alerting:
              group_by: [alertname]
              routes:
                - name: database
                  matchers: ['team="db"']
                  incident_type: Elevated error rates
                  component: postgres
            """))
        defer { d.stop() }
        let base = "http://" + (try d.httpAddress())
        let two = #"[{"labels":{"alertname":"DBDown","team":"db","instance":"a"},"endsAt":"2099-01-01T00:00:00Z"},"#
            + #"{"labels":{"alertname":"DBDown","team":"db","instance":"b"},"endsAt":"2099-01-01T00:00:00Z"}]"#
        #expect(try curl("POST", base + "/api/v2/alerts", json: two).code == 200)
        let key = "alertmanager:{}/{team=\"db\"}:{alertname=\"DBDown\"}"
        func incident() throws -> JSONValue? { try incidentList(d).first { $0["fingerprint"]?.stringValue == key } }
        #expect(try eventually(20) { try incident() != nil })
        #expect(try incident()?["occurrences"]?.doubleValue == 2)
        // One resolved, one still firing: the incident stays open.
        let past = "2020-01-01T00:00:00Z"
        #expect(try curl("POST", base + "/api/v2/alerts", json: #"[{"labels":{"alertname":"DBDown","team":"db","instance":"a"},"endsAt":"\#(past)"}]"#).code == 200)
        let groups = try curl("GET", base + "/api/v2/alerts/groups", token: try apiToken(d))
        #expect(groups.body.contains("\"name\":\"database\""), "\(groups.body)")
        #expect(try incident()?["state"]?.stringValue != "resolved")
        #expect(try curl("POST", base + "/api/v2/alerts", json: #"[{"labels":{"alertname":"DBDown","team":"db","instance":"b"},"endsAt":"\#(past)"}]"#).code == 200)
        #expect(try eventually(20) { try incident()?["state"]?.stringValue == "resolved" }, "\(String(describing: try? incident()))")
    }
}

extension AlertIntakeDaemonTests {
    /// Nobody re-sends the alert: its lease runs out, the clock service resolves it, and the
    /// incident follows the condition-cleared path.
    @Test(.timeLimit(.minutes(1))) func leaseRunningOutInARealDaemonResolvesTheIncident() throws {
        let d = try DaemonProcess(config: try alertingConfig())
        defer { d.stop() }
        let base = "http://" + (try d.httpAddress())
        let ends = RFC3339.format(Timestamp(Date()) + .seconds(2))
        #expect(try curl("POST", base + "/api/v2/alerts", json: #"[{"labels":{"alertname":"Lease"},"endsAt":"\#(ends)"}]"#).code == 200)
        let key = "alertmanager:{}:{alertname=\"Lease\"}"
        func state() throws -> String? { try incidentList(d).first { $0["fingerprint"]?.stringValue == key }?["state"]?.stringValue }
        #expect(try eventually(20) { try state() != nil })
        #expect(try eventually(30) { try state() == "resolved" }, "\(String(describing: try? state()))")
        #expect(try curl("GET", base + "/api/v2/alerts", token: try apiToken(d)).body == "[]")
    }
}

/// The HTTP server in a real vigild: readiness, status, TLS from `http.tls`, and TLS files that
/// cannot be read refused at start.
@Suite(.serialized) struct HTTPDaemonTests {
    @Test(.timeLimit(.minutes(1))) func readyAndStatusAnswer() throws {
        let d = try DaemonProcess(config: try alertingConfig())
        defer { d.stop() }
        let base = "http://" + (try d.httpAddress())
        #expect(try curl("GET", base + "/-/healthy").code == 200)
        #expect(try curl("GET", base + "/-/ready").code == 200)
        let token = try apiToken(d)
        let status = try curl("GET", base + "/api/v2/status", token: token)
        #expect(status.code == 200)
        let body = try JSONDecoder().decode(JSONValue.self, from: Data(status.body.utf8))
        #expect(body["cluster"]?["status"]?.stringValue == "disabled")
        #expect(body["config"]?["original"]?.stringValue?.contains("http:") == true)
        #expect(try curl("GET", base + "/no/such/route", token: token).code == 404)
        #expect(try curl("GET", base + "/api/v2/status").code == 401, "reads need a token, even on loopback")
        #expect(d.log.contains("http listening"))
    }

    @Test(.timeLimit(.minutes(1))) func servesTLSFromTheConfiguredFiles() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-tls-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let made = try runProgram("/usr/bin/openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                                                       "-subj", "/CN=localhost", "-keyout", dir + "/key.pem",
                                                       "-out", dir + "/cert.pem"], stderr: true)
        #expect(made.status == 0, "\(made.out)")
        let config = try alertingConfig()
        let text = try String(contentsOfFile: config, encoding: .utf8).replacingOccurrences(
            of: "  # tls: { certificate: /etc/vigil/tls.crt, key: /etc/vigil/tls.key }",
            with: "  tls: { certificate: \(dir)/cert.pem, key: \(dir)/key.pem }")
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        let d = try DaemonProcess(config: config)
        defer { d.stop() }
        let address = try d.httpAddress()
        let r = try runProgram("/usr/bin/curl", ["-s", "-m", "10", "--cacert", dir + "/cert.pem", "-w", "%{http_code}",
                                                 "-o", "/dev/null", "--resolve", "localhost:\(address.split(separator: ":").last ?? ""):127.0.0.1",
                                                 "https://localhost:\(address.split(separator: ":").last ?? "")/-/healthy"])
        #expect(r.out == "200", "\(r.out)")
        // Plain HTTP on the TLS port gets no HTTP answer.
        #expect(try curl("GET", "http://\(address)/-/healthy").code != 200)
    }

    @Test(.timeLimit(.minutes(1))) func unreadableTLSFilesStopTheStart() throws {
        let config = try alertingConfig()
        let text = try String(contentsOfFile: config, encoding: .utf8).replacingOccurrences(
            of: "  # tls: { certificate: /etc/vigil/tls.crt, key: /etc/vigil/tls.key }",
            with: "  tls: { certificate: /nonexistent/cert.pem, key: /nonexistent/key.pem }")
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("vigild-tls-\(UUID().uuidString.prefix(8))").path
        let r = try runProgram(productsDirectory + "/vigild", ["--config", config, "--state-dir", state,
                                                               "--http-listen", "127.0.0.1:0"], stderr: true)
        #expect(r.status == 78)
        #expect(r.out.contains("/nonexistent/cert.pem"), "\(r.out)")
    }
}
