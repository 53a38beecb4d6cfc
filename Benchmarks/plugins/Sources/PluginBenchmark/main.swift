// `make bench-plugins`: spawn-to-hello latency under vigil-sandbox, bubblewrap, firejail and bare
// posix_spawn; events/s from one Swift detector over its socket into the bus. Prints lines of
// `key value` that run.sh turns into the table and the final JSON line.
import Foundation
import Logging
import VigilBus
import VigilConfig
import VigilCore
import VigilPluginHost
import VigilPluginProtocol

let arguments = CommandLine.arguments
func option(_ name: String) -> String? {
    guard let i = arguments.firstIndex(of: name), i + 1 < arguments.count else { return nil }
    return arguments[i + 1]
}

// MARK: spawn latency

/// Spawns `argv` with `socket` as fd 3 and returns its pid.
func spawn(_ argv: [String], socket: Int32) -> pid_t {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    let high = fcntl(socket, F_DUPFD_CLOEXEC, 10)
    defer { close(high) }
    posix_spawn_file_actions_adddup2(&actions, high, 3)
    let cargs = argv.map { strdup($0) } + [nil]
    defer { cargs.forEach { free($0) } }
    var pid: pid_t = 0
    let env: [UnsafeMutablePointer<CChar>?] = [strdup("PATH=/usr/bin:/bin"), nil]
    defer { env.forEach { free($0) } }
    guard posix_spawn(&pid, argv[0], &actions, nil, cargs, env) == 0 else { return -1 }
    return pid
}

/// Blocks until a whole hello frame arrived on `fd`.
func readHello(_ fd: Int32) -> Bool {
    var decoder = FrameDecoder()
    while true {
        if let message = try? decoder.nextMessage() {
            if case .hello = message { return true }
            return false
        }
        if decoder.read(from: fd) <= 0 { return false }
    }
}

func percentile(_ samples: [Double], _ p: Double) -> Double {
    let sorted = samples.sorted()
    guard !sorted.isEmpty else { return 0 }
    return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
}

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) * 1000 + Double(ts.tv_nsec) / 1e6
}

/// One way of starting the hello program with `socket` as its fd 3; returns the pid to reap.
struct Launcher {
    let name: String
    /// Runs in every `every`-th round only (firejail takes ~10x longer than the others).
    let every: Int
    let start: (Int32) -> pid_t?
}

/// Milliseconds from the spawn call until the hello frame was read, or nil with a line on stderr.
func sample(_ launcher: Launcher) -> Double? {
    var pair: [Int32] = [-1, -1]
    socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair)
    defer { close(pair[0]) }
    let t0 = now()
    guard let pid = launcher.start(pair[1]), pid > 0 else {
        close(pair[1])
        FileHandle.standardError.write(Data("\(launcher.name): could not start\n".utf8))
        return nil
    }
    close(pair[1])
    let ok = readHello(pair[0])
    let t1 = now()
    var status: Int32 = 0
    waitpid(pid, &status, 0)
    guard ok else {
        FileHandle.standardError.write(Data("\(launcher.name): no hello\n".utf8))
        return nil
    }
    return t1 - t0
}

