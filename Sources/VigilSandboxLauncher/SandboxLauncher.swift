import CVigilSys
import Foundation
import VigilCore

/// `vigil-sandbox`: confines one plugin and `execve`s it, top to bottom, one step at a time.
///
/// The order matters and is the whole design: namespaces, then the filesystem view (as root),
/// then limits, identity and capabilities, then `no_new_privs`, Landlock and seccomp last, so the
/// filter only has to allow what the hand-off and the plugin need. See `Docs/sandbox.md`.
public enum SandboxLauncher {
    /// The fd the plugin talks on (its end of the plugin socketpair).
    public static let pluginSocketFD: Int32 = 3
    /// The launcher's end of the notify socketpair with the daemon.
    public static let notifySocketFD: Int32 = 4
    /// Where the new root is assembled, inside the launcher's private mount namespace.
    static let stagingRoot = "/run/vigil-sandbox"

    /// Runs the launcher and never returns: `execve` of the plugin, or `_exit` with a step's code.
    public static func main(arguments: [String]) -> Never {
        var pluginName = "?"
        do {
            let spec = try readSpec(arguments: arguments)
            pluginName = spec.plugin
            try launch(spec)
        } catch {
            writeStandardError("vigil-sandbox[\(pluginName)]: \(error.step.label): \(error.detail)")
            _exit(error.step.exitCode)
        }
    }

    static func readSpec(arguments: [String]) throws(LauncherFailure) -> SandboxSpec {
        guard arguments.count == 3, arguments[1] == "--spec" else {
            throw LauncherFailure(.usage, "usage: vigil-sandbox --spec PATH")
        }
        let data = try SpecFile.read(path: arguments[2])
        let spec: SandboxSpec
        do {
            spec = try JSONDecoder().decode(SandboxSpec.self, from: data)
        } catch {
            throw LauncherFailure(.specInvalid, "\(arguments[2]): \(error)")
        }
        try SpecFile.validate(spec)
        return spec
    }

    /// Everything after the spec is read: the launcher half, then (in the clone) the plugin half.
    static func launch(_ spec: SandboxSpec) throws(LauncherFailure) -> Never {
        try requireSocket(pluginSocketFD)
        try requireSocket(notifySocketFD)
        try requireSingleThread()
        let prepared = try PreparedExec(spec)

        mkdir("/run", 0o755)
        mkdir(stagingRoot, 0o700)
        var handOff: [Int32] = [-1, -1]
        guard vigil_pipe_cloexec(&handOff) == 0 else { throw .errno(.clone, "pipe") }
        let ns = spec.namespaces
        guard vigil_unshare_namespaces(ns.mount ? 1 : 0, ns.pid ? 1 : 0, ns.ipc ? 1 : 0, ns.uts ? 1 : 0, ns.net ? 1 : 0) == 0 else { throw .errno(.unshare, "unshare") }

        let child = vigil_clone_parent()
        guard child >= 0 else { throw .errno(.clone, "clone(CLONE_PARENT)") }
        if child > 0 {
            close(handOff[0])
            try sendPluginPID(child)
            var go: UInt8 = UInt8(ascii: "G")
            _ = write(handOff[1], &go, 1)
            _exit(0)
        }

        // The plugin process: pid 1 of its pid namespace, child of the daemon.
        close(handOff[1])
        var go: UInt8 = 0
        guard read(handOff[0], &go, 1) == 1, go == UInt8(ascii: "G") else {
            throw LauncherFailure(.handOff, "the launcher did not hand off")
        }
        close(handOff[0])

        try RootFilesystem.build(spec, staging: stagingRoot)
        if spec.namespaces.uts {
            guard sethostname(spec.plugin, spec.plugin.utf8.count) == 0 else { throw .errno(.hostname, "sethostname") }
        }
        if spec.namespaces.net {
            guard vigil_loopback_up() == 0 else { throw .errno(.loopback, "lo up") }
        }
        try Identity.applyLimits(spec.limits)
        try Identity.become(uid: spec.uid, gid: spec.gid, keeping: spec.capabilities)
        guard vigil_set_no_new_privs() == 0 else { throw .errno(.noNewPrivs, "prctl(PR_SET_NO_NEW_PRIVS)") }
        guard chdir(spec.workingDirectory) == 0 else { throw .errno(.chdir, spec.workingDirectory) }
        if spec.landlock {
            if let skipped = try LandlockRules.apply(spec) {
                writeStandardError("vigil-sandbox[\(spec.plugin)]: landlock skipped: \(skipped)")
            }
        }
        _ = vigil_close_from(notifySocketFD + 1)

        let filter = try SeccompFilter(spec.seccomp, network: spec.network)
        // From here until execve, only the hand-off syscalls run (SeccompFilter.handOffSyscalls).
        let notifyFD = try filter.load()
        if let notifyFD {
            guard vigil_send_fd(notifySocketFD, notifyFD) == 0 else { throw .errno(.sendNotifyFD, "sendmsg") }
            close(notifyFD)
        } else {
            guard vigil_send_byte(notifySocketFD, CChar(UInt8(ascii: "N"))) == 0 else { throw .errno(.sendNotifyFD, "send") }
        }
        let ack = vigil_recv_byte(notifySocketFD)
        guard ack == Int32(UInt8(ascii: "A")) else { throw .errno(.ack, "no ack from the daemon") }
        close(notifySocketFD)
        prepared.execute()
        throw .errno(.execve, spec.executable)
    }

    static func requireSocket(_ fd: Int32) throws(LauncherFailure) {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .errno(.descriptors, "fd \(fd)") }
        guard st.st_mode & S_IFMT == S_IFSOCK else { throw LauncherFailure(.descriptors, "fd \(fd) is not a socket") }
    }

    /// unshare and setuid semantics assume one thread; Foundation must not have started any.
    static func requireSingleThread() throws(LauncherFailure) {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        guard tasks.count == 1 else { throw LauncherFailure(.threads, "\(tasks.count) threads") }
    }

    static func sendPluginPID(_ pid: pid_t) throws(LauncherFailure) {
        var message: [UInt8] = [UInt8(ascii: "P")]
        withUnsafeBytes(of: UInt32(pid).littleEndian) { message.append(contentsOf: $0) }
        let sent = message.withUnsafeBytes { send(notifySocketFD, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard sent == message.count else { throw .errno(.sendPID, "send") }
    }
}

/// argv and envp as C strings, built before the filter so that nothing allocates after it.
struct PreparedExec {
    let path: UnsafeMutablePointer<CChar>
    let argv: [UnsafeMutablePointer<CChar>?]
    let envp: [UnsafeMutablePointer<CChar>?]

    init(_ spec: SandboxSpec) throws(LauncherFailure) {
        guard let path = strdup(spec.executable) else { throw LauncherFailure(.specInvalid, "out of memory") }
        self.path = path
        argv = ([spec.executable] + spec.arguments).map { strdup($0) } + [nil]
        envp = spec.environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
    }

    func execute() {
        argv.withUnsafeBufferPointer { a in
            envp.withUnsafeBufferPointer { e in
                guard let argv = a.baseAddress, let envp = e.baseAddress else { return }
                _ = Glibc.execve(path, argv, envp)
            }
        }
    }
}
