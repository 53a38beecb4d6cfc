import Foundation
import Testing
import VigilControl
import VigilCore
import VigilTestSupport

/// Host agents against a real central vigild, both real processes on this machine (own state
/// folders and ports, no plugins): what an agent sees becomes the central daemon's incident,
/// nothing is lost while the central daemon is down, a replay applies nothing twice, containment
/// runs on the agent's host, and an agent that stops calling in is an incident.
@Suite(.serialized) struct AgentDaemonTests {
    /// A central daemon on a fixed loopback port (so a restart keeps the address agents use).
    struct Central {
        let daemon: DaemonProcess
        let base: String
        let tokenFile: String

        init(missingAfter: String = "5 seconds", tls: (certificate: String, key: String)? = nil) throws {
            let port = try freePort()
            let config = try alertingConfig("agents:\n  missing_after: \(missingAfter)\n")
            if let tls {
                let text = try String(contentsOfFile: config, encoding: .utf8).replacingOccurrences(
                    of: "  # tls: { certificate: /etc/vigil/tls.crt, key: /etc/vigil/tls.key }",
                    with: "  tls: { certificate: \(tls.certificate), key: \(tls.key) }")
                try text.write(toFile: config, atomically: true, encoding: .utf8)
            }
            daemon = try DaemonProcess(config: config, httpListen: "127.0.0.1:\(port)")
            base = (tls == nil ? "http" : "https") + "://127.0.0.1:\(port)"
            let token = try apiToken(daemon, role: "agent", person: "web-01")
            tokenFile = daemon.stateDirectory + ".agent-token"
            try token.write(toFile: tokenFile, atomically: true, encoding: .utf8)
        }

        func incidents() throws -> [JSONValue] {
            try incidentList(daemon).filter { $0["fingerprint"]?.stringValue?.hasPrefix("agent/web-01/") == true }
        }
    }

    /// A host agent forwarding to `central`, with no plugins (its containment is the built-in actions).
    static func agent(_ central: Central, extra: String = "", stateDirectory: String? = nil) throws -> DaemonProcess {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-agent-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let text = try defaultConfigText() + """

            agent:
              central: \(central.base)
              token_file: \(central.tokenFile)
              call_in: 1 second
              timeout: 2 seconds
            """ + extra
        try text.write(toFile: dir + "/vigil.yaml", atomically: true, encoding: .utf8)
        return try DaemonProcess(config: dir + "/vigil.yaml", stateDirectory: stateDirectory)
    }

    static func breach(_ agent: DaemonProcess, plugin: String) throws {
        let r = try vigil(["emit", "signal", "plugin_isolation_breach_detected", "--label", "plugin=\(plugin)"],
                          stateDirectory: agent.stateDirectory)
        #expect(r.status == 0, "\(r.err)")
    }

    static func status(_ d: DaemonProcess) throws -> StatusView {
        let r = try vigil(["status", "--json"], stateDirectory: d.stateDirectory)
        guard r.status == 0 else { throw DaemonTestError("vigil status: \(r.err)") }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(StatusView.self, from: Data(r.out.utf8))
    }

