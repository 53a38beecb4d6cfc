import Foundation
import Synchronization
import Testing
import VigilCore
@testable import VigilPluginHost

/// The exit-code table of `Docs/sandbox.md`, checked against the real binary.
@Suite(.serialized, .enabled(if: SandboxHarness.available, "needs root, cc and the vigil-sandbox binary"))
struct LauncherContractTests {
    /// Runs the launcher directly (no fd 3/4) and returns its exit code and stderr.
    func launch(_ arguments: [String]) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(SandboxHarness.launcherPath))
        process.arguments = arguments
        let stderr = Pipe()
        process.standardError = stderr
        try process.run()
        let text = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, text)
    }

    func writeSpec(_ spec: SandboxSpec, mode: mode_t, in world: SandboxHarness.World) throws -> String {
        let path = world.stateDirectory.appendingPathComponent("test.spec").path
        try JSONEncoder().encode(spec).write(to: URL(fileURLWithPath: path))
        chmod(path, mode)
        return path
    }

    @Test func usageIsExitCode100() throws {
        let (code, text) = try launch([])
        #expect(code == 100 && text.contains("usage: vigil-sandbox --spec PATH | vigil-sandbox --serve"))
    }

    @Test func aSpecReadableByOthersIsRefusedWith102() throws {
        let world = try SandboxHarness.World()
        let spec = world.request("hello").spec(profile: try world.profile())
        let (code, text) = try launch(["--spec", try writeSpec(spec, mode: 0o644, in: world)])
        #expect(code == 102 && text.contains("vigil-sandbox[?]: spec permissions"))
    }

    @Test func aRootPluginIsRefusedWith103() throws {
        let world = try SandboxHarness.World()
        var spec = world.request("hello").spec(profile: try world.profile())
        spec.uid = 0
        let (code, text) = try launch(["--spec", try writeSpec(spec, mode: 0o600, in: world)])
        #expect(code == 103 && text.contains("uid: a plugin never runs as root"))
    }

    @Test func missingDescriptorsAreExitCode104() throws {
        let world = try SandboxHarness.World()
        let spec = world.request("hello").spec(profile: try world.profile())
        let (code, text) = try launch(["--spec", try writeSpec(spec, mode: 0o600, in: world)])
        #expect(code == 104 && text.contains("vigil-sandbox[hostile]: fd 3/4"))
    }

    @Test(arguments: [SandboxSpawner.Mode.oneShot, .zygote])
    func aMissingProgramExitsWith133AfterTheAck(mode: SandboxSpawner.Mode) throws {
        let world = try SandboxHarness.World()
        var request = world.request("hello")
        request.executable = world.pluginDirectory.appendingPathComponent("missing").path
        let outcome = try SandboxHarness.run(request, profile: try world.profile(), stateDirectory: world.stateDirectory, mode: mode)
        #expect(outcome.exit == .exited(code: 133))
    }

    @Test(arguments: [SandboxSpawner.Mode.oneShot, .zygote])
    func anUnknownCapabilityIsRefusedByTheLauncherWith103(mode: SandboxSpawner.Mode) throws {
        let world = try SandboxHarness.World()
        var request = world.request("hello")
        request.capabilities = ["CAP_FLY"]
        #expect(throws: SandboxLaunchError.setupFailed(process: "launcher", exitCode: 103, signal: nil)) {
            try SandboxHarness.run(request, profile: try world.profile(), stateDirectory: world.stateDirectory, mode: mode)
        }
    }

    @Test(arguments: [SandboxSpawner.Mode.oneShot, .zygote])
    func anUnknownSyscallIsRefusedByTheLauncherWith128(mode: SandboxSpawner.Mode) throws {
        let world = try SandboxHarness.World()
        var request = world.request("hello")
        request.extraAllow = ["reed"]
        #expect(throws: SandboxLaunchError.setupFailed(process: "launcher", exitCode: 128, signal: nil)) {
            try SandboxHarness.run(request, profile: try world.profile(), stateDirectory: world.stateDirectory, mode: mode)
        }
    }

    @Test func theZygoteWithoutAControlSocketIsExitCode104() throws {
        let (code, text) = try launch(["--serve"])
        #expect(code == 104 && text.contains("vigil-sandbox[zygote]: fd 3/4: fd 3 (the control socket) is not a socket"))
    }

    @Test func oneWatcherServesEveryPluginAndABreachDoesNotDisturbTheOthers() throws {
        let world = try SandboxHarness.World()
        let launcher = try #require(SandboxHarness.launcherPath)
        let breaches = Mutex<[BreachReport]>([])
        let watcher = try BreachWatcher(onBreach: { report in breaches.withLock { $0.append(report) } })
        defer { watcher.stop() }
        let spawner = SandboxSpawner(launcherPath: launcher, specDirectory: world.stateDirectory.path)
        var running: [(SandboxedProcess, Int32)] = []
        for (index, attempt) in ["tcp-socket", "watched-ioctl", "unshare", "watched-ioctl"].enumerated() {
            var request = world.request(attempt)
            request.plugin = "p\(index)"
            var pair: [Int32] = [-1, -1]
            #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0)
            running.append((try spawner.spawn(request.spec(profile: try world.profile()), pluginSocketFD: pair[1], watcher: watcher), pair[0]))
            close(pair[1])
        }
        for (process, socket) in running {
            #expect(process.wait() == .exited(code: 0))
            close(socket)
        }
        #expect(breaches.withLock { $0.map { "\($0.plugin):\($0.syscall)" }.sorted() } == ["p0:socket", "p2:unshare"])
        #expect((watcher.statistics(plugin: "p1")["ioctl"] ?? 0) >= 3 && (watcher.statistics(plugin: "p3")["ioctl"] ?? 0) >= 3)
        #expect(watcher.breachCount(plugin: "p1") == 0)
    }
}
