import Foundation
import VigilTestSupport
import Testing
import VigilCore
import VigilDaemon

/// Issue 10's hostile-plugin suite against the real daemon, run as root as `vigild` runs: every
/// plugin below really tries to escape, all at once, next to a well-behaved detector. Each attempt
/// must fail inside the plugin, the daemon must record the right cause, breaches must open a
/// Critical incident naming the plugin, and the daemon must keep running and keep serving the
/// healthy plugin.
@Suite(.serialized, .enabled(if: isRoot && FileManager.default.isExecutableFile(atPath: "/usr/bin/cc"),
                             "needs root and cc (CI runs as root)"))
struct HostileDaemonTests {
    /// name → (attempt, argument); `$STATE` and `$PID` are filled in for the running daemon.
    static let attempts: [(name: String, attempt: String, argument: String)] = [
        ("tcp-socket", "tcp-socket", ""),
        ("tcp-loopback", "tcp-connect", "22"),
        ("control-socket", "unix-connect", "$STATE/control.sock"),
        ("read-shadow", "read", "/etc/shadow"),
        ("read-database", "read", "$STATE/vigil.db"),
        ("signal-daemon", "kill", "$PID"),
        ("write-other-plugin", "write", "$PLUGINS/healthy/plugin.yaml"),
        ("write-outside", "write", "$PLUGINS/write-outside/evil"),
        ("ptrace", "ptrace", ""),
        ("mount", "mount", ""),
        ("unshare", "unshare", ""),
        ("setuid0", "setuid0", ""),
        ("bpf", "bpf", ""),
        ("keyctl", "keyctl", ""),
        ("process-vm-readv", "process-vm-readv", ""),
        ("init-module", "init-module", ""),
        ("exec-sh", "exec-sh", ""),
        ("fork-bomb", "fork-bomb", ""),
        ("memory", "memory", "512"),
    ]

    /// Attempts that end in a breach: the syscall the daemon must name.
    static let breaches: [String: String] = [
        "tcp-socket": "socket", "tcp-loopback": "socket", "ptrace": "ptrace", "mount": "mount", "unshare": "unshare",
        "setuid0": "setuid", "bpf": "bpf", "keyctl": "keyctl", "process-vm-readv": "process_vm_readv",
        "init-module": "finit_module",
    ]

    /// Attempts the view, Landlock or the limits stop quietly: what the plugin must see.
    static let quietlyStopped: [String: String] = [
        "control-socket": "unix-connect blocked errno=\(ENOENT)", "read-shadow": "read blocked errno=\(ENOENT)",
        "read-database": "read blocked errno=\(ENOENT)", "signal-daemon": "kill blocked errno=\(ESRCH)",
        "write-other-plugin": "write blocked errno=\(ENOENT)", "write-outside": "write blocked errno=\(EROFS)",
        "exec-sh": "exec-sh blocked errno=\(EACCES)", "fork-bomb": "fork-bomb blocked errno=\(EAGAIN)",
        "memory": "memory blocked errno=\(ENOMEM)",
    ]

    /// Protocol abuse, from the Python fixture: what `vigil plugins show` must count.
    static let protocolAbuse: [(name: String, mode: String, category: String)] = [
        ("huge-frame", "huge", "protocol"), ("garbage", "garbage", "protocol"), ("no-pong", "silent", "heartbeat"),
    ]

