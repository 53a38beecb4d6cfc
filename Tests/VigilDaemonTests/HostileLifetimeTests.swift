import Foundation
import Testing
import VigilCore
import VigilDaemon
import VigilTestSupport

/// Issue 16, points 5 and 6 against the real daemon: plugins never outlive `vigild`, their uids
/// come from a range of their own, and a plugin over its cgroup's memory limit fails with that cause.
@Suite(.serialized, .enabled(if: isRoot && FileManager.default.isExecutableFile(atPath: "/usr/bin/cc"),
                             "needs root and cc (CI runs as root)"))
struct HostileLifetimeTests {
    struct World {
        let root: String
        let plugins: String
        let state: String
    }

    func makeWorld(_ manifests: [(name: String, attempt: String, argument: String, limits: String)]) throws -> World {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-lifetime-\(UUID().uuidString.prefix(8))").path
        let world = World(root: root, plugins: root + "/plugins", state: root + "/state")
        try FileManager.default.createDirectory(atPath: world.plugins, withIntermediateDirectories: true)
        chmod(root, 0o755)
        let binary = root + "/hostile"
        let cc = Process()
        cc.executableURL = URL(fileURLWithPath: "/usr/bin/cc")
        cc.arguments = ["-O1", "-o", binary, repositoryRoot + "/Tests/VigilPluginHostTests/Fixtures/hostile/hostile.c"]
        try cc.run()
        cc.waitUntilExit()
        guard cc.terminationStatus == 0 else { throw DaemonTestError("cc failed") }
        for m in manifests {
            try installPlugin(at: world.plugins + "/" + m.name, manifest: """
                name: \(m.name)
                kind: detector
                exec: hostile
                args: [\(m.attempt), "\(m.argument)"]
                protocol: 1
                sandbox:
                  env: { VIGIL_PROTOCOL: "1", VIGIL_PLUGIN_NAME: \(m.name) }
                  limits: { \(m.limits) }
                """, copy: [binary: "hostile"])
        }
        return world
    }

    func show(_ name: String, _ world: World) throws -> [String: JSONValue] {
        let r = try vigil(["plugins", "show", name, "--json"], stateDirectory: world.state)
        return try JSONDecoder().decode(JSONValue.self, from: Data(r.out.utf8)).objectValue ?? [:]
    }

    /// Pids whose real or effective uid is `uid`.
    static func processes(of uid: UInt32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry -> Int32? in
            guard let pid = Int32(entry),
                  let status = try? String(contentsOfFile: "/proc/\(entry)/status", encoding: .utf8),
                  let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Uid:") }) else { return nil }
            let ids = line.split(whereSeparator: \.isWhitespace).dropFirst().prefix(2).compactMap { UInt32($0) }
            return ids.contains(uid) ? pid : nil
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func pluginsAndTheirChildrenDieWithADaemonKilledBySIGKILL() throws {
        let world = try makeWorld([("linger", "linger", "", "memory: 256 MiB, processes: 16, open_files: 64")])
        defer { try? FileManager.default.removeItem(atPath: world.root) }
        let daemon = try DaemonProcess(config: try isolatedConfig(pluginDirectories: [world.plugins]), stateDirectory: world.state)
        defer { daemon.stop() }
        let started = daemon.waitForLog("linger started", timeout: 30)
        #expect(started, "\(daemon.log.suffix(3000))")
        let uid = try show("linger", world)["uid"]?.doubleValue.flatMap { UInt32(exactly: $0) }
        guard let uid else {
            Issue.record("no uid for linger")
            return
        }
        #expect(Self.pluginUIDRange.contains(uid), "uid \(uid) is in the plugins' own range, not systemd's DynamicUser range")
        // The plugin and the child it forked.
        let running = try eventually(10) { Self.processes(of: uid).count >= 2 }
        let status = (try? String(contentsOfFile: "/proc/\(daemon.process.processIdentifier)/task/\(daemon.process.processIdentifier)/children", encoding: .utf8)) ?? "?"
        #expect(running, "uid \(uid): \(Self.processes(of: uid)); \(status) \(daemon.log.suffix(4000))")
        daemon.killHard()
        let gone = try eventually(10) { Self.processes(of: uid).isEmpty }
        #expect(gone, "still running under uid \(uid) after vigild was SIGKILLed: \(Self.processes(of: uid))")
        for pid in Self.processes(of: uid) { kill(pid, SIGKILL) }
    }

    @Test(.timeLimit(.minutes(3)))
    func aPluginOverItsMemoryLimitFailsWithThatCause() throws {
        // 300 MiB in four processes, each under RLIMIT_AS (256 MiB); the run's cgroup allows 256 MiB.
        let world = try makeWorld([("hoarder", "memory-self", "300", "memory: 256 MiB, processes: 16, open_files: 64")])
        defer { try? FileManager.default.removeItem(atPath: world.root) }
        let daemon = try DaemonProcess(config: try isolatedConfig(pluginDirectories: [world.plugins]), stateDirectory: world.state)
        defer { daemon.stop() }
        let failed = try eventually(30) { (try show("hoarder", world)["cause"]?.stringValue ?? "").contains("memory limit") }
        let cause = try show("hoarder", world)["cause"]?.stringValue ?? "-"
        #expect(failed, "cause: \(cause)")
        #expect(!daemon.log.contains("memory-self ESCAPED"))
        #expect(try vigil(["status", "--json"], stateDirectory: world.state).status == 0)
    }

    /// Children that grow past the run's memory limit while the plugin itself lives on: the
    /// cgroup's OOM killer takes a child, and the run ends as a failure over that limit (the
    /// attack pass saw the plugin stay `running` with its children killed and respawned).
    @Test(.timeLimit(.minutes(3)))
    func aPluginWhoseChildrenGoOverItsMemoryLimitFailsWithThatCause() throws {
        let world = try makeWorld([("spawner", "memory-children", "300", "memory: 256 MiB, processes: 16, open_files: 64")])
        defer { try? FileManager.default.removeItem(atPath: world.root) }
        let daemon = try DaemonProcess(config: try isolatedConfig(pluginDirectories: [world.plugins]), stateDirectory: world.state)
        defer { daemon.stop() }
        let failed = try eventually(30) { (try show("spawner", world)["cause"]?.stringValue ?? "").contains("memory limit") }
        let view = try show("spawner", world)
        #expect(failed, "cause: \(view["cause"]?.stringValue ?? "-")")
        #expect((view["failures_by_cause"]?["rlimit"]?.doubleValue ?? 0) >= 1, "\(view)")
        // Found while the plugin lived on, not at its exit.
        #expect(daemon.log.contains("plugin over its limit"), "\(daemon.log.suffix(3000))")
        #expect(try vigil(["status", "--json"], stateDirectory: world.state).status == 0)
    }

    /// Kept in step with `PluginUIDAllocator.defaultRange` (this target does not link the plugin host).
    static let pluginUIDRange: ClosedRange<UInt32> = 70_000...79_999
}
