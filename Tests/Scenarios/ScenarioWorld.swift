import Foundation
import Testing
import VigilCore
import VigilDaemon
import VigilTestSupport

/// The seven end-to-end scenarios, one after another: each runs a whole `vigild` with sandboxed
/// plugins, and the latency targets they check are meant for a daemon that is not competing with
/// another scenario. `make test` runs them in a pass of their own, after the other tests.
@Suite(.serialized) enum EndToEnd {}

/// One end-to-end scenario's world: a real state folder, a real `vigild` on a scenario
/// configuration (the default one with shortened durations, nothing else changed), real plugins
/// in their sandboxes, a real HTTP receiver for the webhook notifier, driven from outside through
/// `vigil` and through the plugins. Every step is narrated on standard output, so
/// `make scenario NAME=...` shows what happens.
final class ScenarioWorld: @unchecked Sendable {
    enum Plugin {
        /// The file-fed detector `host-probe`: its readings are what the scenario writes.
        case probe
        /// The bundled webhook notifier, posting to this world's receiver.
        case webhook
        /// A Python plugin of the host tests' fixture in the given mode (`crash`, …).
        case behave(name: String, mode: String, heartbeat: String = "15 seconds")
        /// The hostile C plugin making one attempt (speaking the protocol first).
        case hostile(name: String, attempt: String, delayMilliseconds: Int = 0)
        /// The Swift flood detector of the benchmarks, sending `count` samples as fast as it may,
        /// `batch` to a frame.
        case flood(name: String, count: Int, batch: Int = 1000)
    }

    let name: String
    let root: String
    let plugins: String
    let state: String
    let probe: String
    let webhookLog: String
    let port: UInt16
    let config: String
    private(set) var daemon: DaemonProcess?
    private var receiver: Process?
    private let started = Date()

    static let sdk = repositoryRoot + "/Plugins/sdk/python"
    static let fixtures = repositoryRoot + "/Tests/Scenarios/Fixtures"

    init(_ name: String, plugins chosen: [Plugin], edit: (inout String) -> Void = { _ in }) throws {
        self.name = name
        root = "/tmp/vigil-scenario-\(name)-\(UUID().uuidString.prefix(6))"
        plugins = root + "/plugins"
        state = root + "/state"
        probe = root + "/probe"
        webhookLog = root + "/webhook.ndjson"
        port = UInt16.random(in: 20_000...40_000)
        for dir in [root, plugins, probe] {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            chmod(dir, 0o755)
        }
        try "{}".write(toFile: probe + "/metrics.json", atomically: false, encoding: .utf8)
        try "".write(toFile: probe + "/signals.ndjson", atomically: false, encoding: .utf8)
        chmod(probe + "/metrics.json", 0o644)
        chmod(probe + "/signals.ndjson", 0o644)
        config = root + "/vigil.yaml"
        for plugin in chosen { try install(plugin) }
        let detectors = chosen.compactMap { plugin -> String? in
            switch plugin {
            case .probe: "host-probe"
            case .webhook: nil
            case .behave(let name, _, _), .hostile(let name, _, _), .flood(let name, _, _): name
            }
        }
        try writeConfig(detectors: detectors, edit: edit)
        say("scenario \(name): state \(state), plugins \(chosen.count)")
    }

    deinit {
        daemon?.stop()
        // SIGKILL: the receiver may have inherited a mask that blocks SIGTERM.
        if let r = receiver, r.isRunning { kill(r.processIdentifier, SIGKILL); r.waitUntilExit() }
        if ProcessInfo.processInfo.environment["VIGIL_SCENARIO_KEEP"] == nil { try? FileManager.default.removeItem(atPath: root) }
    }

    // MARK: narration

    /// One step of the story, with the seconds since the scenario started.
    func say(_ text: String) {
        let t = String(format: "%6.2fs", Date().timeIntervalSince(started))
        FileHandle.standardOutput.write(Data("[\(name) \(t)] \(text)\n".utf8))
    }

    /// Runs `vigil ARGS` against this world's daemon, shows it and its output, returns it.
    @discardableResult
    func vigil(_ args: [String], show: Bool = true) throws -> (status: Int32, out: String, err: String) {
        let r = try VigilTestSupport.vigil(args, stateDirectory: state)
        if show {
            say("$ vigil " + args.joined(separator: " "))
            let lines = (r.out + r.err).split(separator: "\n", omittingEmptySubsequences: false).dropLast()
            FileHandle.standardOutput.write(Data(lines.map { "    \($0)\n" }.joined().utf8))
        }
        return r
    }

    func json(_ args: [String]) throws -> JSONValue {
        let r = try vigil(args + ["--json"], show: false)
        return try JSONDecoder().decode(JSONValue.self, from: Data(r.out.utf8))
    }

