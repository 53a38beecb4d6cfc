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

/// Milliseconds from spawn to hello, `iterations` times, for one launcher.
func measure(_ name: String, iterations: Int, start: (Int32) -> pid_t?) -> [Double] {
    var samples: [Double] = []
    for _ in 0..<iterations {
        var pair: [Int32] = [-1, -1]
        socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair)
        let t0 = now()
        guard let pid = start(pair[1]), pid > 0 else {
            close(pair[0]); close(pair[1])
            FileHandle.standardError.write(Data("\(name): could not start\n".utf8))
            return []
        }
        close(pair[1])
        let ok = readHello(pair[0])
        let t1 = now()
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        close(pair[0])
        if ok { samples.append(t1 - t0) } else {
            FileHandle.standardError.write(Data("\(name): no hello\n".utf8))
            return []
        }
    }
    return samples
}

func spawnBenchmark() throws {
    guard let program = option("--program"), let launcher = option("--launcher"), let profiles = option("--profiles"),
          let specs = option("--specs") else { fatalError("usage: spawn --program P --launcher L --profiles D --specs D") }
    let iterations = Int(option("--iterations") ?? "100") ?? 100
    let profile = try SandboxProfile.load(named: "detector", from: URL(fileURLWithPath: profiles))
    let watcher = try BreachWatcher(onBreach: { _ in })
    let spawner = SandboxSpawner(launcherPath: launcher, specDirectory: specs)
    let request = SandboxRequest(plugin: "bench", pluginDirectory: (program as NSString).deletingLastPathComponent,
                                 executable: program, uid: 65_000, gid: 65_000)
    let spec = request.spec(profile: profile)
    let results: [(String, [Double])] = [
        ("vigil", measure("vigil-sandbox", iterations: iterations) { fd in
            guard let p = try? spawner.spawn(spec, pluginSocketFD: fd, stderrFD: 2, watcher: watcher) else { return nil }
            return p.pluginPID
        }),
        ("bwrap", measure("bwrap", iterations: iterations) { fd in
            spawn(["/usr/bin/bwrap", "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "--dev", "/dev",
                   "--proc", "/proc", program], socket: fd)
        }),
        ("firejail", measure("firejail", iterations: max(10, iterations / 5)) { fd in
            spawn(["/usr/bin/firejail", "--quiet", "--seccomp", "--net=none", "--keep-fd=3", program], socket: fd)
        }),
        ("posix_spawn", measure("posix_spawn", iterations: iterations) { fd in spawn([program], socket: fd) }),
    ]
    watcher.stop()
    for (name, samples) in results where !samples.isEmpty {
        print("spawn_\(name)_p50_ms \(percentile(samples, 0.5))")
        print("spawn_\(name)_p99_ms \(percentile(samples, 0.99))")
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
