import CSeccomp
import CVigilSys
import Foundation
import Synchronization
import VigilCore

/// A syscall a plugin attempted outside its profile: denied with EPERM (or killed), reported once.
public struct BreachReport: Sendable, Equatable {
    public var plugin: String
    /// The plugin's pid in the daemon's pid namespace.
    public var pid: Int32
    public var syscall: String
    public var number: Int32
    /// The six raw syscall arguments (pointers are addresses in the plugin, not dereferenced).
    public var arguments: [UInt64]
    public var time: Timestamp
    /// How it was stopped: `denied` (EPERM) or `killed` (hard-deny set: SIGKILL before the call runs).
    public var outcome: Outcome
    /// For a refused brokered connection (syscall `connect`): the `host:port` it asked for.
    public var destination: String?

    public enum Outcome: String, Sendable, Equatable { case denied, killed }

    public init(plugin: String, pid: Int32, syscall: String, number: Int32, arguments: [UInt64], time: Timestamp, outcome: Outcome,
                destination: String? = nil) {
        self.destination = destination
        self.plugin = plugin
        self.pid = pid
        self.syscall = syscall
        self.number = number
        self.arguments = arguments
        self.time = time
        self.outcome = outcome
    }
}

/// Receives every seccomp user notification of every plugin on one dedicated OS thread.
///
/// A watched syscall (in the plugin's profile) is continued and counted; anything else is denied
/// with EPERM and reported through `onBreach`. User notification observes, it never grants: only
/// syscall numbers registered as watched are ever continued. The callbacks run on the watcher
/// thread and must return quickly (hand the report to the bus or a queue).
public final class BreachWatcher: Sendable {
    struct Watched {
        let plugin: String
        let pid: Int32
        let watched: Set<Int32>
        let killed: Set<Int32>
    }

    struct State {
        var watched: [Int32: Watched] = [:]
        var totals: [String: [String: UInt64]] = [:]
        var window: [String: [String: UInt64]] = [:]
        var breaches: [String: UInt64] = [:]
        var stopping = false
    }

    private let state = Mutex(State())
    private let wake: (read: Int32, write: Int32)
    private let clock: any VigilClock
    private let onBreach: @Sendable (BreachReport) -> Void
    private let onExit: @Sendable (String, Int32) -> Void
    private let onFlood: @Sendable (String, Int32, String) -> Void
    private let finished = DispatchSemaphore(value: 0)

    /// Watched calls a run may make, on average, per second (with a burst of ``watchedCallBurst``)
    /// before they are a flood. Every watched call is a round trip through this thread: six
    /// children looping on `ioctl(FIONREAD)` made 5 million of them in 70 s and held a core of
    /// the daemon's, outside the plugin's own CPU quota, for as long as they ran.
    public static let watchedCallsPerSecond = 1_000.0
    public static let watchedCallBurst = 20_000.0

    /// A run's budget of watched calls (watcher thread only).
    struct Budget {
        var calls: TokenBucket
        var reported = false
    }

    /// Starts the watcher thread. `onExit(plugin, pid)` is called when a plugin's filter has no
    /// task left (POLLHUP), after which its fd is closed.
    /// `onFlood(plugin, pid, detail)` is called once per run whose watched calls exceed
    /// ``watchedCallsPerSecond`` (with the burst); its calls go on being answered until the run ends.
    public init(clock: any VigilClock = SystemClock(),
                onBreach: @escaping @Sendable (BreachReport) -> Void,
                onExit: @escaping @Sendable (String, Int32) -> Void = { _, _ in },
                onFlood: @escaping @Sendable (String, Int32, String) -> Void = { _, _, _ in }) throws {
        var fds: [Int32] = [-1, -1]
        guard vigil_pipe_cloexec(&fds) == 0 else { throw SandboxLaunchError.system("pipe", errno) }
        _ = fcntl(fds[0], F_SETFL, O_NONBLOCK)
        wake = (fds[0], fds[1])
        self.clock = clock
        self.onBreach = onBreach
        self.onExit = onExit
        self.onFlood = onFlood
        let thread = Thread { [self] in run() }
        thread.name = "vigil-breach-watcher"
        thread.start()
    }

    /// Watches `notifyFD` (ownership passes to the watcher) for `plugin`; `watched` are the
    /// profile's watched syscall names, the only ones ever continued; `killed` (the hard-deny set)
    /// end the plugin with SIGKILL to `pid` before the call is answered.
    public func register(plugin: String, pid: Int32, notifyFD: Int32, watched: [String], killed: [String] = []) {
        let numbers = Set(watched.compactMap(SyscallNames.number(of:)))
        let fatal = Set(killed.compactMap(SyscallNames.number(of:)))
        state.withLock { $0.watched[notifyFD] = Watched(plugin: plugin, pid: pid, watched: numbers, killed: fatal) }
        poke()
    }

    /// Cumulative counts of watched syscalls per name for `plugin` since the daemon started.
    public func statistics(plugin: String) -> [String: UInt64] {
        state.withLock { $0.totals[plugin] ?? [:] }
    }

    /// Counts since the previous call (one window for `SyscallBaseline`), then resets them.
    public func takeWindow(plugin: String) -> [String: UInt64] {
        state.withLock { $0.window.removeValue(forKey: plugin) ?? [:] }
    }

