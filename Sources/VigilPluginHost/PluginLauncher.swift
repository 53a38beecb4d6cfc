import CVigilSys
import Foundation
import Logging
import NIOCore
import NIOPosix
import Synchronization
import VigilBus
import VigilCore

/// One started run of a plugin: its process and the daemon's ends of its socket and stderr.
struct PluginRun: Sendable {
    let pid: Int32
    let channel: any Channel
    /// How its data folder is held (nil without a launch guard: no data folder).
    var dataFolder: DataFolderMode? = nil
    /// Reads whether the run's cgroup has OOM-killed any of its processes or refused a fork (a
    /// blocking read of the cgroup's files: call it off the cooperative pool).
    var runLimitHit: (@Sendable (Timestamp) -> String?)? = nil
}

/// Starts one run of a plugin under `vigil-sandbox` and connects it: socket pair (fd 3), stderr
/// pipe, the launcher hand-off, the NIO channel that reads frames, and a thread that waits for
/// the process to end. The blocking parts run on a thread of their own, never on the caller's.
struct PluginLauncher: Sendable {
    let settings: PluginHostSettings
    let group: any EventLoopGroup
    let bus: EventBus
    let symbols: SymbolTable
    let clock: any VigilClock
    let logger: Logger
    let watcher: BreachWatcher?
    /// Shared by every launch: in zygote mode it holds the one `vigil-sandbox --serve`.
    let spawner: SandboxSpawner
    /// Told of every connection a brokered plugin asked for outside its `sandbox.egress`.
    var egressRefused: @Sendable (EgressBroker.Refusal) -> Void = { _ in }

    enum Failure: Error, CustomStringConvertible {
        case profile(String)
        case system(String)
        case sandbox(SandboxLaunchError)
        /// The manifest asks beyond the operator policy (or for a syscall its profile kills).
        case policy([PolicyViolation])
        /// A declared path is unsafe (a symlink, missing) or the data folder cannot be made.
        case path(PathRefusal)

        var description: String {
            switch self {
            case .profile(let s), .system(let s): s
            case .sandbox(let e): e.description
            case .policy(let v): "refused by the plugin policy: " + v.map(\.description).joined(separator: "; ")
            case .path(let r): "refused: \(r)"
            }
        }
    }

    /// The sandbox request a manifest and the plugin's uid make.
    static func request(for manifest: PluginManifest, uid: UInt32, useNotify: Bool) -> SandboxRequest {
        let needs = manifest.sandbox
        let network: SandboxSpec.NetworkMode = switch needs.network {
        case .none: .none
        case .loopback: .loopback
        case .outbound: .outbound
        case .brokered: .brokered
        }
        return SandboxRequest(
            plugin: manifest.name, pluginDirectory: manifest.directory, executable: manifest.executable,
            arguments: manifest.arguments, declaredEnvironment: needs.environment, uid: uid, gid: uid,
            network: network, tcpConnectPorts: needs.ports, capabilities: needs.capabilities,
            readPaths: needs.readPaths, writePaths: needs.writePaths,
            limits: .init(memoryBytes: needs.limits.memoryBytes, cpuSeconds: needs.limits.cpuSeconds,
                          openFiles: needs.limits.openFiles, processes: needs.limits.processes),
            executables: needs.executables, extraAllow: needs.extraAllow, extraWatch: needs.extraWatch, useNotify: useNotify)
    }

