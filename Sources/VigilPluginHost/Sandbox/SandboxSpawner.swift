import CVigilSys
import Foundation
import VigilCore

/// Why a sandboxed start failed.
public enum SandboxLaunchError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A system call in the daemon failed.
    case system(String, Int32)
    /// `vigil-sandbox` (process `launcher`: the one-shot launcher's exit code, or the zygote's
    /// answer to the request), the plugin's setup (process `plugin`) or the zygote's own start
    /// (process `zygote`) ended with a step's code from the table in `Docs/sandbox.md`, or was
    /// killed (`signal`).
    case setupFailed(process: String, exitCode: Int32?, signal: Int32?)
    /// The hand-off did not complete in time.
    case timedOut(String)
    /// The launcher broke the fd 4 handshake.
    case protocolViolation(String)
    /// The zygote could not be used (it ended during the request twice in a row, or the spawner
    /// was shut down).
    case zygoteFailed(String)

    public var description: String {
        switch self {
        case .system(let call, let code): "\(call): \(String(cString: strerror(code)))"
        case .setupFailed(let process, let code, let signal):
            "\(process) setup failed: " + (code.map { "exit code \($0) (see Docs/sandbox.md)" } ?? "signal \(signal ?? 0)")
        case .timedOut(let what): "timed out waiting for \(what)"
        case .protocolViolation(let what): "launcher handshake: \(what)"
        case .zygoteFailed(let what): "sandbox zygote: \(what)"
        }
    }
}

/// A plugin running under `vigil-sandbox`: a direct child of this process (CLONE_PARENT).
public struct SandboxedProcess: Sendable {
    /// The process the daemon waits for and signals: the plugin's reaper (pid 1 of its pid
    /// namespace, the plugin being pid 2) when it has a pid namespace, the plugin itself otherwise.
    public let pluginPID: Int32
    /// Opened at spawn; pass it to `PluginExit.wait(pid:probe:reaperStatus:)`.
    public let probe: SyscallProbe
    /// Where the reaper reports the plugin's end (the daemon's end of the run's notify socket),
    /// or -1 without a reaper. Owned by whoever waits: `PluginExit.wait` closes it.
    public let reaperStatus: Int32

    public init(pluginPID: Int32, probe: SyscallProbe, reaperStatus: Int32 = -1) {
        self.pluginPID = pluginPID
        self.probe = probe
        self.reaperStatus = reaperStatus
    }

    /// Waits for the plugin's end (once: it closes `reaperStatus`).
    public func wait() -> PluginExit? {
        PluginExit.wait(pid: pluginPID, probe: probe, reaperStatus: reaperStatus)
    }
}

/// The daemon side of the launcher contract: the request, the plugin's pid, notify fd and ack.
///
/// By default every start goes to one long-lived `vigil-sandbox --serve` (the zygote, started on
/// the first spawn and shared by every copy of this value); `.oneShot` `posix_spawn`s
/// `vigil-sandbox --spec PATH` per start instead. Both give the plugin the same sandbox. `spawn`
/// blocks (bounded by `timeout` per step) while the sandbox is built; call it from a thread that may
/// block, not from the cooperative pool's hot path. Copies may spawn concurrently.
public struct SandboxSpawner: Sendable {
    /// How the launcher is run.
    public enum Mode: Sendable, Equatable {
        /// One `vigil-sandbox --serve` clones every plugin (fast; the default).
        case zygote
        /// `vigil-sandbox --spec PATH` per plugin, with a spec file in `specDirectory`.
        case oneShot
    }

    public let launcherPath: String
    /// Where one-shot spec files are written (root-owned, in the daemon's state folder).
    public let specDirectory: String
    public let timeout: Duration
    public let mode: Mode
    let zygote: LauncherZygote?

    public init(launcherPath: String, specDirectory: String, timeout: Duration = .seconds(10), mode: Mode = .zygote) {
        self.launcherPath = launcherPath
        self.specDirectory = specDirectory
        self.timeout = timeout
        self.mode = mode
        zygote = mode == .zygote ? LauncherZygote(launcherPath: launcherPath, timeout: timeout) : nil
    }

    /// Starts `spec`. `pluginSocketFD` becomes the plugin's fd 3, `stderrFD` its fd 2. With a
    /// watcher, the notify fd is registered before the plugin is allowed to `execve`. With a
    /// cgroup, the plugin is moved into it before the ack, so before `execve` and any child.
    /// `egressFD` (network `brokered` only) becomes its fd 5.
    public func spawn(_ spec: SandboxSpec, pluginSocketFD: Int32, egressFD: Int32? = nil, stderrFD: Int32 = 2,
                      watcher: BreachWatcher?, cgroup: PluginCgroup? = nil) throws(SandboxLaunchError) -> SandboxedProcess {
        guard (spec.network == .brokered) == (egressFD != nil) else {
            throw .protocolViolation(spec.network == .brokered ? "network brokered needs an egress socket" : "an egress socket without network brokered")
        }
        // Before the plugin exists: its first packet already meets the rule.
        if spec.network == .loopback { try LoopbackFirewall.confine(uid: spec.uid) }
        if let zygote {
            return try spawnThroughZygote(zygote, spec, pluginSocketFD: pluginSocketFD, egressFD: egressFD, stderrFD: stderrFD,
                                          watcher: watcher, cgroup: cgroup)
        }
        return try spawnOneShot(spec, pluginSocketFD: pluginSocketFD, egressFD: egressFD, stderrFD: stderrFD, watcher: watcher,
                                cgroup: cgroup)
    }

