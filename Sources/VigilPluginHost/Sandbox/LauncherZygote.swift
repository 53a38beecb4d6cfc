import CVigilSys
import Foundation
import Synchronization

/// The daemon's side of `vigil-sandbox --serve`: one long-lived zygote that clones every plugin.
///
/// The zygote is started on first use by a keeper thread of its own, which then blocks reaping
/// it: the zygote's parent-death signal follows the thread that spawned it, so that thread must
/// live as long as the zygote. When the zygote dies, the next request has the keeper start a new
/// one. ``stop()`` (or the last reference going away) closes the control socket; the zygote exits
/// on EOF and is reaped. The daemon itself still never forks: the zygote is `posix_spawn`ed.
final class LauncherZygote: Sendable {
    /// The zygote's answer to one start request.
    enum Answer: Equatable {
        /// The plugin process was cloned: its pid in the daemon's pid namespace.
        case started(pid: Int32)
        /// A zygote-side step failed (spec, descriptors, filter, clone): its exit code.
        case refused(exitCode: Int32)
        /// The zygote ended (or was killed for not answering) before answering.
        case lost(String)
    }

    private let keeper: ZygoteKeeper

    init(launcherPath: String, timeout: Duration) {
        keeper = ZygoteKeeper(launcherPath: launcherPath, timeout: timeout)
    }

    deinit { keeper.stop(waiting: false) }

    /// Sends one request (`'S'` + the binary spec) with its descriptors (stderr, plugin socket, notify
    /// socket), starting the zygote first if none is running.
    func request(_ message: [UInt8], descriptors: [Int32]) throws(SandboxLaunchError) -> Answer {
        try keeper.connection().exchange(message, descriptors: descriptors, timeout: keeper.timeout)
    }

    /// The running zygote's pid, if one is running.
    var pid: Int32? { keeper.currentPID }

    /// Ends the zygote and waits (bounded by the timeout) until it has been reaped.
    func stop() { keeper.stop(waiting: true) }
}

/// Owns the zygote processes one after the other: starts one when asked, reaps it when it ends.
final class ZygoteKeeper: @unchecked Sendable {
    let launcherPath: String
    let timeout: Duration
    // Guards every var below; waited on for starts (generation) and for the keeper's end.
    private let condition = NSCondition()
    private var current: ZygoteConnection?
    private var startWanted = false
    private var stopping = false
    private var keeperRunning = false
    private var generation = 0
    private var startFailure: SandboxLaunchError?

    init(launcherPath: String, timeout: Duration) {
        self.launcherPath = launcherPath
        self.timeout = timeout
    }

    var currentPID: Int32? {
        condition.lock()
        defer { condition.unlock() }
        return current.flatMap { $0.isLost ? nil : $0.pid }
    }

    /// The live zygote, started (and waited for) if there is none.
    func connection() throws(SandboxLaunchError) -> ZygoteConnection {
        condition.lock()
        defer { condition.unlock() }
        if let current, !current.isLost, !stopping { return current }
        guard !stopping else { throw .zygoteFailed("the spawner was shut down") }
        if !keeperRunning {
            keeperRunning = true
            let thread = Thread { [self] in keep() }
            thread.name = "vigil-zygote"
            thread.start()
        }
        let awaited = generation + 1
        startWanted = true
        condition.broadcast()
        let deadline = Date(timeIntervalSinceNow: timeout.seconds)
        while generation < awaited, !stopping {
            guard condition.wait(until: deadline) else { throw .timedOut("the sandbox zygote to start") }
        }
        if let current, !current.isLost, !stopping { return current }
        throw startFailure ?? .zygoteFailed(stopping ? "the spawner was shut down" : "the zygote ended as it started")
    }

    /// The keeper thread: start on demand, then block reaping that zygote; repeat until stopped.
    private func keep() {
        condition.lock()
        while true {
            while !startWanted, !stopping { condition.wait() }
            if stopping { break }
            startWanted = false
            condition.unlock()
            let started = Result { () throws(SandboxLaunchError) in try ZygoteConnection.start(launcherPath, timeout: timeout) }
            condition.lock()
            generation += 1
            switch started {
            case .success(let connection): current = connection; startFailure = nil
            case .failure(let error): startFailure = error
            }
            condition.broadcast()
            guard case .success(let connection) = started else { continue }
            if stopping { connection.close() }
            condition.unlock()
            connection.reap()
            condition.lock()
            if current === connection { current = nil }
        }
        keeperRunning = false
        condition.broadcast()
        condition.unlock()
    }

    /// Closes the control socket (the zygote exits on EOF); with `waiting`, until it is reaped.
    func stop(waiting: Bool) {
        condition.lock()
        defer { condition.unlock() }
        stopping = true
        current?.close()
        condition.broadcast()
        guard waiting else { return }
        let deadline = Date(timeIntervalSinceNow: timeout.seconds)
        while keeperRunning, condition.wait(until: deadline) {}
    }
}