    @Test func everyAttemptFailsTheDaemonNamesItAndKeepsServing() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-hostile-\(UUID().uuidString.prefix(8))").path
        let plugins = root + "/plugins"
        let state = root + "/state"
        try FileManager.default.createDirectory(atPath: plugins, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        chmod(root, 0o755)
        let binary = root + "/hostile"
        try compileHostile(to: binary)

        let sdk = repositoryRoot + "/Plugins/sdk/python"
        let behave = repositoryRoot + "/Tests/VigilPluginHostTests/Fixtures/python/behave.py"
        try folder(plugins + "/healthy", manifest: """
            name: healthy
            kind: detector
            emits: [test_metric, test_signal, flood_metric]
            exec: behave.py
            args: [detector, healthy]
            protocol: 1
            sandbox: { read_paths: [\(sdk)], env: { VIGIL_SDK: \(sdk) } }
            config: { count: 5 }
            """, copy: [behave: "behave.py"])
        for a in Self.attempts {
            let argument = a.argument.replacingOccurrences(of: "$STATE", with: state)
                .replacingOccurrences(of: "$PLUGINS", with: plugins)
            try folder(plugins + "/" + a.name, manifest: """
                name: \(a.name)
                kind: detector
                emits: [test_metric, test_signal, flood_metric]
                exec: hostile
                args: [\(a.attempt), "\(argument)"]
                protocol: 1
                sandbox:
                  env: { VIGIL_PROTOCOL: "1", VIGIL_PLUGIN_NAME: \(a.name) }
                  limits: { memory: 256 MiB, processes: 16, open_files: 64 }
                """, copy: [binary: "hostile"])
        }
        for p in Self.protocolAbuse {
            try folder(plugins + "/" + p.name, manifest: """
                name: \(p.name)
                kind: detector
                emits: [test_metric, test_signal, flood_metric]
                exec: behave.py
                args: [\(p.mode), \(p.name)]
                protocol: 1
                sandbox: { read_paths: [\(sdk)], env: { VIGIL_SDK: \(sdk) } }
                timeouts: { heartbeat: 1 second }
                """, copy: [behave: "behave.py"])
        }
        // The daemon's pid is only known once it runs: the prelude writes it into the one manifest
        // that needs it, in the very process that then becomes vigild.
        let daemon = try DaemonProcess(config: try isolatedConfig(pluginDirectories: [plugins]), stateDirectory: state,
                                       prelude: "sed -i \"s/\\$PID/$$/\" \(plugins)/signal-daemon/plugin.yaml")
        defer { daemon.stop() }

        func show(_ name: String) throws -> [String: JSONValue] {
            let r = try vigil(["plugins", "show", name, "--json"], stateDirectory: state)
            return try JSONDecoder().decode(JSONValue.self, from: Data(r.out.utf8)).objectValue ?? [:]
        }
        // Breaches: quarantined, the syscall named, one Critical incident per plugin.
        for (name, syscall) in Self.breaches.sorted(by: { $0.key < $1.key }) {
            let quarantined = try eventually { try show(name)["state"]?.stringValue == "quarantined" }
            #expect(quarantined, "\(name) is quarantined")
            let cause = try show(name)["cause"]?.stringValue ?? ""
            #expect(cause.contains(syscall), "\(name): cause \"\(cause)\" names \(syscall)")
        }
        let incidentsSeen = try eventually {
            let list = try vigil(["incidents", "list", "--json"], stateDirectory: state)
            let incidents = try JSONDecoder().decode([JSONValue].self, from: Data(list.out.utf8))
            let fingerprints = incidents.compactMap { $0["fingerprint"]?.stringValue }
            return Self.breaches.keys.allSatisfy { name in fingerprints.contains { $0.contains("plugin=\"\(name)\"") } }
        }
        #expect(incidentsSeen, "a breach incident for every breaching plugin")
        let list = try vigil(["incidents", "list", "--json"], stateDirectory: state)
        for incident in try JSONDecoder().decode([JSONValue].self, from: Data(list.out.utf8))
        where incident["fingerprint"]?.stringValue?.hasPrefix("security_events.plugin_isolation_breach_detected") == true {
            #expect(incident["severity"]?.stringValue == "P1")
            #expect(incident["containment_category"]?.stringValue == "security_breach")
        }

        // Quiet stops: the plugin saw the error, nothing escaped, no breach.
        for (name, line) in Self.quietlyStopped.sorted(by: { $0.key < $1.key }) {
            #expect(daemon.waitForLog(line, timeout: 30), "\(name): \(line)")
            #expect(try show(name)["breaches"]?.doubleValue == 0, "\(name) is not a breach")
        }
        #expect(!daemon.log.contains("ESCAPED"))
        #expect(FileManager.default.fileExists(atPath: plugins + "/healthy/plugin.yaml"))
        #expect(!FileManager.default.fileExists(atPath: plugins + "/write-outside/evil"))

        // Protocol abuse: the right failure counted, the plugin restarted, never quarantined for a breach.
        for p in Self.protocolAbuse {
            let counted = try eventually {
                (try show(p.name)["failures_by_cause"]?[p.category]?.doubleValue ?? 0) >= 1
            }
            #expect(counted, "\(p.name) failed with \(p.category)")
        }

        // The daemon is alive and still serves the well-behaved plugin.
        let status = try vigil(["status", "--json"], stateDirectory: state)
        #expect(status.status == 0)
        let healthy = try show("healthy")
        #expect(healthy["state"]?.stringValue == "running")
        #expect(healthy["failures"]?.doubleValue == 0)
        #expect((healthy["events_received"]?.doubleValue ?? 0) >= 6)
    }