    // MARK: the daemon

    func startDaemon() throws {
        try startReceiver()
        daemon = try DaemonProcess(config: config, stateDirectory: state)
        say("vigild started (pid \(daemon?.process.processIdentifier ?? 0))")
    }

    func killDaemon() {
        guard let d = daemon else { return }
        let pid = d.process.processIdentifier
        d.killHard()
        say("kill -9 \(pid): vigild is gone")
    }

    func restartDaemon() throws {
        try daemon?.start()
        say("vigild restarted (pid \(daemon?.process.processIdentifier ?? 0)) on the same state folder")
    }

    var log: String { daemon?.log ?? "" }

    // MARK: driving the plugins

    /// What the probe detector reports from now on.
    func setMetrics(_ metrics: [String: (value: Double, unit: String)], labels: [String: String] = [:]) throws {
        var object: [String: JSONValue] = [:]
        for (name, m) in metrics {
            object[name] = .object(["value": .number(m.value), "unit": .string(m.unit),
                                    "labels": .object(labels.mapValues { .string($0) })])
        }
        try JSONValue.object(object).description.write(toFile: probe + "/metrics.json.tmp", atomically: false, encoding: .utf8)
        chmod(probe + "/metrics.json.tmp", 0o644)
        // Write in place (the file is bound into the plugin's view by inode).
        let text = try String(contentsOfFile: probe + "/metrics.json.tmp", encoding: .utf8)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: probe + "/metrics.json"))
        handle.truncateFile(atOffset: 0)
        handle.write(Data(text.utf8))
        try handle.close()
        say("the probe now reads " + metrics.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value.value)\($0.value.unit)" }
            .joined(separator: ", "))
    }

    /// The probe detector sends `name` `repeat` times.
    func signal(_ name: String, labels: [String: String] = [:], repeat count: Int = 1) throws {
        let line = JSONValue.object(["name": .string(name), "labels": .object(labels.mapValues { .string($0) }),
                                     "repeat": .number(Double(count))]).description + "\n"
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: probe + "/signals.ndjson"))
        handle.seekToEndOfFile()
        handle.write(Data(line.utf8))
        try handle.close()
        say("the probe sends \(count) × \(name)")
    }

    // MARK: observing

    func incidents() throws -> [JSONValue] { try json(["incidents", "list"]).arrayValue ?? [] }

    func incident(_ id: String) throws -> JSONValue { try json(["incidents", "show", id]) }

    /// The first incident whose fingerprint starts with `prefix`.
    func incident(fingerprint prefix: String) throws -> JSONValue? {
        try incidents().first { $0["fingerprint"]?.stringValue?.hasPrefix(prefix) == true }
    }

    func plugin(_ name: String) throws -> JSONValue { try json(["plugins", "show", name]) }

    /// Every body the webhook receiver got, in order, with `received_at` (epoch seconds).
    func deliveries() -> [JSONValue] {
        let text = (try? String(contentsOfFile: webhookLog, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { try? JSONDecoder().decode(JSONValue.self, from: Data($0.utf8)) }
    }

    /// Makes the receiver answer 500 (down) or 204 again.
    func receiverDown(_ down: Bool) throws {
        if down { FileManager.default.createFile(atPath: webhookLog + ".fail", contents: nil) }
        else { try? FileManager.default.removeItem(atPath: webhookLog + ".fail") }
        say(down ? "the webhook receiver is down (answers 500)" : "the webhook receiver is back")
    }

    /// Polls `condition` until it holds (bounded); the wait is for real processes, not a timing assumption.
    func eventually(_ seconds: Double = 40, _ what: String, _ condition: () throws -> Bool) throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if (try? condition()) == true { return true }
            usleep(100_000)
        }
        let ok = (try? condition()) == true
        if !ok { say("gave up waiting: \(what)") }
        return ok
    }

    // MARK: set-up

    private func install(_ plugin: Plugin) throws {
        switch plugin {
        case .probe:
            try folder("host-probe", copy: [Self.fixtures + "/file_detector.py": "probe.py"], manifest: """
                name: host-probe
                kind: detector
                emits: ["*", authentication_failures, configuration_tampering_detected]
                exec: probe.py
                args: [host-probe]
                protocol: 1
                critical: true
                sandbox: { read_paths: [\(Self.sdk), \(probe)], env: { VIGIL_SDK: \(Self.sdk) } }
                config: { folder: \(probe), interval_seconds: 0.25 }
                """)
        case .webhook:
            try folder("webhook", copy: [repositoryRoot + "/Plugins/webhook/webhook.py": "webhook.py",
                                         repositoryRoot + "/Plugins/webhook/alertmanager_payload.py": "alertmanager_payload.py"],
                       manifest: """
                name: webhook
                kind: notifier
                exec: webhook.py
                protocol: 1
                critical: true
                sandbox:
                  network: brokered
                  egress: ["127.0.0.1:\(port)"]
                  read_paths: [\(Self.sdk)]
                  env: { VIGIL_SDK: \(Self.sdk) }
                config:
                  url: http://127.0.0.1:\(port)/vigil
                  channels: ["*"]
                  retries: 1
                  backoff_seconds: 0.2
                  timeout_seconds: 2
                """)
        case .behave(let name, let mode, let heartbeat):
            try folder(name, copy: [repositoryRoot + "/Tests/VigilPluginHostTests/Fixtures/python/behave.py": "behave.py"],
                       manifest: """
                name: \(name)
                kind: detector
                emits: ["*", authentication_failures, configuration_tampering_detected]
                exec: behave.py
                args: [\(mode), \(name)]
                protocol: 1
                sandbox: { read_paths: [\(Self.sdk)], env: { VIGIL_SDK: \(Self.sdk) } }
                timeouts: { heartbeat: \(heartbeat) }
                """)
        case .hostile(let name, let attempt, let delay):
            let binary = root + "/hostile"
            if !FileManager.default.fileExists(atPath: binary) {
                let cc = Process()
                cc.executableURL = URL(fileURLWithPath: "/usr/bin/cc")
                cc.arguments = ["-O1", "-o", binary, repositoryRoot + "/Tests/VigilPluginHostTests/Fixtures/hostile/hostile.c"]
                try cc.run()
                cc.waitUntilExit()
            }
            try folder(name, copy: [binary: "hostile"], manifest: """
                name: \(name)
                kind: detector
                emits: ["*", authentication_failures, configuration_tampering_detected]
                exec: hostile
                args: [\(attempt)]
                protocol: 1
                sandbox: { env: { VIGIL_PROTOCOL: "1", VIGIL_PLUGIN_NAME: \(name), VIGIL_DELAY_MS: "\(delay)" } }
                """)
        case .flood(let name, let count, let batch):
            try folder(name, copy: [productsDirectory + "/vigil-bench-flood": "flood"], manifest: """
                name: \(name)
                kind: detector
                emits: ["*", authentication_failures, configuration_tampering_detected]
                exec: flood
                args: [\(name), "\(batch)"]
                protocol: 1
                sandbox: { limits: { memory: 1 GiB } }
                config: { count: \(count) }
                """)
        }
    }

    private func folder(_ name: String, copy: [String: String], manifest: String) throws {
        try installPlugin(at: plugins + "/" + name, manifest: manifest, copy: copy)
    }

    /// The default configuration and rule files, durations shortened so a scenario takes seconds.
    private func writeConfig(detectors: [String], edit: (inout String) -> Void) throws {
        let source = repositoryRoot + "/Config"
        var rules = try String(contentsOfFile: source + "/detection-rules.yaml", encoding: .utf8)
        for (old, new) in [("for 5 minutes", "for 3 seconds"), ("for 3 minutes", "for 3 seconds"), ("for 30 seconds", "for 3 seconds")] {
            rules = rules.replacingOccurrences(of: old, with: new)
        }
        try rules.write(toFile: root + "/detection-rules.yaml", atomically: true, encoding: .utf8)
        var text = try defaultConfigText(pluginDirectories: [plugins])
            // The shortened copy of the seed's rules, and a cleared condition moves its incident
            // on after 2 seconds instead of 5 minutes.
            .replacingOccurrences(of: "files: [\(source)/detection-rules.yaml,", with: "files: [detection-rules.yaml,")
            .replacingOccurrences(of: "    move_to: validating\n    after: 5 minutes", with: "    move_to: validating\n    after: 2 seconds")
            // The file-fed detector reads the folder the scenario writes (plugins.policy grants it),
            // and every scenario detector may declare any name, the rules' and the security lane too.
            .replacingOccurrences(of: "\n    grants:\n", with: "\n    grants:\n" + detectors.map { name in
                name == "host-probe" ? "      host-probe: { read_paths: [\(probe)], emits: [\"*\"] }\n"
                    : "      \(name): { emits: [\"*\"] }\n"
            }.joined())
        edit(&text)
        try text.write(toFile: config, atomically: true, encoding: .utf8)
    }

    private func startReceiver() throws {
        guard receiver == nil else { return }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        p.arguments = [Self.fixtures + "/webhook_receiver.py", "\(port)", webhookLog]
        // Not the test runner's pipes: a receiver outliving its test must not hold `swift test` open.
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        receiver = p
        _ = try eventually(10, "the webhook receiver to listen") { FileManager.default.fileExists(atPath: webhookLog + ".ready") }
        say("webhook receiver listening on 127.0.0.1:\(port)")
    }
}
