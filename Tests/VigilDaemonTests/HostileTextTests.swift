import Foundation
import VigilTestSupport
import Testing
import VigilCore
import Logging
@testable import VigilDaemon

/// Issue 16: text a plugin chooses — its hello name, an action's result — reaches the
/// operator's terminal through `vigil plugins` and `vigil actions`, the incident the daemon opens
/// about the plugin, and the daemon's log. None of it may forge a line or carry a terminal escape.
@Suite(.serialized, .enabled(if: isRoot, "needs root (CI runs as root)"))
struct HostileTextTests {
    /// What a forged line or a terminal rewrite would need: a raw escape, a bell, a line break
    /// followed by the forged text, a bidirectional override.
    static func isInert(_ text: String) -> Bool {
        !text.contains("\u{1B}") && !text.contains("\u{07}") && !text.contains("\u{202E}")
            && !text.split(separator: "\n").contains { $0.hasPrefix("2026-12-06T00:00:00") || $0.hasPrefix("FORGED-LINE") }
    }

    @Test(.timeLimit(.minutes(3)))
    func pluginTextNeverForgesALineOrEscapesToTheTerminal() throws {
        let plugins = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-text-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: plugins, withIntermediateDirectories: true)
        chmod(plugins, 0o755)
        defer { try? FileManager.default.removeItem(atPath: plugins) }
        let sdk = repositoryRoot + "/Plugins/sdk/python"
        let behave = repositoryRoot + "/Tests/VigilPluginHostTests/Fixtures/python/behave.py"
        try installPlugin(at: plugins + "/forged-name", manifest: """
            name: forged-name
            kind: detector
            critical: true
            emits: [test_metric]
            exec: behave.py
            args: [forged-name, forged-name]
            protocol: 1
            sandbox: { read_paths: [\(sdk)], env: { VIGIL_SDK: \(sdk) } }
            """, copy: [behave: "behave.py"])
        try installPlugin(at: plugins + "/forged-detail", manifest: """
            name: forged-detail
            kind: action
            exec: behave.py
            args: [forged-detail-action, forged-detail]
            protocol: 1
            sandbox: { read_paths: [\(sdk)], env: { VIGIL_SDK: \(sdk) } }
            config: { actions: [tidy_up] }
            """, copy: [behave: "behave.py"])
        try installPlugin(at: plugins + "/forged-version", manifest: """
            name: forged-version
            kind: detector
            emits: [test_metric]
            exec: behave.py
            args: [forged-version, forged-version]
            protocol: 1
            sandbox: { read_paths: [\(sdk)], env: { VIGIL_SDK: \(sdk) } }
            """, copy: [behave: "behave.py"])
        let daemon = try DaemonProcess(config: try isolatedConfig(pluginDirectories: [plugins]))
        defer { daemon.stop() }
        let state = daemon.stateDirectory

        func cli(_ args: [String]) throws -> String {
            let r = try vigil(args, stateDirectory: state)
            #expect(r.status == 0, "vigil \(args.joined(separator: " ")): \(r.err)")
            return r.out + r.err
        }
        func json(_ args: [String]) throws -> JSONValue {
            try JSONDecoder().decode(JSONValue.self, from: Data(try cli(args + ["--json"]).utf8))
        }

