import Foundation
import Logging
import NIOCore
import NIOPosix
import VigilBus
import VigilCore
import VigilPluginProtocol

/// Why a request to a plugin, or an operator command about one, failed.
public enum PluginHostError: Error, Sendable, Equatable, CustomStringConvertible {
    case unknownPlugin(String, known: [String])
    case notServing(String, state: String)
    case wrongKind(String, kind: PluginKind, expected: PluginKind)
    case requestFailed(plugin: String, reason: String)

    public var description: String {
        switch self {
        case .unknownPlugin(let name, let known):
            "no plugin named \"\(name)\"; loaded: " + (known.isEmpty ? "none" : known.joined(separator: ", "))
        case .notServing(let name, let state): "plugin \(name) is \(state), not running"
        case .wrongKind(let name, let kind, let expected): "plugin \(name) is a \(kind.rawValue), not a \(expected.rawValue)"
        case .requestFailed(let plugin, let reason): "request to \(plugin) failed: \(reason)"
        }
    }
}

/// Runs every plugin: starts each under `vigil-sandbox`, connects it, supervises it with
/// ``PluginSupervisor``, puts its events on the bus, answers its handshake and heartbeats,
/// carries notify/act requests to it, and turns its breaches and failures into bus events.
///
/// Everything that happens to a plugin (frames, exits, breaches, timer ticks) arrives as one
/// ordered stream of inputs, so a breach reported before the plugin died is always handled
/// before its exit.
public actor PluginHost {
    enum Input: Sendable {
        case report(String, Int, ConnectionReport)
        case exited(String, Int, PluginTermination)
        case spawned(String, Int, Result<PluginRun, PluginLauncher.Failure>)
        case breach(BreachReport)
        case republish(Event)
        case tick
        /// The run's cgroup OOM-killed one of its processes while the plugin lived on.
        case overLimit(String, Int, String)
        /// The run (plugin, its first process) made watched syscalls faster than the watcher's budget.
        case syscallFlood(String, Int32, String)
    }

    struct Waiting {
        let plugin: String
        let generation: Int
        let continuation: CheckedContinuation<PluginResult, any Error>
        /// Fails the request at its deadline, whether or not the supervisor's tick has come.
        var timer: Task<Void, Never>?
    }

    private(set) var settings: PluginHostSettings
    let bus: EventBus
    let symbols: SymbolTable
    let clock: any VigilClock
    let logger: Logger
    let registry: any PluginRegistry
    let support: SandboxSupport
    nonisolated let inputs: AsyncStream<Input>
    nonisolated let continuation: AsyncStream<Input>.Continuation
    private let group: MultiThreadedEventLoopGroup
    /// Launches in flight, by key (see ``launch(_:generation:)``).
    private var launches: [Int: Task<Void, Never>] = [:]
    private var nextLaunchKey = 0
    private(set) var watcher: BreachWatcher?
    /// Turns a refused brokered connection into a breach (see ``EgressBroker``).
    private var egressBreach: @Sendable (EgressBroker.Refusal) -> Void = { _ in }
    /// Starts every plugin; in zygote mode its `vigil-sandbox --serve` lives as long as the host runs.
    let spawner: SandboxSpawner
    var supervisor: PluginSupervisor
    var runs: [String: (generation: Int, run: PluginRun)] = [:]
    var records: [String: PluginRecordSummary] = [:]
    /// How each plugin's data folder was held at its last start (quota, or plain and why).
    var dataFolders: [String: DataFolderMode] = [:]
    var waiting: [String: Waiting] = [:]
    /// Ids of requests that ended unanswered, per plugin (the last few): a late answer to one is
    /// not a violation, an answer to any other id the plugin was never sent is.
    var expiredRequests: [String: [String]] = [:]
    /// Per plugin, for the daemon's lifetime: its share of the interning tables and its counters.
    var accounts: [String: PluginAccount] = [:]
    /// Registry writes (SQLite) run here, in order, off the cooperative pool.
    let registryQueue = DispatchQueue(label: "vigil.plugin-registry")
    private var profiles: [String: SandboxProfile] = [:]
    var baselines: [String: SyscallBaseline] = [:]
    var windowStartedAt: Timestamp
    var logBudget: [String: LineRateLimit] = [:]
    /// Log lines dropped by the rate limit in the current minute, per plugin.
    var logFlood: [String: LogFlood] = [:]
    /// Plugins whose log lines skip the rate limit (enable_enhanced_logging).
    public private(set) var enhancedLogging: Set<String> = []
    /// Set by ``beginShutdown()``: plugins still alive then are killed.
    var stopDeadline: Timestamp?
    /// When the running plugins' memory cgroups were last read for OOM kills.
    var limitsCheckedAt: Timestamp?
    /// Runs whose exit arrived before their spawn was registered.
    var exitedEarly: Set<Key> = []

    public init(settings: PluginHostSettings, bus: EventBus, symbols: SymbolTable, clock: any VigilClock = SystemClock(),
                registry: any PluginRegistry, logger: Logger) {
        self.settings = settings
        self.bus = bus
        self.symbols = symbols
        self.clock = clock
        self.logger = logger
        self.registry = registry
        support = SandboxSupport.detect()
        spawner = SandboxSpawner(launcherPath: settings.launcherPath, specDirectory: settings.specDirectory,
                                 mode: settings.launcherMode)
        supervisor = PluginSupervisor(policy: settings.policy)
        (inputs, continuation) = AsyncStream.makeStream(of: Input.self)
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        windowStartedAt = clock.now()
        let continuation = self.continuation
        let publisher = BreachPublisher(bus: bus, symbols: symbols)
        let clock = self.clock
        // A brokered plugin asking for a destination it did not declare: refused by the broker,
        // then an isolation breach like a forbidden syscall (published, then quarantined).
        egressBreach = { refusal in
            let report = BreachReport(plugin: refusal.plugin, pid: refusal.pid, syscall: "connect", number: -1, arguments: [],
                                      time: clock.now(), outcome: .denied, destination: refusal.destination)
            if !publisher.publish(report) { continuation.yield(.republish(publisher.event(report))) }
            continuation.yield(.breach(report))
        }
        if settings.useNotify {
            watcher = try? BreachWatcher(clock: clock, onBreach: { report in
                // Published from the watcher thread before the plugin gets its EPERM: the
                // security lane carries the breach even if everything else is busy.
                if !publisher.publish(report) { continuation.yield(.republish(publisher.event(report))) }
                continuation.yield(.breach(report))
            }, onFlood: { plugin, pid, detail in
                continuation.yield(.syscallFlood(plugin, pid, detail))
            })
        }
    }

    /// Adds the plugins and starts those that are enabled (and not quarantined before).
    /// `enabled` limits which start (nil: every plugin whose record says enabled).
    public func load(_ manifests: [PluginManifest], enabled: Set<String>? = nil) async {
        if !support.missing.isEmpty {
            for line in support.missing { logger.warning("sandbox: \(line)") }
        }
        logger.info("plugin sandbox", metadata: ["support": "\(support)"])
        let registry = self.registry
        let names = manifests.map(\.name)
        await PluginLauncher.onThread { registry.prepare(names) }
        for manifest in manifests {
            let record: PluginRecordSummary
            let registry = self.registry
            let name = manifest.name
            // The registry reads the store and the account databases: blocking work, on a thread.
            let found = await PluginLauncher.onThread { Result { try registry.record(for: name) } }
            if accounts[name] == nil { accounts[name] = PluginAccount(internLimit: settings.connectionLimits.internBudget) }
            do { record = try found.get() } catch {
                logger.error("plugin not loaded: no identity", metadata: ["plugin": "\(manifest.name)", "error": "\(error)"])
                continue
            }
            records[manifest.name] = record
            let on = record.enabled && (enabled?.contains(manifest.name) ?? true)
            execute(supervisor.add(manifest, enabled: on, quarantine: record.quarantine, now: clock.now()))
            logger.notice("plugin loaded", metadata: [
                "plugin": "\(manifest.name)", "kind": "\(manifest.kind.rawValue)", "uid": "\(record.uid)",
                "state": "\(supervisor.status(manifest.name, now: clock.now())?.state.name ?? "?")",
            ])
        }
    }

    /// Processes inputs and timer ticks until ``beginShutdown()`` has stopped every plugin
    /// (or the task is cancelled, which begins the shutdown too).
    public func run() async {
        if PluginCgroup.detect() != nil {
            let stale = await PluginLauncher.onThread { PluginCgroup.removeStale() }
            if stale > 0 { logger.notice("removed run cgroups left by daemons that are gone", metadata: ["count": "\(stale)"]) }
        }
        let ticker = Task { [continuation, settings] in
            while !Task.isCancelled {
                try? await Task.sleep(for: settings.tickInterval)
                continuation.yield(.tick)
            }
        }
        await withTaskCancellationHandler {
            for await input in inputs {
                await handle(input)
                if let deadline = stopDeadline, runs.isEmpty || clock.now() >= deadline + .seconds(2) { break }
            }
        } onCancel: {
            Task { await self.beginShutdown() }
        }
        ticker.cancel()
        for (_, waiter) in waiting {
            waiter.timer?.cancel()
            waiter.continuation.resume(throwing: PluginHostError.requestFailed(plugin: waiter.plugin, reason: "vigild is stopping"))
        }
        waiting.removeAll()
        while let (_, launch) = launches.first {
            await launch.value
        }
        watcher?.stop()
        spawner.shutdown()
        if let launchGuard = settings.launchGuard {
            // Every plugin has ended: their data images are unmounted (the loop devices go with them).
            let names = supervisor.names
            await PluginLauncher.onThread { for name in names { launchGuard.releaseDataFolder(for: name) } }
        }
        try? await group.shutdownGracefully()
    }

    private func launchEnded(_ key: Int) { launches[key] = nil }

    /// Sends `shutdown` to every live plugin; those still alive after the grace period are killed.
    public func beginShutdown() {
        guard stopDeadline == nil else { return }
        stopDeadline = clock.now() + settings.policy.shutdownGrace
        // Stopping through the supervisor makes the exits expected, not failures; the
        // registry keeps each plugin's enablement, so all start again with the daemon.
        for name in supervisor.names {
            execute(supervisor.handle(.disable(plugin: name), now: clock.now()))
            if runs[name] != nil { logger.info("stopping plugin", metadata: ["plugin": "\(name)"]) }
        }
        continuation.yield(.tick)
    }

    // MARK: operator commands

    public func statuses() -> [PluginStatus] {
        supervisor.names.compactMap { status($0) }
    }

    public func status(_ name: String) -> PluginStatus? {
        guard var status = supervisor.status(name, now: clock.now(), syscalls: watcher?.statistics(plugin: name) ?? [:]) else {
            return nil
        }
        if let account = accounts[name] {
            status.counters.eventsReceived = account.eventsReceived
            status.counters.eventsRefused = account.eventsRefused
        }
        status.dataFolder = dataFolders[name]
        return status
    }

    public func manifest(_ name: String) -> PluginManifest? { supervisor.manifest(name) }

    /// The uid the plugin runs as.
    public func uid(_ name: String) -> UInt32? { records[name]?.uid }

    public func enable(_ name: String) throws(PluginHostError) {
        try known(name)
        records[name]?.enabled = true
        records[name]?.quarantine = nil
        persist(name)
        execute(supervisor.handle(.enable(plugin: name), now: clock.now()))
    }

    public func disable(_ name: String) throws(PluginHostError) {
        try known(name)
        records[name]?.enabled = false
        persist(name)
        execute(supervisor.handle(.disable(plugin: name), now: clock.now()))
    }

    public func restart(_ name: String) throws(PluginHostError) {
        try known(name)
        execute(supervisor.handle(.restart(plugin: name), now: clock.now()))
    }

    /// Stops a plugin and keeps it stopped until an operator enables it (containment).
    /// The configuration was reloaded with rules listening for `ruleNames`: from now on the
    /// launch guard holds every start to them, and a plugin whose `emits:` the new rules put
    /// beyond its grant (a name a new rule listens for, declared without a grant) is quarantined
    /// now — a reload must not hand a running detector the incidents its grant would refuse.
    /// Returns the plugins quarantined.
    @discardableResult
    public func applyRuleNames(_ ruleNames: Set<String>) -> [String] {
        guard var guardian = settings.launchGuard else { return [] }
        guardian.policy.ruleNames = ruleNames
        settings.launchGuard = guardian
        var stopped: [String] = []
        for name in supervisor.names {
            guard let manifest = supervisor.manifest(name),
                  let state = supervisor.status(name, now: clock.now())?.state, state != .quarantined, state != .disabled else { continue }
            let refused = guardian.policy.violations(of: manifest).filter { $0.field == "emits" }
            guard !refused.isEmpty else { continue }
            let what = refused.map { "\($0.asked): allowed \($0.allowed)" }.joined(separator: "; ")
            logger.error("plugin quarantined: the reloaded rules put its emits beyond its grant",
                         metadata: ["plugin": "\(name)", "emits": "\(what)"])
            execute(supervisor.handle(.quarantine(plugin: name, reason: "the reloaded rules put its emits beyond its grant: \(what)"),
                                      now: clock.now()))
            stopped.append(name)
        }
        return stopped
    }

    public func quarantine(_ name: String, reason: String) throws(PluginHostError) {
        try known(name)
        execute(supervisor.handle(.quarantine(plugin: name, reason: reason), now: clock.now()))
    }

    /// Lifts (or restores) the log rate limit of these plugins: enhanced evidence capture.
    public func setEnhancedLogging(_ names: Set<String>, enabled: Bool) {
        if enabled { enhancedLogging.formUnion(names) } else { enhancedLogging.subtract(names) }
    }

    private func known(_ name: String) throws(PluginHostError) {
        guard supervisor.manifest(name) != nil else { throw .unknownPlugin(name, known: supervisor.names) }
    }

    // MARK: requests

    /// Asks a notifier to deliver `message` about `incident`; returns the plugin's result.
    public func notify(_ plugin: String, incident: JSONValue, title: String, body: String,
                       deadline: Duration? = nil) async throws -> PluginResult {
        try await request(plugin, kind: .notifier, deadline: deadline) { id, ms in
            .notify(NotifyRequest(id: id, incident: incident, message: NotificationText(title: title, body: body),
                                  deadlineMilliseconds: ms))
        }
    }

    /// Asks an action plugin to run `action`; returns the plugin's result.
    public func act(_ plugin: String, action: String, params: [String: JSONValue] = [:], incident: JSONValue = .null,
                    dryRun: Bool = false, deadline: Duration? = nil) async throws -> PluginResult {
        try await request(plugin, kind: .action, deadline: deadline) { id, ms in
            .act(ActRequest(id: id, action: action, params: params, incident: incident, dryRun: dryRun,
                            deadlineMilliseconds: ms))
        }
    }

    private func request(_ plugin: String, kind: PluginKind, deadline: Duration?,
                         _ make: (String, Int64) -> PluginMessage) async throws -> PluginResult {
        guard let manifest = supervisor.manifest(plugin) else {
            throw PluginHostError.unknownPlugin(plugin, known: supervisor.names)
        }
        guard manifest.kind == kind else { throw PluginHostError.wrongKind(plugin, kind: manifest.kind, expected: kind) }
        guard supervisor.isServing(plugin), let current = runs[plugin] else {
            throw PluginHostError.notServing(plugin, state: status(plugin)?.state.name ?? "unknown")
        }
        let id = Self.unguessableRequestID()
        let span = deadline ?? manifest.timeouts.actionDeadline
        let message = make(id, max(1, span.nanoseconds / 1_000_000))
        let generation = current.generation
        return try await withCheckedThrowingContinuation { continuation in
            let timer = Task { [weak self] in
                try? await Task.sleep(for: span)
                guard !Task.isCancelled else { return }
                await self?.expire(id, after: span)
            }
            waiting[id] = Waiting(plugin: plugin, generation: generation, continuation: continuation, timer: timer)
            send(message, on: current.run.channel)
            execute(supervisor.handle(.requestSent(plugin: plugin, generation: generation, id: id,
                                                   deadline: clock.now() + span), now: clock.now()))
        }
    }

    /// 128 random bits: another plugin cannot guess a request's id to answer it.
    static func unguessableRequestID() -> String {
        var rng = SystemRandomNumberGenerator()
        let a = rng.next() as UInt64, b = rng.next() as UInt64
        let hex = String(a, radix: 16) + "-" + String(b, radix: 16)
        return "req-" + hex
    }

    /// The deadline of a request passed: its caller gets the failure now, and the supervisor
    /// ends the run for the missed deadline at its next tick.
    private func expire(_ id: String, after span: Duration) {
        guard let waiter = waiting.removeValue(forKey: id) else { return }
        rememberExpired(id, plugin: waiter.plugin)
        waiter.continuation.resume(throwing: PluginHostError.requestFailed(
            plugin: waiter.plugin, reason: "no result within the deadline of \(DurationText.format(span))"))
    }

    /// Whether `id` is a request of `plugin` that already failed for its deadline: its late
    /// answer is dropped, once (a second answer is a violation, so results stay bounded by the
    /// requests sent, which is why they spend no control-frame token).
    func takeLateAnswer(_ id: String, plugin: String) -> Bool {
        guard let late = expiredRequests[plugin]?.firstIndex(of: id) else { return false }
        expiredRequests[plugin]?.remove(at: late)
        return true
    }

    func rememberExpired(_ id: String, plugin: String) {
        var ids = expiredRequests[plugin] ?? []
        ids.append(id)
        if ids.count > 32 { ids.removeFirst(ids.count - 32) }
        expiredRequests[plugin] = ids
    }

    nonisolated func send(_ message: PluginMessage, on channel: any Channel) {
        let frame = message.encodedFrame()
        var buffer = channel.allocator.buffer(capacity: frame.count)
        buffer.writeBytes(frame)
        channel.writeAndFlush(buffer, promise: nil)
    }

    // MARK: launching

    func launch(_ name: String, generation: Int) {
        guard let manifest = supervisor.manifest(name) else { return }
        guard support.privileged else {
            execute(supervisor.handle(.spawnFailed(plugin: name, generation: generation,
                                                   reason: "vigild is not running as root, so it cannot sandbox plugins"),
                                      now: clock.now()))
            return
        }
        let profileName = manifest.sandbox.profile ?? manifest.kind.rawValue
        let profile: SandboxProfile
        if let cached = profiles[profileName] {
            profile = cached
        } else {
            do {
                profile = try SandboxProfile.load(named: profileName, from: URL(fileURLWithPath: settings.profilesDirectory))
                profiles[profileName] = profile
            } catch {
                execute(supervisor.handle(.spawnFailed(plugin: name, generation: generation, reason: "\(error)"), now: clock.now()))
                return
            }
        }
        guard let uid = records[name]?.uid, let account = accounts[name] else { return }
        var launcher = PluginLauncher(settings: settings, group: group, bus: bus, symbols: symbols, clock: clock,
                                      logger: logger, watcher: watcher, spawner: spawner)
        launcher.egressRefused = egressBreach
        let continuation = self.continuation
        let key = nextLaunchKey
        nextLaunchKey += 1
        // Kept until it ends, so `run()` waits for every launch before shutting the event loops
        // down (a launch still connecting its socket on a closed loop would crash).
        launches[key] = Task {
            do throws(PluginLauncher.Failure) {
                let run = try await launcher.launch(manifest, uid: uid, profile: profile, account: account,
                                                    report: { continuation.yield(.report(name, generation, $0)) },
                                                    exited: { continuation.yield(.exited(name, generation, $0)) })
                continuation.yield(.spawned(name, generation, .success(run)))
            } catch {
                continuation.yield(.spawned(name, generation, .failure(error)))
            }
            await self.launchEnded(key)
        }
    }
}

/// Turns a breach report into the `plugin_isolation_breach_detected` event on the security lane.
struct BreachPublisher: Sendable {
    let bus: EventBus
    let symbols: SymbolTable

    func event(_ r: BreachReport) -> Event {
        let args = r.arguments.map { "0x" + String($0, radix: 16) }.joined(separator: ",")
        var pairs = ["plugin": r.plugin, "syscall": r.syscall, "pid": "\(r.pid)", "outcome": r.outcome.rawValue, "args": args]
        if let destination = r.destination { pairs["destination"] = destination }
        let labels = symbols.intern(labels: pairs)
        return Event(kind: .signal, lane: .security, name: symbols.intern("plugin_isolation_breach_detected"), value: 1,
                     source: symbols.intern("vigild:breach-watcher"), labels: labels, time: r.time)
    }

    /// False when the security lane refused it (full): the caller must publish it again.
    func publish(_ r: BreachReport) -> Bool {
        bus.offer(event(r)).rejected == 0
    }
}