    /// Issue 16: detectors that speak as the daemon — a breach naming another plugin, a failure
    /// rate, a label naming the webhook — against the real daemon, next to a healthy detector.
    /// Nothing they say reaches an incident or a containment action, and each is stopped as a
    /// protocol violation with that cause.
    @Test func aDetectorPretendingToBeTheDaemonNamesNobody() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-forger-\(UUID().uuidString.prefix(8))").path
        let plugins = root + "/plugins"
        let state = root + "/state"
        try FileManager.default.createDirectory(atPath: plugins, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        chmod(root, 0o755)
        let sdk = repositoryRoot + "/Plugins/sdk/python"
        let behave = repositoryRoot + "/Tests/VigilPluginHostTests/Fixtures/python/behave.py"
        let forgers = ["forger-1", "forger-3", "forger-6"]  // forgeries 1, 3 and 6 of behave.py's list
        for (name, mode) in [("healthy", "detector")] + forgers.map { ($0, "impersonate") } {
            try folder(plugins + "/" + name, manifest: """
                name: \(name)
                kind: detector
                emits: [test_metric, test_signal]
                exec: behave.py
                args: [\(mode), \(name)]
                protocol: 1
                sandbox: { read_paths: [\(sdk)], env: { VIGIL_SDK: \(sdk), VICTIM: healthy } }
                """, copy: [behave: "behave.py"])
        }
        let daemon = try DaemonProcess(config: try isolatedConfig(pluginDirectories: [plugins]), stateDirectory: state)
        defer { daemon.stop() }
        func show(_ name: String) throws -> [String: JSONValue] {
            let r = try vigil(["plugins", "show", name, "--json"], stateDirectory: state)
            return try JSONDecoder().decode(JSONValue.self, from: Data(r.out.utf8)).objectValue ?? [:]
        }
        for forger in forgers {
            let stopped = try eventually { (try show(forger)["protocol_violations"]?.doubleValue ?? 0) >= 1 }
            #expect(stopped, "\(forger) was not stopped")
            let cause = try show(forger)["cause"]?.stringValue ?? ""
            #expect(cause.contains("speaks as the daemon or for another plugin"), "\(forger): \(cause)")
            #expect((try show(forger)["events_refused"]?.doubleValue ?? 0) >= 1)
        }
        // The healthy detector's events went through the same bus and rules meanwhile.
        #expect(try eventually { (try show("healthy")["events_received"]?.doubleValue ?? 0) >= 11 })
        let list = try vigil(["incidents", "list", "--json"], stateDirectory: state)
        let incidents = try JSONDecoder().decode([JSONValue].self, from: Data(list.out.utf8))
        for incident in incidents {
            let fingerprint = incident["fingerprint"]?.stringValue ?? ""
            #expect(!fingerprint.contains("healthy"), "incident \(fingerprint) names the plugin the forger pretended to be")
            #expect(!fingerprint.hasPrefix("security_events.plugin_isolation_breach_detected"), "forged breach: \(fingerprint)")
        }
        let healthy = try show("healthy")
        #expect(healthy["state"]?.stringValue == "running")
        #expect(healthy["failures"]?.doubleValue == 0)
        // The daemon's incidents about the forgers name the forgers themselves.
        for incident in incidents where incident["labels"]?["plugin"] != nil {
            #expect(forgers.contains(incident["labels"]?["plugin"]?.stringValue ?? ""), "\(incident)")
        }
    }