        // The forged hello is refused, again and again, until the crash-loop quarantine.
        #expect(try eventually(60) { try json(["plugins", "show", "forged-name"])["state"]?.stringValue == "quarantined" },
                "\(daemon.log)")
        let cause = try json(["plugins", "show", "forged-name"])["cause"]?.stringValue ?? ""
        #expect(cause.contains("handshake rejected"), "\(cause)")
        #expect(cause.contains("\\n2026-12-06T00:00:00"), "the name's line break is shown escaped: \(cause)")
        #expect(!cause.contains("\\\\n2026"), "escaped once, not twice: \(cause)")
        for args in [["plugins", "list"], ["plugins", "show", "forged-name"], ["plugins", "show", "forged-name", "--json"]] {
            let out = try cli(args)
            #expect(Self.isInert(out), "vigil \(args.joined(separator: " ")):\n\(out)")
        }
        // A critical plugin's quarantine opens an incident whose reason label is the cause.
        var quarantine: JSONValue?
        #expect(try eventually {
            quarantine = try json(["incidents", "list"]).arrayValue?.first { $0["labels"]?["plugin"]?.stringValue == "forged-name" }
            return quarantine != nil
        }, "\(daemon.log)")
        let reason = quarantine?["labels"]?["reason"]?.stringValue ?? ""
        #expect(!reason.isEmpty && Self.isInert(reason), "reason label: \(reason)")
        if let id = quarantine?["id"]?.stringValue {
            #expect(Self.isInert(try cli(["incidents", "show", id])))
        }

        // An action's forged result detail.
        #expect(try eventually { try json(["plugins", "show", "forged-detail"])["state"]?.stringValue == "running" },
                "\(daemon.log)")
        let incident = try json(["incidents", "declare", "--title", "disk filling", "--severity", "P3"])
        let id = try #require(incident["id"]?.stringValue)
        let ran = try json(["actions", "run", "tidy_up", "--incident", id])
        #expect(ran["state"]?.stringValue == "succeeded", "\(String(describing: ran).prefix(500))")
        let detail = ran["detail"]?.stringValue ?? ""
        #expect(detail.contains("done\\nFORGED-LINE"), "stored escaped: \(detail.prefix(80))")
        #expect(detail.utf8.count < 4200, "cut: \(detail.utf8.count) bytes")
        let actionID = try #require(ran["id"]?.doubleValue)
        for args in [["actions", "list"], ["actions", "show", "\(Int(actionID))"], ["incidents", "timeline", id],
                     ["actions", "list", "--json"]] {
            let out = try cli(args)
            #expect(Self.isInert(out), "vigil \(args.joined(separator: " ")):\n\(out.prefix(2000))")
        }
        // An accepted hello with a forged version, and an alert whose name carries escapes: both
        // reach the daemon's log, as one escaped line each.
        #expect(try eventually { try json(["plugins", "show", "forged-version"])["state"]?.stringValue == "running" },
                "\(daemon.log)")
        let alert = #"[{"labels":{"alertname":"Esc\u001b[2J\u001b]0;owned\u0007\u202e\nFORGED-LINE x","severity":"critical"}}]"#
        let posted = try runProgram("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST",
                                                      "-H", "Content-Type: application/json", "--data-binary", "@-",
                                                      "http://\(try daemon.httpAddress())/api/v2/alerts"], stdin: alert)
        #expect(posted.out == "200", "\(posted)")
        #expect(daemon.waitForLog("Esc\\u{1B}[2J", timeout: 30), "the alert's name is logged, escaped")
        #expect(daemon.waitForLog("plugin=forged-version version=1\\n2026-12-06", timeout: 30), "the version is logged, escaped")
        #expect(Self.isInert(daemon.log), "the daemon's log holds no forged line or escape")
        #expect(!daemon.log.split(separator: "\n").contains { $0.utf8.count > 20_000 }, "no 100 kB line")
    }
}

/// The daemon's log handler writes every entry as one line of plain text.
@Suite struct LogLineTests {
    @Test func messagesAndMetadataBecomeOneEscapedLine() {
        let forged = "x\n2026-12-06T00:00:00+0000 critical vigild: FORGED\u{1B}[2J\u{1B}]0;own\u{7}\u{202E}\r\u{0}\u{85}"
        let event = LogEvent(level: .info, message: Logger.Message(stringLiteral: forged),
                             metadata: ["v": .string(forged), "n": .array([.string("\u{1B}")]),
                                        "d": .dictionary(["k\u{1B}": .stringConvertible(42)])],
                             source: "test", file: #fileID, function: #function, line: #line)
        let safe = AdjustableLogHandler.oneLine(event)
        let texts = [safe.message.description, "\(safe.metadata ?? [:])"]
        for text in texts {
            #expect(!text.unicodeScalars.contains { AdjustableLogHandler.isUnsafe($0) }, "\(text)")
        }
        #expect(safe.message.description.hasPrefix("x\\n2026-12-06T00:00:00+0000 critical vigild: FORGED\\u{1B}[2J"))
        #expect(safe.metadata?["d"] == .dictionary(["k\\u{1B}": .string("42")]))
        // Plain text, and text escaped before (a backslash stays one backslash), is left as it is.
        let plain = LogEvent(level: .info, message: "incident opened \\n", metadata: ["id": "INC-1"], source: "t",
                             file: #fileID, function: #function, line: #line)
        #expect(AdjustableLogHandler.oneLine(plain).message.description == "incident opened \\n")
    }
}