/// Round-robin: every round starts each launcher once, so that load changes on the machine
/// (other builds) fall on all of them alike. One untimed warm-up round first: the page cache,
/// and vigil-sandbox's zygote, which the daemon starts once and keeps.
func spawnBenchmark() throws {
    guard let program = option("--program"), let launcherPath = option("--launcher"), let profiles = option("--profiles"),
          let specs = option("--specs") else { fatalError("usage: spawn --program P --launcher L --profiles D --specs D [--iterations N] [--launchers a,b]") }
    let iterations = Int(option("--iterations") ?? "100") ?? 100
    let wanted = Set((option("--launchers") ?? "vigil,vigil_oneshot,bwrap,firejail,posix_spawn").split(separator: ",").map(String.init))
    let profile = try SandboxProfile.load(named: "detector", from: URL(fileURLWithPath: profiles))
    let watcher = try BreachWatcher(onBreach: { _ in })
    let request = SandboxRequest(plugin: "bench", pluginDirectory: (program as NSString).deletingLastPathComponent,
                                 executable: program, uid: 65_000, gid: 65_000)
    let spec = request.spec(profile: profile)
    func sandboxed(_ spawner: SandboxSpawner) -> (Int32) -> pid_t? {
        { fd in
            do { return try spawner.spawn(spec, pluginSocketFD: fd, stderrFD: 2, watcher: watcher).pluginPID } catch {
                FileHandle.standardError.write(Data("vigil-sandbox: \(error)\n".utf8))
                return nil
            }
        }
    }
    let zygote = SandboxSpawner(launcherPath: launcherPath, specDirectory: specs, mode: .zygote)
    let oneShot = SandboxSpawner(launcherPath: launcherPath, specDirectory: specs, mode: .oneShot)
    let launchers = [
        Launcher(name: "vigil", every: 1, start: sandboxed(zygote)),
        Launcher(name: "vigil_oneshot", every: 1, start: sandboxed(oneShot)),
        Launcher(name: "bwrap", every: 1) { fd in
            spawn(["/usr/bin/bwrap", "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "--dev", "/dev",
                   "--proc", "/proc", program], socket: fd)
        },
        Launcher(name: "firejail", every: 5) { fd in
            spawn(["/usr/bin/firejail", "--quiet", "--seccomp", "--net=none", "--keep-fd=3", program], socket: fd)
        },
        Launcher(name: "posix_spawn", every: 1) { fd in spawn([program], socket: fd) },
    ].filter { wanted.contains($0.name) }
    var samples: [String: [Double]] = [:]
    var failed: Set<String> = []
    for round in -1..<iterations {
        for launcher in launchers where (round < 0 || round % launcher.every == 0) && !failed.contains(launcher.name) {
            guard let ms = sample(launcher) else { failed.insert(launcher.name); continue }
            if round >= 0 { samples[launcher.name, default: []].append(ms) }
        }
    }
    zygote.shutdown()
    watcher.stop()
    for launcher in launchers where !failed.contains(launcher.name) {
        let values = samples[launcher.name] ?? []
        print("spawn_\(launcher.name)_p50_ms \(percentile(values, 0.5))")
        print("spawn_\(launcher.name)_p99_ms \(percentile(values, 0.99))")
    }
}

// MARK: events per second

func eventsBenchmark() async throws {
    guard let launcher = option("--launcher"), let profiles = option("--profiles"), let specs = option("--specs"),
          let pluginDirectory = option("--plugin") else { fatalError("usage: events --launcher L --profiles D --specs D --plugin DIR") }
    let count = Int(option("--count") ?? "2000000") ?? 2_000_000
    let bus = EventBus(configuration: .init(capacity: [.security: 4096, .incident: 16384, .telemetry: 1 << 17]))
    let symbols = SymbolTable()
    var logger = Logger(label: "bench")
    logger.logLevel = .error
    let host = PluginHost(settings: PluginHostSettings(launcherPath: launcher, specDirectory: specs, profilesDirectory: profiles),
                          bus: bus, symbols: symbols, registry: InMemoryPluginRegistry(), logger: logger)
    var manifest = try PluginManifestFile.load(directory: pluginDirectory)
    manifest.config = .object(["count": .number(Double(count))])
    await host.load([manifest])
    let running = Task { await host.run() }
    let done = symbols.intern("bench_done")
    let metric = symbols.intern("bench_metric")
    var received = 0
    var first: Double?
    var last = 0.0
    var buffer = [Event](repeating: Event(kind: .metric, lane: .telemetry, name: .none, value: 0, time: .init(nanoseconds: 0)),
                         count: 4096)
    var finished = false
    let deadline = now() + 120_000
    while !finished, now() < deadline {
        var drained = 0
        for lane in [Lane.telemetry, .incident] {
            let n = buffer.withUnsafeMutableBufferPointer { bus.drain(lane, into: $0) }
            drained += n
            for i in 0..<n {
                if buffer[i].name == metric {
                    if first == nil { first = now() }
                    received += 1
                    last = now()
                } else if buffer[i].name == done {
                    finished = true
                }
            }
        }
        if drained == 0 { await bus.waitForEvents() }
    }
    // Lanes are not ordered with each other: `bench_done` (incident lane) can be drained while
    // the last samples still wait on the telemetry lane. Take those before counting.
    while true {
        let n = buffer.withUnsafeMutableBufferPointer { bus.drain(.telemetry, into: $0) }
        if n == 0 { break }
        for i in 0..<n where buffer[i].name == metric {
            received += 1
            last = now()
        }
    }
    let shed = bus.statistics().first { $0.lane == .telemetry }?.shed ?? 0
    let seconds = ((last - (first ?? last)) / 1000)
    print("events_sent \(count)")
    print("events_received \(received)")
    print("events_shed \(shed)")
    print("events_per_s \(seconds > 0 ? Int(Double(received) / seconds) : 0)")
    await host.beginShutdown()
    await running.value
}

switch arguments.dropFirst().first {
case "spawn": try spawnBenchmark()
case "events": try await eventsBenchmark()
default: fatalError("usage: vigil-bench-plugins spawn|events ...")
}