    /// Breaches reported for `plugin` so far.
    public func breachCount(plugin: String) -> UInt64 {
        state.withLock { $0.breaches[plugin] ?? 0 }
    }

    /// Stops the thread and closes every notify fd. Pending notified syscalls then fail (ENOSYS).
    public func stop() {
        let already = state.withLock { s in
            defer { s.stopping = true }
            return s.stopping
        }
        guard !already else { return }
        poke()
        finished.wait()
    }

    private func poke() {
        var byte: UInt8 = 1
        _ = write(wake.write, &byte, 1)
    }

    private func run() {
        var request: UnsafeMutablePointer<seccomp_notif>?
        var response: UnsafeMutablePointer<seccomp_notif_resp>?
        guard seccomp_notify_alloc(&request, &response) == 0, let request, let response else {
            finished.signal()
            return
        }
        defer {
            seccomp_notify_free(request, response)
            let fds = state.withLock { s in
                defer { s.watched.removeAll() }
                return Array(s.watched.keys)
            }
            fds.forEach { close($0) }
            close(wake.read)
            close(wake.write)
            finished.signal()
        }
        var budgets: [Int32: Budget] = [:]
        while true {
            let (watched, stopping) = state.withLock { ($0.watched, $0.stopping) }
            if stopping { return }
            var pollFDs = [pollfd(fd: wake.read, events: Int16(POLLIN), revents: 0)]
            pollFDs += watched.keys.sorted().map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            let ready = poll(&pollFDs, nfds_t(pollFDs.count), -1)
            if ready < 0 { continue }
            if pollFDs[0].revents != 0 {
                var drain = [UInt8](repeating: 0, count: 64)
                while read(wake.read, &drain, drain.count) > 0 {}
            }
            for entry in pollFDs.dropFirst() where entry.revents != 0 {
                guard let plugin = watched[entry.fd] else { continue }
                if entry.revents & Int16(POLLIN) != 0 {
                    handle(fd: entry.fd, plugin: plugin, request: request, response: response, budgets: &budgets)
                } else if entry.revents & Int16(POLLHUP | POLLERR | POLLNVAL) != 0 {
                    budgets[entry.fd] = nil
                    state.withLock { _ = $0.watched.removeValue(forKey: entry.fd) }
                    close(entry.fd)
                    onExit(plugin.plugin, plugin.pid)
                }
            }
        }
    }

    private func handle(fd: Int32, plugin: Watched, request: UnsafeMutablePointer<seccomp_notif>,
                        response: UnsafeMutablePointer<seccomp_notif_resp>, budgets: inout [Int32: Budget]) {
        memset(request, 0, MemoryLayout<seccomp_notif>.size)
        // ENOENT: the task died between poll and receive; nothing to answer.
        guard seccomp_notify_receive(fd, request) == 0 else { return }
        let number = request.pointee.data.nr
        // A foreign ABI (i386 `int 0x80`, x32) reaches us through the filter's bad-architecture
        // action: never continued, always fatal, named with its own architecture's table.
        let foreign = SyscallNames.foreignName(arch: request.pointee.data.arch, number: number)
        let name = foreign ?? SyscallNames.name(of: number)
        let allowed = foreign == nil && plugin.watched.contains(number)
        if allowed {
            state.withLock { s in
                s.totals[plugin.plugin, default: [:]][name, default: 0] += 1
                s.window[plugin.plugin, default: [:]][name, default: 0] += 1
            }
            let now = clock.now()
            var budget = budgets[fd]
                ?? Budget(calls: TokenBucket(perSecond: Self.watchedCallsPerSecond, burst: Self.watchedCallBurst, now: now))
            if budget.calls.spend(now: now) < 0, !budget.reported {
                budget.reported = true
                onFlood(plugin.plugin, plugin.pid, "watched syscall flood: more than \(Int(Self.watchedCallBurst)) calls "
                        + "(last: \(name)) beyond \(Int(Self.watchedCallsPerSecond)) a second, each a round trip through vigild")
            }
            budgets[fd] = budget
        } else {
            // Reported before the plugin gets its EPERM, so the report never trails the plugin's exit.
            state.withLock { $0.breaches[plugin.plugin, default: 0] += 1 }
            let fatal = foreign != nil || plugin.killed.contains(number)
            let args = request.pointee.data.args
            onBreach(BreachReport(plugin: plugin.plugin, pid: Int32(bitPattern: request.pointee.pid), syscall: name,
                                  number: number, arguments: [args.0, args.1, args.2, args.3, args.4, args.5],
                                  time: clock.now(), outcome: fatal ? .killed : .denied))
            // The caller first (still unanswered, so the hard-denied call never runs, and it dies
            // before it could go on), then the run's first process (the reaper, pid 1 of the pid
            // namespace, or the plugin itself): its end ends every process of the plugin.
            if fatal {
                _ = vigil_kill_notifying(fd, request.pointee.id, Int32(bitPattern: request.pointee.pid))
                kill(plugin.pid, SIGKILL)
            }
        }
        response.pointee.id = request.pointee.id
        response.pointee.val = 0
        response.pointee.error = allowed ? 0 : -EPERM
        response.pointee.flags = allowed ? UInt32(SECCOMP_USER_NOTIF_FLAG_CONTINUE) : 0
        // ENOENT on respond is normal: the plugin was killed while we decided.
        _ = seccomp_notify_respond(fd, response)
    }
}
