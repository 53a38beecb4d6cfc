import Foundation
import Synchronization
import CVigilSys
import Testing
import VigilCore
@testable import VigilPluginHost

/// `vigil-sandbox --serve`, the zygote every plugin is cloned from: restarts, refusals,
/// concurrency and its own lifetime, with the real binary as root.
@Suite(.serialized, .enabled(if: SandboxHarness.available, "needs root, cc and the vigil-sandbox binary"))
struct ZygoteTests {
    let world: SandboxHarness.World
    init() throws { world = try SandboxHarness.World() }

    /// What one start through `spawner` produced: the plugin's fd 3 output, its stderr and exit,
    /// or why it did not start (with the launcher's line on stderr).
    struct Run {
        var output: String
        var stderr: String
        var exit: PluginExit?
        var failure: SandboxLaunchError?
    }

    /// Descriptors are close-on-exec: a zygote started meanwhile by another thread must not hold
    /// a copy, or reading them would never reach EOF.
    func start(_ request: SandboxRequest, with spawner: SandboxSpawner, watcher: BreachWatcher?,
               adjust: (inout SandboxSpec) -> Void = { _ in }) throws -> Run {
        var pair: [Int32] = [-1, -1]
        var errPipe: [Int32] = [-1, -1]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0)
        #expect(vigil_pipe_cloexec(&errPipe) == 0)
        defer { close(pair[0]); close(errPipe[0]) }
        var spec = request.spec(profile: try world.profile())
        adjust(&spec)
        let spawned = Result { () throws(SandboxLaunchError) in
            try spawner.spawn(spec, pluginSocketFD: pair[1], stderrFD: errPipe[1], watcher: watcher)
        }
        close(pair[1])
        close(errPipe[1])
        let output = SandboxHarness.readToEnd(pair[0])
        let stderr = SandboxHarness.readToEnd(errPipe[0])
        switch spawned {
        case .success(let process):
            return Run(output: output, stderr: stderr, exit: process.wait())
        case .failure(let error):
            return Run(output: output, stderr: stderr, failure: error)
        }
    }

    func spawner() throws -> SandboxSpawner {
        SandboxSpawner(launcherPath: try #require(SandboxHarness.launcherPath), specDirectory: world.stateDirectory.path)
    }

    /// A reaped process no longer exists; a zombie or a live one does.
    func exists(_ pid: Int32) -> Bool { kill(pid, 0) == 0 || errno != ESRCH }

    @Test func oneZygoteServesEveryStartAndEndsWithItsSpawner() throws {
        let spawner = try spawner()
        #expect(spawner.zygote?.pid == nil, "the zygote starts with the first plugin, not before")
        let first = try start(world.request("hello"), with: spawner, watcher: nil)
        let zygote = try #require(spawner.zygote?.pid)
        let second = try start(world.request("hello"), with: spawner, watcher: nil)
        #expect(first.output.hasPrefix("hello uid=\(world.uid)") && second.output.hasPrefix("hello uid=\(world.uid)"))
        #expect(first.exit == .exited(code: 0) && second.exit == .exited(code: 0))
        #expect(spawner.zygote?.pid == zygote)
        spawner.shutdown()
        #expect(!exists(zygote), "shutdown closes the control socket; the zygote exits on EOF and is reaped")
        #expect(try start(world.request("hello"), with: spawner, watcher: nil).failure == .zygoteFailed("the spawner was shut down"))
    }

    @Test func aKilledZygoteIsReapedAndReplacedByTheNextStart() throws {
        let spawner = try spawner()
        defer { spawner.shutdown() }
        _ = try start(world.request("hello"), with: spawner, watcher: nil)
        let dead = try #require(spawner.zygote?.pid)
        #expect(kill(dead, SIGKILL) == 0)
        // Whether the next request finds the socket already closed or sees the zygote end while it
        // waits for the answer, it is sent again to a new zygote, started once the old one is reaped.
        let run = try start(world.request("hello"), with: spawner, watcher: nil)
        #expect(run.output.hasPrefix("hello uid=\(world.uid)"))
        #expect(run.exit == .exited(code: 0))
        let replacement = try #require(spawner.zygote?.pid)
        #expect(replacement != dead)
        #expect(!exists(dead))
    }

    @Test(arguments: [
        ("uid 0", 103, "uid: a plugin never runs as root"),
        ("capability", 103, "capabilities: unknown capability CAP_FLY"),
        ("watched clone", 103, "seccomp.watch: clone is checked by its arguments and cannot be watched"),
        ("unknown syscall", 128, "unknown syscall reed"),
    ])
    func aRefusedRequestNamesItsStepAndTheZygoteServesOn(broken: String, exitCode: Int32, line: String) throws {
        let spawner = try spawner()
        defer { spawner.shutdown() }
        _ = try start(world.request("hello"), with: spawner, watcher: nil)
        let zygote = try #require(spawner.zygote?.pid)
        let refused = try start(world.request("hello"), with: spawner, watcher: nil) { spec in
            switch broken {
            case "uid 0": spec.uid = 0
            case "capability": spec.capabilities = ["CAP_FLY"]
            case "watched clone": spec.seccomp.watch.append("clone")
            default: spec.seccomp.allow.append("reed")
            }
        }
        #expect(refused.failure == .setupFailed(process: "launcher", exitCode: exitCode, signal: nil))
        #expect(refused.stderr.hasPrefix("vigil-sandbox[hostile]: ") && refused.stderr.contains(line), "\(refused.stderr)")
        #expect(spawner.zygote?.pid == zygote)
        let after = try start(world.request("hello"), with: spawner, watcher: nil)
        #expect(after.exit == .exited(code: 0))
    }

    @Test func aFailureInThePluginHalfComesFromThePluginProcess() throws {
        let spawner = try spawner()
        defer { spawner.shutdown() }
        let run = try start(world.request("hello"), with: spawner, watcher: nil) { spec in
            spec.workingDirectory = world.root.appendingPathComponent("missing").path
        }
        #expect(run.failure == .setupFailed(process: "plugin", exitCode: 132, signal: nil))
        #expect(run.stderr.contains("vigil-sandbox[hostile]: chdir:"), "\(run.stderr)")
    }

    @Test func manyPluginsStartConcurrentlyThroughOneZygote() throws {
        let spawner = try spawner()
        defer { spawner.shutdown() }
        let breaches = Mutex<[BreachReport]>([])
        let watcher = try BreachWatcher(onBreach: { report in breaches.withLock { $0.append(report) } })
        defer { watcher.stop() }
        let count = 12
        let runs = Mutex<[Int: Result<Run, any Error>]>([:])
        DispatchQueue.concurrentPerform(iterations: count) { index in
            var request = world.request(index % 3 == 0 ? "tcp-socket" : "hello")
            request.plugin = "p\(index)"
            let result = Result { try start(request, with: spawner, watcher: watcher) }
            runs.withLock { $0[index] = result }
        }
        let results = runs.withLock { $0 }
        #expect(results.count == count)
        for index in 0..<count {
            let run = try #require(try results[index]?.get())
            #expect(run.failure == nil && run.exit == .exited(code: 0), "p\(index): \(run.stderr)")
            #expect(run.output.hasPrefix(index % 3 == 0 ? "tcp-socket blocked errno=\(EPERM)" : "hello uid=\(world.uid)"), "p\(index)")
        }
        #expect(breaches.withLock { $0.map(\.plugin).sorted() } == ["p0", "p3", "p6", "p9"])
    }

    @Test func theZygoteDiesWithTheThreadThatStartedIt() throws {
        let launcher = try #require(SandboxHarness.launcherPath)
        let started = Mutex<Result<ZygoteConnection, SandboxLaunchError>?>(nil)
        let threadDone = DispatchSemaphore(value: 0)
        let thread = Thread {
            started.withLock { $0 = Result { () throws(SandboxLaunchError) in try ZygoteConnection.start(launcher, timeout: .seconds(10)) } }
            threadDone.signal()
        }
        thread.start()
        threadDone.wait()
        let connection = try #require(try started.withLock { $0 }?.get())
        // PR_SET_PDEATHSIG follows the spawning thread, which is ending: the kernel kills the zygote
        // although its control socket is still open. The bound only keeps a failure from hanging.
        let ended = Mutex<PluginExit?>(nil)
        let reaped = DispatchSemaphore(value: 0)
        Thread { ended.withLock { $0 = connection.reap() }; reaped.signal() }.start()
        if reaped.wait(timeout: .now() + 10) == .timedOut {
            Issue.record("the zygote outlived the thread that started it")
            connection.close()
            reaped.wait()
        }
        #expect(ended.withLock { $0 } == .killed(signal: SIGKILL, syscall: nil))
    }

    @Test func aZygoteThatCannotStartSaysHowItEnded() throws {
        let fake = world.root.appendingPathComponent("not-a-launcher").path
        try writeExecutable("#!/bin/sh\nexit 7\n", to: fake)
        let spawner = SandboxSpawner(launcherPath: fake, specDirectory: world.stateDirectory.path)
        defer { spawner.shutdown() }
        let run = try start(world.request("hello"), with: spawner, watcher: nil)
        #expect(run.failure == .setupFailed(process: "zygote", exitCode: 7, signal: nil), "\(String(describing: run.failure))")
    }

    /// Written by a child process: a descriptor open for writing in this (multi-threaded) test
    /// process could be inherited by a concurrent `posix_spawn` and make `execve` fail ETXTBSY.
    func writeExecutable(_ text: String, to path: String) throws {
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/bin/sh")
        shell.arguments = ["-c", "printf '%s' \"$1\" > \"$2\" && chmod 755 \"$2\"", "sh", text, path]
        try shell.run()
        shell.waitUntilExit()
        #expect(shell.terminationStatus == 0)
    }

    @Test func aZygoteThatEndsDuringEveryRequestIsReplacedOnceThenTheStartFails() throws {
        // Ready, then reads one request and exits without answering, as a zygote killed mid-request.
        let fake = world.root.appendingPathComponent("dies-mid-request").path
        let starts = world.root.appendingPathComponent("starts").path
        try writeExecutable("#!/bin/sh\necho start >> \(starts)\nprintf R >&3\nhead -c 1 <&3 >/dev/null\nexit 0\n", to: fake)
        let spawner = SandboxSpawner(launcherPath: fake, specDirectory: world.stateDirectory.path)
        defer { spawner.shutdown() }
        let run = try start(world.request("hello"), with: spawner, watcher: nil)
        #expect(run.failure == .zygoteFailed("the zygote ended before answering"), "\(String(describing: run.failure))")
        #expect(try String(contentsOfFile: starts, encoding: .utf8) == "start\nstart\n")
    }
}
