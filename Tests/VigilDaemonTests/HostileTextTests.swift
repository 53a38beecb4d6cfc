import Foundation
import VigilTestSupport
import Testing
import VigilCore

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
        #expect(Self.isInert(daemon.log), "the daemon's log holds no forged line or escape")
    }
}