    /// Issue 16, provenance: a detector raising the seed's `authentication_failures` labelled
    /// `service=webhook` opened a P1 incident naming only the webhook. The incident now names the
    /// plugin that sent the signals — the daemon's stamp, `source`, and its first timeline line —
    /// and no `plugin` label the sender could aim containment with.
    @Test(.timeLimit(.minutes(2)))
    func anIncidentFromAPluginsSignalsNamesThePluginThatSentThem() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-sender-\(UUID().uuidString.prefix(8))").path
        let plugins = root + "/plugins"
        try FileManager.default.createDirectory(atPath: plugins, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        chmod(root, 0o755)
        let sdk = repositoryRoot + "/Plugins/sdk/python"
        let behave = repositoryRoot + "/Tests/VigilPluginHostTests/Fixtures/python/behave.py"
        try folder(plugins + "/auth-spoof", manifest: """
            name: auth-spoof
            kind: detector
            emits: [authentication_failures]
            exec: behave.py
            args: [auth-burst, auth-spoof]
            protocol: 1
            sandbox: { read_paths: [\(sdk)], env: { VIGIL_SDK: \(sdk) } }
            """, copy: [behave: "behave.py"])
        let config = try isolatedConfig(pluginDirectories: [plugins], grants: ["auth-spoof: { emits: [authentication_failures] }"])
        let daemon = try DaemonProcess(config: config, stateDirectory: root + "/state")
        defer { daemon.stop() }
        var incident: JSONValue?
        let opened = try eventually {
            let list = try vigil(["incidents", "list", "--json"], stateDirectory: daemon.stateDirectory)
            incident = try JSONDecoder().decode([JSONValue].self, from: Data(list.out.utf8))
                .first { $0["fingerprint"]?.stringValue?.hasPrefix("security_events.authentication_failures") == true }
            return incident != nil
        }
        #expect(opened, "\(daemon.log)")
        let id = try #require(incident?["id"]?.stringValue)
        let shown = try vigil(["incidents", "show", id, "--json"], stateDirectory: daemon.stateDirectory)
        let view = try JSONDecoder().decode(JSONValue.self, from: Data(shown.out.utf8))
        let labels = view["labels"]?.objectValue ?? [:]
        #expect(labels["source"]?.stringValue == "plugin:auth-spoof", "\(labels)")
        #expect(labels["service"]?.stringValue == "webhook")
        #expect(labels["plugin"] == nil, "\(labels)")
        #expect(view["fingerprint"]?.stringValue?.contains("source=\"plugin:auth-spoof\"") == true, "\(view)")
        let first = view["timeline"]?.arrayValue?.first?["message"]?.stringValue ?? ""
        #expect(first.contains("signal from plugin auth-spoof"), "\(first)")
    }

    func compileHostile(to path: String) throws {
        let cc = Process()
        cc.executableURL = URL(fileURLWithPath: "/usr/bin/cc")
        cc.arguments = ["-O1", "-o", path, repositoryRoot + "/Tests/VigilPluginHostTests/Fixtures/hostile/hostile.c"]
        try cc.run()
        cc.waitUntilExit()
        guard cc.terminationStatus == 0 else { throw DaemonTestError("cc failed") }
    }

    func folder(_ path: String, manifest: String, copy: [String: String]) throws {
        try installPlugin(at: path, manifest: manifest, copy: copy)
    }
}