    /// Ends the zygote (the daemon calls it when stopping; plugins already started are not
    /// affected). Later spawns fail with `zygoteFailed`. Nothing to do in one-shot mode.
    public func shutdown() {
        zygote?.stop()
    }

    /// A notify socketpair (`SOCK_SEQPACKET`): the daemon's end receives with the sender's pid.
    static func notifyPair() throws(SandboxLaunchError) -> (daemon: Int32, launcher: Int32) {
        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            throw .system("socketpair", errno)
        }
        guard vigil_pass_credentials(pair[0], 1) == 0 else {
            let code = errno
            close(pair[0]); close(pair[1])
            throw .system("setsockopt(SO_PASSCRED)", code)
        }
        return (pair[0], pair[1])
    }

    /// Steps 2 and 3 of the fd 4 handshake, once the plugin's pid is known: the notify fd from
    /// the plugin (registered with the watcher), then the ack that lets it `execve`.
    func completeHandshake(pluginPID: Int32, socket: Int32, spec: SandboxSpec,
                           watcher: BreachWatcher?, cgroup: PluginCgroup?) throws(SandboxLaunchError) -> SandboxedProcess {
        let probe = SyscallProbe(pid: pluginPID, uid: spec.uid)
        if let cgroup {
            // The plugin is blocked in its setup (one process, before execve) until the ack.
            do { try cgroup.add(pid: pluginPID) } catch {
                kill(pluginPID, SIGKILL)
                _ = PluginExit.wait(pid: pluginPID, probe: nil)
                throw error
            }
        }
        let message: Message
        do {
            message = try receive(socket, what: "the notify fd")
        } catch {
            kill(pluginPID, SIGKILL)
            _ = PluginExit.wait(pid: pluginPID, probe: nil)
            throw error
        }
        guard message.count == 1 else { throw Self.failure(of: pluginPID, process: "plugin", received: message.count) }
        switch (message.bytes[0], message.fd >= 0) {
        case (UInt8(ascii: "F"), true) where message.sender == pluginPID:
            if let watcher {
                watcher.register(plugin: spec.plugin, pid: pluginPID, notifyFD: message.fd, watched: spec.seccomp.watch,
                                 killed: spec.seccomp.kill)
            } else {
                close(message.fd)
            }
        case (UInt8(ascii: "N"), false) where message.sender == pluginPID: break
        default:
            if message.fd >= 0 { close(message.fd) }
            kill(pluginPID, SIGKILL)
            _ = PluginExit.wait(pid: pluginPID, probe: nil)
            throw .protocolViolation("unexpected message \(message.bytes[0]) from pid \(message.sender), expected the plugin \(pluginPID)")
        }
        // Credentials were only needed to check who sent the notify fd; with SO_PASSCRED on,
        // sending the ack would also bind the socket to an autogenerated abstract address.
        _ = vigil_pass_credentials(socket, 0)
        var reaperStatus: Int32 = -1
        if spec.namespaces.pid {
            reaperStatus = fcntl(socket, F_DUPFD_CLOEXEC, 0)
            guard reaperStatus >= 0 else {
                let code = errno
                kill(pluginPID, SIGKILL)
                _ = PluginExit.wait(pid: pluginPID, probe: nil)
                throw .system("dup of the notify socket", code)
            }
        }
        guard vigil_send_byte(socket, CChar(UInt8(ascii: "A"))) == 0 else {
            let code = errno
            if reaperStatus >= 0 { close(reaperStatus) }
            throw .system("send ack", code)
        }
        return SandboxedProcess(pluginPID: pluginPID, probe: probe, reaperStatus: reaperStatus)
    }

    /// One message on a notify socket: its bytes, a descriptor it carried (or -1), its sender's pid.
    struct Message {
        var bytes: [UInt8]
        var count: Int
        var fd: Int32
        var sender: Int32
    }

    func receive(_ socket: Int32, what: String) throws(SandboxLaunchError) -> Message {
        var entry = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
        var ready: Int32
        repeat { ready = poll(&entry, 1, timeout.milliseconds) } while ready < 0 && errno == EINTR
        guard ready > 0 else { throw .timedOut(what) }
        var message = Message(bytes: [UInt8](repeating: 0, count: 8), count: 0, fd: -1, sender: 0)
        var fds = [Int32](repeating: -1, count: Int(VIGIL_MAX_PASSED_FDS))
        var count: Int32 = 0
        let n = message.bytes.withUnsafeMutableBytes { vigil_recv_with_fds(socket, $0.baseAddress, UInt($0.count), &fds, &count, &message.sender) }
        guard n >= 0 else { throw .system("recvmsg", errno) }
        message.count = n
        if count > 0 { message.fd = fds[0] }
        fds.prefix(Int(count)).dropFirst().forEach { close($0) }
        return message
    }

    /// The handshake ended early: the process's exit says which step failed.
    static func failure(of pid: Int32, process: String, received: Int) -> SandboxLaunchError {
        switch PluginExit.wait(pid: pid, probe: nil) {
        case .exited(let code): return .setupFailed(process: process, exitCode: code, signal: nil)
        case .killed(let signal, _): return .setupFailed(process: process, exitCode: nil, signal: signal)
        case nil: return .protocolViolation("\(received) bytes, then \(process) could not be waited for")
        }
    }
}