    /// Spawns and connects the plugin. `report` receives what its connection says; `exited` is
    /// called once, from a thread of its own, when the process has ended and been reaped.
    func launch(_ manifest: PluginManifest, uid: UInt32, profile: SandboxProfile, account: PluginAccount,
                report: @escaping @Sendable (ConnectionReport) -> Void,
                exited: @escaping @Sendable (PluginTermination) -> Void) async throws(Failure) -> PluginRun {
        var manifest = manifest
        if let guardian = settings.launchGuard {
            // Again at every start, not only at load: `plugins enable` and restarts come here too.
            var refused = guardian.violations(of: manifest)
            refused += profile.unsafeAdditions(of: manifest).filter { v in !refused.contains { $0.field == v.field && $0.asked == v.asked } }
            guard refused.isEmpty else { throw .policy(refused) }
            manifest = guardian.policy.granted(manifest)
        } else {
            let refused = profile.unsafeAdditions(of: manifest)
            guard refused.isEmpty else { throw .policy(refused) }
        }
        let guardian = settings.launchGuard
        let checked = manifest
        let useNotify = settings.useNotify && watcher != nil
        // The path walk, mkdirat/fchown and the `#!` reads of the spec are blocking filesystem
        // calls: a thread of their own, not the cooperative pool.
        // With a quota, the data folder may also need mkfs.ext4 and a loop mount (PluginDataVolume).
        let built: Result<(SandboxSpec, PreparedDataFolder?, [AbsentOptionalItem]), PathRefusal> = await Self.onThread(yielding: true) {
            Result { () throws(PathRefusal) -> (SandboxSpec, PreparedDataFolder?, [AbsentOptionalItem]) in
                // The optional programs, groups and paths this host has become required for this run.
                let (present, absent) = try OptionalSandboxNeeds.resolve(checked)
                var request = Self.request(for: present, uid: uid, useNotify: useNotify)
                request.groups = try SandboxRequest.groupIDs(present.sandbox.groups, plugin: present.name)
                var data: PreparedDataFolder?
                if let guardian {
                    data = try guardian.prepare(present, uid: uid)
                    request.dataDirectory = data?.path
                } else {
                    try PluginLaunchGuard.checkPaths(of: present)
                }
                return (request.spec(profile: profile), data, absent)
            }
        }
        let spec: SandboxSpec
        let data: PreparedDataFolder?
        switch built {
        case .success(let s):
            (spec, data) = (s.0, s.1)
            for item in s.2 {
                if item.missing {
                    logger.info("starting without optional \(item)", metadata: ["plugin": "\(manifest.name)"])
                } else {
                    logger.warning("starting without optional \(item)", metadata: ["plugin": "\(manifest.name)"])
                }
            }
        case .failure(let refusal): throw .path(refusal)
        }
        if let warning = data?.mode.warning {
            logger.warning("plugin data folder", metadata: ["plugin": "\(manifest.name)", "path": "\(data?.path ?? "")",
                                                            "warning": "\(warning)"])
        }
        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            throw .system("socketpair: \(String(cString: strerror(errno)))")
        }
        var errPipe: [Int32] = [-1, -1]
        guard vigil_pipe_cloexec(&errPipe) == 0 else {
            close(pair[0]); close(pair[1])
            throw .system("pipe: \(String(cString: strerror(errno)))")
        }
        var egress: (broker: Int32, plugin: Int32)?
        if spec.network == .brokered {
            do { egress = try EgressBroker.socketPair() } catch {
                close(pair[0]); close(pair[1]); close(errPipe[0]); close(errPipe[1])
                throw error
            }
        }
        let broker = egress.map { EgressBroker(plugin: manifest.name, destinations: manifest.sandbox.egress, socket: $0.broker,
                                                logger: self.logger, onRefused: egressRefused) }
        let egressPluginEnd = egress?.plugin
        let spawner = self.spawner
        let (daemonEnd, pluginEnd, errRead, errWrite) = (pair[0], pair[1], errPipe[0], errPipe[1])
        let watcher = self.watcher
        let cgroupName = Self.cgroupName(plugin: manifest.name)
        // One more process for the plugin's reaper (its pid namespace's pid 1) when it has one.
        let cgroupLimits = PluginCgroup.Limits(memoryBytes: spec.limits.memoryBytes ?? Self.defaultCgroupMemory,
                                               processes: (spec.limits.processes ?? Self.defaultCgroupProcesses)
                                                   .addingReportingOverflow(spec.namespaces.pid ? 1 : 0).partialValue,
                                               cpuQuotaMicroseconds: settings.policy.cpuQuotaMicroseconds)
        let spawned: Result<(SandboxedProcess, PluginCgroup?), SandboxLaunchError> = await Self.onThread(yielding: true) {
            defer { close(pluginEnd); close(errWrite); if let egressPluginEnd { close(egressPluginEnd) } }
            var cgroup: PluginCgroup?
            return Result { () throws(SandboxLaunchError) in
                if let version = Self.cgroupVersion {
                    cgroup = try PluginCgroup.create(name: cgroupName, limits: cgroupLimits, version: version)
                }
                do throws(SandboxLaunchError) {
                    return (try spawner.spawn(spec, pluginSocketFD: pluginEnd, egressFD: egressPluginEnd, stderrFD: errWrite,
                                              watcher: watcher, cgroup: cgroup), cgroup)
                } catch {
                    cgroup?.remove()
                    throw error
                }
            }
        }
        let process: SandboxedProcess
        let cgroup: PluginCgroup?
        switch spawned {
        case .success(let p): (process, cgroup) = p
        case .failure(let error):
            close(daemonEnd); close(errRead)
            broker?.stop()
            broker?.start(pid: 0)  // its thread sees the stop at once and closes the socket
            throw .sandbox(error)
        }
        let pid = process.pluginPID
        broker?.start(pid: pid)
        let probe = process.probe
        let reaperStatus = process.reaperStatus
        let dataPath: String? = if case .quota? = data?.mode { data?.path } else { nil }
        let runLogger = logger
        let runName = manifest.name
        let waiter = Thread {
            // Full already when the run began (a data folder is kept across runs): then a failure
            // of this run is not put down to it (attack pass: after one run filled its folder,
            // every later failure, an ENOSPC in /tmp, an EFBIG, read "data folder full").
            let fullAtStart = dataPath.flatMap(PluginDataVolume.exhaustion(of:)) != nil
            let exit = PluginExit.wait(pid: pid, probe: probe, reaperStatus: reaperStatus)
            broker?.stop()
            // A limit of the run's cgroup wins over the bare signal: the OOM killer's SIGKILL
            // alone does not say it was this plugin's own memory limit.
            let limit = cgroup?.limitHit()
            cgroup?.remove()
            // A full data folder is the plugin's own problem (its writes got ENOSPC), said once
            // at each exit; a run that then failed failed over that limit.
            let full = dataPath.flatMap(PluginDataVolume.exhaustion(of:))
            if let full {
                runLogger.warning("plugin data folder full", metadata: ["plugin": "\(runName)", "detail": "\(full)"])
            }
            let filledInThisRun = fullAtStart ? nil : full
            switch exit {
            case .exited(let code)? where limit != nil:
                // One of its processes hit the limit (a child the OOM killer chose); the plugin then exited.
                exited(.overLimit((limit ?? "") + " in one of its processes, then the plugin exited with status \(code)"))
            case _? where limit != nil: exited(.overLimit(limit ?? ""))
            case .exited(let code)? where filledInThisRun != nil && code != 0: exited(.overLimit(filledInThisRun ?? ""))
            case .exited(let code)?: exited(.exited(code: code))
            case .killed(let signal, let syscall)?: exited(.killed(signal: signal, syscall: syscall?.name))
            case nil: exited(.exited(code: -1))
            }
        }
        waiter.name = "vigil-wait-\(manifest.name)"
        waiter.start()
        let (bus, symbols, clock, logger) = (self.bus, self.symbols, self.clock, self.logger)
        let maxFrame = settings.maximumFrameBytes
        let name = manifest.name
        let limits = settings.connectionLimits
        do {
            let channel = try await ClientBootstrap(group: group)
                .channelOption(ChannelOptions.autoRead, value: false)  // the host starts reading once it knows the run
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            PluginChannelHandler(manifest: manifest, bus: bus, symbols: symbols, clock: clock,
                                                 maximumFrameBytes: maxFrame, account: account, limits: limits,
                                                 report: report))
                    }
                }
                .withConnectedSocket(daemonEnd).get()
            _ = try await NIOPipeBootstrap(group: group)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(StderrRelay(plugin: name, logger: logger, clock: clock,
                                                                                      flooded: report))
                    }
                }
                .takingOwnershipOfDescriptor(input: errRead).get()
            var probe: (@Sendable (Timestamp) -> String?)?
            if let group = cgroup {
                // Memory (a child the OOM killer took), processes (a fork pids.max refused) or
                // CPU (held at its quota): each ends the run while the plugin lives on.
                let limits = RunLimitProbe(cgroup: group, cpuHeldAtQuota: settings.policy.cpuHeldAtQuota)
                probe = { @Sendable now in limits.check(now: now) }
            }
            return PluginRun(pid: pid, channel: channel, dataFolder: data?.mode, runLimitHit: probe)
        } catch {
            kill(pid, SIGKILL)
            throw .system("connecting to the plugin: \(error)")
        }
    }

    /// The host's cgroup layout, read once (nil: no cgroups, the rlimits alone apply).
    static let cgroupVersion: PluginCgroup.Version? = geteuid() == 0 ? PluginCgroup.detect() : nil
    static let defaultCgroupMemory: UInt64 = 512 << 20
    static let defaultCgroupProcesses: UInt64 = 64
    private static let runCounter = Atomic<UInt64>(0)

    /// `PLUGIN.DAEMONPID.N`: unique on the host while this daemon lives, so two daemons never share one.
    static func cgroupName(plugin: String) -> String {
        let n = runCounter.wrappingAdd(1, ordering: .relaxed).newValue
        return "\(plugin).\(getpid()).\(n)"
    }

    /// Runs blocking work on a fresh thread and returns its result.
    /// `yielding`: the thread runs at the plugins' nice value (a plugin's start is work on its
    /// behalf, like the zygote's, and yields to the daemon's own; Linux sets nice per thread).
    static func onThread<T: Sendable>(yielding: Bool = false, _ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            let thread = Thread {
                if yielding { _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, SandboxSpec.pluginNiceness) }
                continuation.resume(returning: work())
            }
            thread.name = "vigil-spawn"
            thread.start()
        }
    }
}
