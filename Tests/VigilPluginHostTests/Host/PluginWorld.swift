import Foundation
import Logging
import VigilBus
import VigilConfig
import VigilCore
@testable import VigilPluginHost

/// A scratch folder of real plugins and a real ``PluginHost`` running them under `vigil-sandbox`.
final class PluginWorld: @unchecked Sendable {
    let root: URL
    let specs: URL
    let bus: EventBus
    let symbols = SymbolTable()
    let host: PluginHost
    private var running: Task<Void, Never>?

    static let sdk = SandboxHarness.repository.appendingPathComponent("Plugins/sdk/python").path
    static let behave = SandboxHarness.repository.appendingPathComponent("Tests/VigilPluginHostTests/Fixtures/python/behave.py")

    init(policy: SupervisionPolicy = SupervisionPolicy(initialBackoff: .milliseconds(100), maximumBackoff: .seconds(1),
                                                       crashLoopFailures: 3, crashLoopWindow: .seconds(60),
                                                       failureRateInterval: .milliseconds(200), shutdownGrace: .seconds(1)),
         bus: EventBus = EventBus(), limits: ConnectionLimits = ConnectionLimits(), logger custom: Logger? = nil) throws {
        root = URL(fileURLWithPath: "/tmp/vigil-host-\(UInt32.random(in: 0...UInt32.max))")
        specs = root.appendingPathComponent("specs")
        try FileManager.default.createDirectory(at: specs, withIntermediateDirectories: true)
        chmod(root.path, 0o755)
        chmod(specs.path, 0o700)
        self.bus = bus
        var settings = PluginHostSettings(
            launcherPath: SandboxHarness.launcherPath ?? "/nonexistent", specDirectory: specs.path,
            profilesDirectory: SandboxHarness.repository.appendingPathComponent("Sandbox").path,
            policy: policy, tickInterval: .milliseconds(50))
        settings.connectionLimits = limits
        var logger = Logger(label: "test.plugin-host")
        logger.logLevel = ProcessInfo.processInfo.environment["VIGIL_TEST_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
        host = PluginHost(settings: settings, bus: bus, symbols: symbols, registry: InMemoryPluginRegistry(), logger: custom ?? logger)
    }

    deinit { try? FileManager.default.removeItem(at: root) }

    /// Writes a plugin folder running `behave.py MODE NAME` and loads its manifest; `sandbox`
    /// lines are added under its `sandbox:`.
    func pythonPlugin(_ name: String, mode: String, kind: PluginKind = .detector, heartbeat: String = "15 seconds",
                      actionDeadline: String = "30 seconds", config: String = "{}", critical: Bool = false,
                      emits: String = "[test_metric, test_signal, flood_metric]", sandbox: [String] = []) throws -> PluginManifest {
        let dir = root.appendingPathComponent("plugins/\(name)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let script = dir.appendingPathComponent("behave.py")
        try copyProgram(from: Self.behave.path, to: script.path)
        chmod(script.path, 0o755)
        let yaml = """
            name: \(name)
            kind: \(kind.rawValue)
            exec: behave.py
            args: [\(mode), \(name)]
            protocol: 1
            critical: \(critical)
            \(kind == .detector ? "emits: \(emits)" : "")
            sandbox:
              read_paths: [\(Self.sdk)]
              env: { VIGIL_SDK: \(Self.sdk) }
              limits: { memory: 256 MiB, processes: 16, open_files: 64 }
            \(sandbox.map { "  " + $0 }.joined(separator: "\n"))
            timeouts:
              handshake: 10 seconds
              heartbeat: \(heartbeat)
              action_deadline: \(actionDeadline)
            config: \(config)
            """
        try yaml.write(to: dir.appendingPathComponent("plugin.yaml"), atomically: false, encoding: .utf8)
        return try PluginManifestFile.load(directory: dir.path)
    }

    /// A built product next to `vigil-sandbox` (the same build folder).
    static func product(_ name: String) -> String? {
        guard let launcher = SandboxHarness.launcherPath else { return nil }
        let path = ((launcher as NSString).deletingLastPathComponent as NSString).appendingPathComponent(name)
        return FileManager.default.isExecutableFile(atPath: path) ? path : nil
    }

    /// A plugin folder holding `program` (copied) as `bin/NAME` and the given manifest text.
    func folder(_ name: String, program: String?, manifest: String, files: [String: String] = [:]) throws -> PluginManifest {
        let dir = root.appendingPathComponent("plugins/\(name)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("bin"), withIntermediateDirectories: true)
        if let program {
            try copyProgram(from: program, to: dir.appendingPathComponent("bin/\(name)").path)
        }
        for (file, text) in files {
            try text.write(to: dir.appendingPathComponent(file), atomically: false, encoding: .utf8)
            chmod(dir.appendingPathComponent(file).path, 0o755)
        }
        try manifest.write(to: dir.appendingPathComponent("plugin.yaml"), atomically: false, encoding: .utf8)
        return try PluginManifestFile.load(directory: dir.path)
    }

    /// Loads the plugins into the host and starts its loop.
    func start(_ manifests: [PluginManifest]) async {
        await host.load(manifests)
        let host = self.host
        running = Task { await host.run() }
    }

    func stop() async {
        await host.beginShutdown()
        await running?.value
    }

    /// Polls `condition` until it holds or `timeout` passes; the wait is for real processes.
    func eventually(_ timeout: Duration = .seconds(20), _ condition: () async -> Bool) async -> Bool {
        let clock = ContinuousClock()
        let end = clock.now + timeout
        while clock.now < end {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(25))
        }
        return await condition()
    }

    /// Everything on the bus so far, with names resolved.
    func drained() -> [(name: String, value: Double, lane: Lane, labels: [String: String], source: String)] {
        var events: [Event] = []
        _ = bus.drainAll(into: &events, max: 1 << 20)
        return events.map { e in
            (symbols.name(e.name), e.value, e.lane, symbols.labels(e.labels), symbols.name(e.source))
        }
    }
}

extension SupervisionPolicy {
    /// A plugin that fails is not started again within a test: many crash-looping plugins in one
    /// test (a dozen impersonators, floods) load the machine that the other suites share.
    static let noRestartsDuringATest = SupervisionPolicy(initialBackoff: .seconds(120), maximumBackoff: .seconds(120),
                                                         crashLoopFailures: 3, crashLoopWindow: .seconds(60),
                                                         failureRateInterval: .milliseconds(200), shutdownGrace: .seconds(1))
}

/// Copies a program for a plugin to run. Foundation's `copyItem` keeps its write descriptor
/// without close-on-exec, so a plugin another test spawns at that instant inherits it and this
/// test's `execve` fails with ETXTBSY; this copy's descriptors never leak.
func copyProgram(from source: String, to destination: String) throws {
    let data = try Data(contentsOf: URL(fileURLWithPath: source))
    let fd = open(destination, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o755)
    guard fd >= 0 else { throw CocoaError(.fileWriteUnknown) }
    defer { close(fd) }
    let written = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    guard written == data.count else { throw CocoaError(.fileWriteUnknown) }
}
