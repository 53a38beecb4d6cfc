import Foundation
import Synchronization
import VigilCore
@testable import VigilPluginHost

/// Runs the real `vigil-sandbox` on real plugin programs, as the daemon does, for the hostile suite.
enum SandboxHarness {
    static let isRoot = geteuid() == 0

    /// The repository root (this file is Tests/VigilPluginHostTests/Hostile/SandboxHarness.swift).
    static let repository: URL = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `vigil-sandbox` next to the test bundle (`.build/<triple>/debug/`), built by `swift build`/`swift test`.
    static let launcherPath: String? = {
        var candidates: [URL] = []
        for start in [Bundle.main.bundleURL, URL(fileURLWithPath: CommandLine.arguments.first ?? "")] {
            var dir = start.resolvingSymlinksInPath()
            for _ in 0..<4 {
                dir = dir.deletingLastPathComponent()
                candidates.append(dir.appendingPathComponent("vigil-sandbox"))
            }
        }
        candidates.append(repository.appendingPathComponent(".build/debug/vigil-sandbox"))
        return candidates.map(\.path).first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    /// bubblewrap and firejail, the peers the comparison runs the same plugin under.
    static let peersInstalled = ["/usr/bin/bwrap", "/usr/bin/firejail"].allSatisfy(FileManager.default.isExecutableFile(atPath:))

    static let available = isRoot && launcherPath != nil && FileManager.default.isExecutableFile(atPath: "/usr/bin/cc")

    /// A scratch world: a state folder (with a control socket and a 0600 database), two plugin folders.
    final class World: @unchecked Sendable {
        let root: URL
        let stateDirectory: URL
        let pluginDirectory: URL
        let otherPluginDirectory: URL
        let writableDirectory: URL
        let hostile: String
        /// This world's plugin uid: RLIMIT_NPROC counts per uid, so each world gets its own.
        let uid = 64_000 + UInt32.random(in: 0..<1000)

        /// `base` is /tmp normally; firejail refuses programs under /tmp, so the comparison uses /run.
        init(base: String = "/tmp") throws {
            root = URL(fileURLWithPath: base).appendingPathComponent("vigil-hostile-\(UInt32.random(in: 0...UInt32.max))")
            stateDirectory = root.appendingPathComponent("state")
            pluginDirectory = root.appendingPathComponent("plugins/hostile")
            otherPluginDirectory = root.appendingPathComponent("plugins/other")
            writableDirectory = root.appendingPathComponent("writable")
            for dir in [stateDirectory, pluginDirectory, otherPluginDirectory, writableDirectory] {
                try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            }
            chmod(stateDirectory.path, 0o700)
            // write_paths must be writable by the plugin's uid, as with systemd's StateDirectory=.
            chown(writableDirectory.path, uid, 64_000)
            chmod(root.path, 0o755)
            try "secret incidents\n".write(to: stateDirectory.appendingPathComponent("vigil.db"), atomically: false, encoding: .utf8)
            chmod(stateDirectory.appendingPathComponent("vigil.db").path, 0o600)
            try "other plugin\n".write(to: otherPluginDirectory.appendingPathComponent("plugin.yaml"), atomically: false, encoding: .utf8)
            hostile = pluginDirectory.appendingPathComponent("hostile").path
            let source = SandboxHarness.repository.appendingPathComponent("Tests/VigilPluginHostTests/Fixtures/hostile/hostile.c").path
            let cc = Process()
            cc.executableURL = URL(fileURLWithPath: "/usr/bin/cc")
            cc.arguments = ["-O1", "-o", hostile, source]
            try cc.run()
            cc.waitUntilExit()
            guard cc.terminationStatus == 0 else { throw SandboxLaunchError.protocolViolation("cc failed") }
        }

        deinit { try? FileManager.default.removeItem(at: root) }

        func profile(_ kind: String = "detector") throws -> SandboxProfile {
            try SandboxProfile.load(named: kind, from: SandboxHarness.repository.appendingPathComponent("Sandbox"))
        }

        func request(_ attempt: String, _ argument: String? = nil, network: SandboxSpec.NetworkMode = .none) -> SandboxRequest {
            SandboxRequest(plugin: "hostile", pluginDirectory: pluginDirectory.path, executable: hostile,
                           arguments: [attempt] + (argument.map { [$0] } ?? []),
                           uid: uid, gid: 64_000,
                           network: network, writePaths: [writableDirectory.path],
                           limits: .init(memoryBytes: 256 << 20, cpuSeconds: 10, openFiles: 64, processes: 16))
        }
    }

    /// What one sandboxed run produced.
    struct Outcome {
        var output: String
        var exit: PluginExit?
        var breaches: [BreachReport]
        var watched: [String: UInt64]
    }

    /// Starts `request` under `vigil-sandbox` (through a zygote of its own, or one-shot) with a
    /// breach watcher, waits for the plugin, collects everything.
    static func run(_ request: SandboxRequest, profile: SandboxProfile, stateDirectory: URL,
                    mode: SandboxSpawner.Mode = .zygote, cgroup: PluginCgroup? = nil) throws -> Outcome {
        guard let launcherPath else { throw SandboxLaunchError.protocolViolation("vigil-sandbox not built") }
        let breaches = Mutex<[BreachReport]>([])
        let watcher = try BreachWatcher(onBreach: { report in breaches.withLock { $0.append(report) } })
        defer { watcher.stop() }
        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            throw SandboxLaunchError.system("socketpair", errno)
        }
        defer { close(pair[0]) }
        let spawner = SandboxSpawner(launcherPath: launcherPath, specDirectory: stateDirectory.path, mode: mode)
        defer { spawner.shutdown() }
        let process: SandboxedProcess
        do {
            process = try spawner.spawn(request.spec(profile: profile), pluginSocketFD: pair[1], watcher: watcher, cgroup: cgroup)
        } catch {
            close(pair[1])
            throw error
        }
        close(pair[1])
        let output = readToEnd(pair[0])
        let exit = process.wait()
        return Outcome(output: output, exit: exit,
                       breaches: breaches.withLock { $0 }, watched: watcher.statistics(plugin: request.plugin))
    }

    /// Everything readable from `fd` until EOF, as text.
    static func readToEnd(_ fd: Int32) -> String {
        var output = Data()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { break }
            output.append(contentsOf: buffer[0..<n])
        }
        return String(decoding: output, as: UTF8.self)
    }
}