/// One zygote process and the daemon's end of its control socket.
final class ZygoteConnection: @unchecked Sendable {
    let pid: Int32
    private let socket: Int32
    /// One request at a time: the zygote answers in order, and its answers carry no request id.
    private let exchangeLock = NSLock()
    private let lost = Atomic<Bool>(false)
    /// Set once the zygote has ended (still a zombie, so its pid cannot be reused yet): from
    /// then on nobody may signal that pid.
    private let ended = Mutex(false)

    private init(pid: Int32, socket: Int32) {
        self.pid = pid
        self.socket = socket
    }

    deinit { Glibc.close(socket) }

    var isLost: Bool { lost.load(ordering: .acquiring) }

    /// `posix_spawn`s `vigil-sandbox --serve` and waits for its ready byte.
    static func start(_ launcherPath: String, timeout: Duration) throws(SandboxLaunchError) -> ZygoteConnection {
        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            throw .system("socketpair", errno)
        }
        let pid: Int32
        do {
            defer { Glibc.close(pair[1]) }
            pid = try LauncherProcess.spawn(launcherPath, arguments: ["--serve"], descriptors: [2, pair[1]])
        } catch {
            Glibc.close(pair[0])
            throw error
        }
        let connection = ZygoteConnection(pid: pid, socket: pair[0])
        var ready: UInt8 = 0
        let n = connection.receive(into: &ready, count: 1, timeout: timeout)
        guard n == 1, ready == UInt8(ascii: "R") else {
            if n < 0 { kill(pid, SIGKILL) }
            switch connection.reap() {
            case .exited(let code)?: throw .setupFailed(process: "zygote", exitCode: code, signal: nil)
            case .killed(let signal, _)?:
                if n < 0 { throw .timedOut("the sandbox zygote to start") }
                throw .setupFailed(process: "zygote", exitCode: nil, signal: signal)
            case nil: throw .zygoteFailed("the zygote could not be waited for")
            }
        }
        return connection
    }

    /// One request and its answer.
    func exchange(_ message: [UInt8], descriptors: [Int32], timeout: Duration) -> LauncherZygote.Answer {
        exchangeLock.lock()
        defer { exchangeLock.unlock() }
        guard !isLost else { return .lost("the zygote has ended") }
        let sent = message.withUnsafeBytes { raw in
            descriptors.withUnsafeBufferPointer { fds in
                vigil_send_with_fds(socket, raw.baseAddress, UInt(raw.count), fds.baseAddress, Int32(fds.count))
            }
        }
        guard sent == message.count else { return abandon("sending the request: \(String(cString: strerror(errno)))") }
        var answer = [UInt8](repeating: 0, count: 8)
        let n = answer.withUnsafeMutableBytes { receive(into: $0.baseAddress, count: $0.count, timeout: timeout) }
        if n < 0 { return abandon("no answer within \(timeout)") }
        if n == 0 { return abandon("the zygote ended before answering") }
        switch (answer[0], n) {
        case (UInt8(ascii: "P"), 5):
            let pid = UInt32(answer[1]) | UInt32(answer[2]) << 8 | UInt32(answer[3]) << 16 | UInt32(answer[4]) << 24
            return .started(pid: Int32(bitPattern: pid))
        case (UInt8(ascii: "E"), 2):
            return .refused(exitCode: Int32(answer[1]))
        default:
            return abandon("malformed answer of \(n) bytes")
        }
    }

    /// A zygote that broke the exchange is killed (the keeper reaps it and a new one starts).
    private func abandon(_ why: String) -> LauncherZygote.Answer {
        lost.store(true, ordering: .releasing)
        ended.withLock { ended in if !ended { _ = kill(pid, SIGKILL) } }
        return .lost(why)
    }

    /// Reads one message; -1 when nothing arrived within `timeout`.
    private func receive(into buffer: UnsafeMutableRawPointer?, count: Int, timeout: Duration) -> Int {
        var entry = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
        var ready: Int32
        repeat { ready = poll(&entry, 1, timeout.milliseconds) } while ready < 0 && errno == EINTR
        guard ready > 0 else { return -1 }
        var n: Int
        repeat { n = recv(socket, buffer, count, 0) } while n < 0 && errno == EINTR
        return max(n, 0)
    }

    /// Shuts the control socket down: the zygote reads EOF and exits.
    func close() {
        lost.store(true, ordering: .releasing)
        shutdown(socket, Int32(SHUT_RDWR))
    }

    /// Blocks until the zygote has ended, and reaps it.
    @discardableResult
    func reap() -> PluginExit? {
        var code: Int32 = 0
        var status: Int32 = 0
        _ = vigil_waitid(pid, 1, 0, &code, &status)
        ended.withLock { $0 = true }
        let exit = PluginExit.wait(pid: pid, probe: nil)
        lost.store(true, ordering: .releasing)
        return exit
    }
}

extension Duration {
    /// Whole milliseconds, for `poll`.
    var milliseconds: Int32 {
        Int32(clamping: components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000)
    }

    var seconds: TimeInterval {
        TimeInterval(components.seconds) + TimeInterval(components.attoseconds) / 1e18
    }
}
