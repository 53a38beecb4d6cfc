import CVigilSys
import Foundation
import VigilCore

/// Why a sandboxed start failed.
public enum SandboxLaunchError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A system call in the daemon failed.
    case system(String, Int32)
    /// `vigil-sandbox` (process `launcher`) or the plugin's setup (process `plugin`) exited with a
    /// step's code from the table in `Docs/sandbox.md`, or was killed (`signal`).
    case setupFailed(process: String, exitCode: Int32?, signal: Int32?)
    /// The hand-off did not complete in time.
    case timedOut(String)
    /// The launcher broke the fd 4 handshake.
    case protocolViolation(String)

    public var description: String {
        switch self {
        case .system(let call, let code): "\(call): \(String(cString: strerror(code)))"
        case .setupFailed(let process, let code, let signal):
            "\(process) setup failed: " + (code.map { "exit code \($0) (see Docs/sandbox.md)" } ?? "signal \(signal ?? 0)")
        case .timedOut(let what): "timed out waiting for \(what)"
        case .protocolViolation(let what): "launcher handshake: \(what)"
        }
    }
}

/// A plugin running under `vigil-sandbox`: a direct child of this process (CLONE_PARENT).
public struct SandboxedProcess: Sendable {
    public let pluginPID: Int32
    /// Opened at spawn; pass it to `PluginExit.wait(pid:probe:)`.
    public let probe: SyscallProbe
}

/// The daemon side of the launcher contract: spec file, `posix_spawn`, pid, notify fd, ack.
///
/// It blocks (bounded by `timeout`) while the launcher builds the sandbox; call it from a thread
/// that may block, not from the cooperative pool's hot path.
public struct SandboxSpawner: Sendable {
    public var launcherPath: String
    /// Where spec files are written (root-owned, in the daemon's state folder).
    public var specDirectory: String
    public var timeout: Duration

    public init(launcherPath: String, specDirectory: String, timeout: Duration = .seconds(10)) {
        self.launcherPath = launcherPath
        self.specDirectory = specDirectory
        self.timeout = timeout
    }

    /// Starts `spec`. `pluginSocketFD` becomes the plugin's fd 3, `stderrFD` its fd 2. With a
    /// watcher, the notify fd is registered before the plugin is allowed to `execve`.
    public func spawn(_ spec: SandboxSpec, pluginSocketFD: Int32, stderrFD: Int32 = 2,
                      watcher: BreachWatcher?) throws(SandboxLaunchError) -> SandboxedProcess {
        let specPath = try writeSpec(spec)
        defer { unlink(specPath) }
        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            throw .system("socketpair", errno)
        }
        let daemonEnd = pair[0]
        defer { close(daemonEnd) }
        let launcherPID = try spawnLauncher(specPath: specPath, pluginFD: pluginSocketFD, notifyFD: pair[1], stderrFD: stderrFD)
        close(pair[1])

        var message = [UInt8](repeating: 0, count: 8)
        var fd: Int32 = -1
        let pidBytes = try receive(daemonEnd, into: &message, fd: &fd, what: "the plugin pid")
        guard pidBytes == 5, message[0] == UInt8(ascii: "P") else {
            throw Self.failure(of: launcherPID, process: "launcher", received: pidBytes)
        }
        let pluginPID = Int32(bitPattern: UInt32(message[1]) | UInt32(message[2]) << 8 | UInt32(message[3]) << 16 | UInt32(message[4]) << 24)
        let probe = SyscallProbe(pid: pluginPID)
        _ = PluginExit.wait(pid: launcherPID, probe: nil)

        let notifyBytes = try receive(daemonEnd, into: &message, fd: &fd, what: "the notify fd")
        guard notifyBytes == 1 else { throw Self.failure(of: pluginPID, process: "plugin", received: notifyBytes) }
        switch (message[0], fd >= 0) {
        case (UInt8(ascii: "F"), true):
            if let watcher {
                watcher.register(plugin: spec.plugin, pid: pluginPID, notifyFD: fd, watched: spec.seccomp.watch,
                                 killed: spec.seccomp.kill)
            } else {
                close(fd)
            }
        case (UInt8(ascii: "N"), false): break
        default:
            if fd >= 0 { close(fd) }
            kill(pluginPID, SIGKILL)
            _ = PluginExit.wait(pid: pluginPID, probe: nil)
            throw .protocolViolation("unexpected message \(message[0])")
        }
        guard vigil_send_byte(daemonEnd, CChar(UInt8(ascii: "A"))) == 0 else { throw .system("send ack", errno) }
        return SandboxedProcess(pluginPID: pluginPID, probe: probe)
    }

    private func writeSpec(_ spec: SandboxSpec) throws(SandboxLaunchError) -> String {
        let path = "\(specDirectory)/\(spec.plugin)-\(UInt64.random(in: 0...UInt64.max)).spec"
        let data: Data
        do { data = try JSONEncoder().encode(spec) } catch { throw .protocolViolation("encoding the spec: \(error)") }
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw .system("open \(path)", errno) }
        defer { close(fd) }
        let written = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == data.count else { throw .system("write \(path)", errno) }
        return path
    }

    private func spawnLauncher(specPath: String, pluginFD: Int32, notifyFD: Int32, stderrFD: Int32) throws(SandboxLaunchError) -> Int32 {
        // Move the sources above 9 first, so dup2 onto 2/3/4 cannot clobber one of them.
        let sources = [stderrFD, pluginFD, notifyFD].map { fcntl($0, F_DUPFD_CLOEXEC, 10) }
        defer { sources.forEach { if $0 >= 0 { close($0) } } }
        guard sources.allSatisfy({ $0 >= 0 }) else { throw .system("fcntl(F_DUPFD_CLOEXEC)", errno) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        for (target, source) in zip([Int32(2), 3, 4], sources) {
            posix_spawn_file_actions_adddup2(&actions, source, target)
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup(launcherPath), strdup("--spec"), strdup(specPath), nil]
        defer { argv.forEach { free($0) } }
        let envp: [UnsafeMutablePointer<CChar>?] = [nil]
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, launcherPath, &actions, &attributes, argv, envp)
        guard rc == 0 else { throw .system("posix_spawn \(launcherPath)", rc) }
        return pid
    }

    private func receive(_ socket: Int32, into buffer: inout [UInt8], fd: inout Int32, what: String) throws(SandboxLaunchError) -> Int {
        var entry = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
        let milliseconds = Int32(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        let ready = poll(&entry, 1, milliseconds)
        guard ready > 0 else { throw .timedOut(what) }
        let n = buffer.withUnsafeMutableBytes { vigil_recv_message(socket, $0.baseAddress, UInt($0.count), &fd) }
        guard n >= 0 else { throw .system("recvmsg", errno) }
        return n
    }

    /// The handshake ended early: the process's exit says which step failed.
    private static func failure(of pid: Int32, process: String, received: Int) -> SandboxLaunchError {
        switch PluginExit.wait(pid: pid, probe: nil) {
        case .exited(let code): return .setupFailed(process: process, exitCode: code, signal: nil)
        case .killed(let signal, _): return .setupFailed(process: process, exitCode: nil, signal: signal)
        case nil: return .protocolViolation("\(received) bytes, then \(process) could not be waited for")
        }
    }
}