    @Test(.timeLimit(.minutes(3))) func anAgentsBreachIsTheCentralIncidentAndItsContainmentRunsOnTheAgent() throws {
        let central = try Central()
        defer { central.daemon.stop() }
        let agent = try Self.agent(central)
        defer { agent.stop() }
        #expect(try eventually(20) { try Self.status(agent).agentMode?.state == "forwarding" })
        try Self.breach(agent, plugin: "evil")
        #expect(try eventually(20) { try central.incidents().count == 1 }, "\((try? incidentList(central.daemon)) ?? [])")
        let incident = try #require(try central.incidents().first)
        #expect(incident["labels"]?["agent"]?.stringValue == "web-01")
        #expect(incident["labels"]?["plugin"]?.stringValue == "evil")
        #expect(incident["severity"]?.stringValue == "P1")
        // Nothing is opened on the agent itself.
        #expect(try incidentList(agent).isEmpty)
        // The central daemon's own breach of a plugin of the same name is its own incident: hosts
        // never correlate, whatever their plugins are called.
        let own = try vigil(["emit", "signal", "plugin_isolation_breach_detected", "--label", "plugin=evil"],
                            stateDirectory: central.daemon.stateDirectory)
        #expect(own.status == 0, "\(own.err)")
        #expect(try eventually(20) {
            try incidentList(central.daemon).contains {
                $0["labels"]?["plugin"]?.stringValue == "evil" && $0["fingerprint"]?.stringValue?.hasPrefix("agent/") == false
            }
        }, "the central daemon's own breach joined the agent's incident")
        #expect(try central.incidents().count == 1)
        // The automated containment ran on the agent's host and is recorded on the central daemon.
        let id = try #require(incident["id"]?.stringValue)
        func actions() throws -> [JSONValue] {
            let r = try vigil(["actions", "list", "--json", "--incident", id], stateDirectory: central.daemon.stateDirectory)
            return try JSONDecoder().decode(JSONValue.self, from: Data(r.out.utf8)).arrayValue ?? []
        }
        #expect(try eventually(30) {
            try actions().contains { $0["action"]?.stringValue == "enable_enhanced_logging" && $0["state"]?.stringValue == "succeeded" }
        }, "\((try? actions()) ?? [])")
        let logging = try #require(try actions().first { $0["action"]?.stringValue == "enable_enhanced_logging" })
        #expect(logging["detail"]?.stringValue?.hasPrefix("agent:web-01: vigild: logging at debug") == true, "\(logging)")
        #expect(try String(contentsOfFile: agent.logPath, encoding: .utf8).contains("ran a containment action for the central daemon"))
        // Undone from the central daemon, on the agent's host.
        let actionID = try #require(logging["id"]?.doubleValue.map { Int($0) })
        let undo = try vigil(["actions", "undo", "\(actionID)"], stateDirectory: central.daemon.stateDirectory)
        #expect(undo.status == 0 && undo.out.contains("undone"), "\(undo.out) \(undo.err)")
        #expect(try String(contentsOfFile: agent.logPath, encoding: .utf8).contains("undid a containment action for the central daemon"))
        // Both sides say where they stand.
        let agents = try #require(try Self.status(central.daemon).agents)
        #expect(agents.map(\.name) == ["web-01"] && agents[0].state == "ok" && agents[0].received >= 1)
        let listed = try vigil(["agents"], stateDirectory: central.daemon.stateDirectory)
        #expect(listed.status == 0 && listed.out.contains("web-01") && listed.out.contains("ok"), "\(listed.out)")
    }

    @Test(.timeLimit(.minutes(3))) func signalsSeenWhileTheCentralDaemonIsDownArriveInOrderOnceEach() throws {
        let central = try Central()
        defer { central.daemon.stop() }
        let agent = try Self.agent(central)
        defer { agent.stop() }
        #expect(try eventually(20) { try Self.status(agent).agentMode?.state == "forwarding" })
        central.daemon.stop()
        let plugins = ["first", "second", "third"]
        var emittedAt: [Date] = []
        for p in plugins {
            emittedAt.append(Date())
            try Self.breach(agent, plugin: p)
            // Spooled before the next one is emitted: the order is the order seen.
            #expect(try eventually(10) { (try Self.status(agent).agentMode?.spooled ?? 0) == emittedAt.count })
        }
        #expect(try eventually(20) { try Self.status(agent).agentMode?.state == "unreachable" })
        // A restart of the agent itself loses nothing either: the spool is on disk.
        agent.stop()
        try agent.start()
        #expect(try Self.status(agent).agentMode?.spooled == 3)
        let restartedAt = Date()
        try central.daemon.start()
        #expect(try eventually(30) { try central.incidents().count == 3 }, "\((try? incidentList(central.daemon)) ?? [])")
        #expect(try eventually(10) { try Self.status(agent).agentMode?.spooled == 0 })
        let incidents = try central.incidents().sorted { ($0["id"]?.stringValue ?? "") < ($1["id"]?.stringValue ?? "") }
        #expect(incidents.map { $0["labels"]?["plugin"]?.stringValue } == plugins)
        for (incident, emitted) in zip(incidents, emittedAt) {
            let detected = try #require(incident["detected_at"]?.stringValue.flatMap(RFC3339.parse))
            // The original detection time, not the time the central daemon heard of it.
            #expect(abs(detected.seconds - emitted.timeIntervalSince1970) < 3, "\(incident)")
            #expect(detected.seconds < restartedAt.timeIntervalSince1970)
            #expect(incident["occurrences"]?.doubleValue == 1)
        }
    }

    @Test(.timeLimit(.minutes(2))) func aReplayedBatchAppliesNothingTwiceAndOnlyAgentTokensForward() throws {
        let central = try Central()
        defer { central.daemon.stop() }
        let token = try String(contentsOfFile: central.tokenFile, encoding: .utf8)
        let now = Int64(Date().timeIntervalSince1970 * 1e9)
        func batch(_ seqs: [Int]) -> String {
            let items = seqs.map { n in
                #"{"seq":\#(n),"signal":{"transition":"firing","ruleID":"replay_rule","expression":"x > 1","labels":{"host":"web-01"},"# +
                    #""fingerprint":"replay-\#(n)","value":2,"unit":"","firstHeldAt":\#(now),"at":\#(now),"# +
                    #""severity":"P3","description":"replayed \#(n)"}}"#
            }
            return #"{"version":1,"spool":"replay-spool","signals":[\#(items.joined(separator: ","))]}"#
        }
        let url = central.base + "/api/v1/agents/signals"
        let first = try curl("POST", url, json: batch([1, 2, 3]), token: token)
        #expect(first.code == 200, "\(first.body)")
        #expect(first.body.contains(#""acknowledged":3"#) && first.body.contains(#""applied":3"#), "\(first.body)")
        #expect(try eventually(10) { try central.incidents().count == 3 })
        // The same batch again (a lost answer), and an overlapping one: only seq 4 is new.
        let again = try curl("POST", url, json: batch([1, 2, 3]), token: token)
        #expect(again.code == 200 && again.body.contains(#""duplicates":3"#) && again.body.contains(#""applied":0"#), "\(again.body)")
        let overlap = try curl("POST", url, json: batch([2, 3, 4]), token: token)
        #expect(overlap.body.contains(#""applied":1"#) && overlap.body.contains(#""acknowledged":4"#), "\(overlap.body)")
        #expect(try eventually(10) { try central.incidents().count == 4 })
        #expect(try central.incidents().allSatisfy { $0["occurrences"]?.doubleValue == 1 })
        // A malformed signal is refused by its seq, the others applied; a malformed envelope is a 400.
        let mixed = #"{"version":1,"spool":"replay-spool","signals":[{"seq":5,"signal":{"ruleID":"broken"}}]}"#
        let refused = try curl("POST", url, json: mixed, token: token)
        #expect(refused.code == 200 && refused.body.contains(#""acknowledged":5"#) && refused.body.contains("missing transition"), "\(refused.body)")
        let bad = try curl("POST", url, json: #"{"version":1,"spool":"replay-spool","signals":[{"seq":7},{"seq":6}]}"#, token: token)
        #expect(bad.code == 400, "\(bad.body)")
        // Only an agent's token forwards; every other role and no token are refused, and nothing is stored.
        for role in ["admin", "responder", "sender", "viewer"] {
            let other = try curl("POST", url, json: batch([9]), token: try apiToken(central.daemon, role: role))
            #expect(other.code == 403, "\(role): \(other.body)")
        }
        #expect(try curl("POST", url, json: batch([9]), token: "vgl_000000000000_nope").code == 401)
        #expect(try central.incidents().count == 4)
        // The agent cannot read the API, and agents are listed for a viewer.
        #expect(try curl("GET", central.base + "/api/v1/incidents", token: token).code == 403)
        let listed = try curl("GET", central.base + "/api/v1/agents", token: try apiToken(central.daemon, role: "viewer"))
        #expect(listed.code == 200 && listed.body.contains(#""name":"web-01""#), "\(listed.body)")
    }

    /// An https central daemon with a certificate of a private CA: the agent trusts it through
    /// `agent.ca_file`, and without it refuses to send anything (nothing is lost: it stays spooled).
    @Test(.timeLimit(.minutes(2))) func overHTTPSTheAgentTrustsOnlyItsCAFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-agent-tls-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let made = try runProgram("/usr/bin/openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                                                       "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                                                       "-keyout", dir + "/key.pem", "-out", dir + "/cert.pem"], stderr: true)
        #expect(made.status == 0, "\(made.out)")
        let central = try Central(tls: (dir + "/cert.pem", dir + "/key.pem"))
        defer { central.daemon.stop() }
        let untrusting = try Self.agent(central)
        defer { untrusting.stop() }
        #expect(try eventually(20) { try Self.status(untrusting).agentMode?.lastError?.isEmpty == false })
        #expect(try Self.status(untrusting).agentMode?.state == "unreachable")
        try Self.breach(untrusting, plugin: "spooled")
        #expect(try eventually(10) { try Self.status(untrusting).agentMode?.spooled == 1 })
        untrusting.stop()
        // The same agent (its state folder), now trusting the CA: what it spooled arrives, then what it sees.
        let trusting = try Self.agent(central, extra: "\n  ca_file: \(dir)/cert.pem\n", stateDirectory: untrusting.stateDirectory)
        defer { trusting.stop() }
        #expect(try eventually(20) { try Self.status(trusting).agentMode?.state == "forwarding" })
        try Self.breach(trusting, plugin: "over-tls")
        #expect(try eventually(20) {
            Set(try central.incidents().compactMap { $0["labels"]?["plugin"]?.stringValue }) == ["spooled", "over-tls"]
        }, "\((try? incidentList(central.daemon)) ?? [])")
    }

    @Test(.timeLimit(.minutes(2))) func anAgentThatStopsCallingInIsAnIncidentClearedWhenItReturns() throws {
        let central = try Central(missingAfter: "5 seconds")
        defer { central.daemon.stop() }
        let agent = try Self.agent(central)
        defer { agent.stop() }
        #expect(try eventually(20) { try Self.status(central.daemon).agents?.first?.state == "ok" })
        agent.stop()
        func missing() throws -> JSONValue? {
            try incidentList(central.daemon).first { $0["fingerprint"]?.stringValue == "agent-missing:web-01" }
        }
        #expect(try eventually(30) { try missing() != nil }, "no incident for the silent agent")
        #expect(try Self.status(central.daemon).agents?.first?.state == "missing")
        try agent.start()
        #expect(try eventually(30) { try Self.status(central.daemon).agents?.first?.state == "ok" })
        #expect(try eventually(30) { try missing()?["state"]?.stringValue == "resolved" }, "\(String(describing: try? missing()))")
    }
}
