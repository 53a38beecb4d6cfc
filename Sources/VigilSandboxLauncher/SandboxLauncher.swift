import CVigilSys
import Foundation
import VigilCore

/// `vigil-sandbox`: confines one plugin and `execve`s it, top to bottom, one step at a time.
///
/// The order matters and is the whole design: namespaces, then the filesystem view (as root),
/// then limits, identity and capabilities, then `no_new_privs`, Landlock and seccomp last, so the
/// filter only has to allow what the hand-off and the plugin need. See `Docs/sandbox.md`.
///
/// Two ways to run it: `--spec PATH` starts one plugin and exits (the one-shot launcher), and
/// `--serve` is the long-lived zygote the daemon sends every start to (``ZygoteServer``). Both
/// end in the same plugin half (``PluginSetup``).
public enum SandboxLauncher {
    /// The fd the plugin talks on (its end of the plugin socketpair).
    public static let pluginSocketFD: Int32 = 3
    /// The launcher's end of the notify socketpair with the daemon.
    public static let notifySocketFD: Int32 = 4
    /// A brokered plugin's end of the daemon's egress broker (`SOCK_SEQPACKET`).
    public static let egressSocketFD: Int32 = 5
    /// Where the new root is assembled, inside the plugin's private mount namespace.
    static let stagingRoot = "/run/vigil-sandbox"

    /// Runs the launcher and never returns: `execve` of the plugin, or `_exit` with a step's code.
    public static func main(arguments: [String]) -> Never {
        // Plugins and their setup yield the CPU to the daemon: a storm of plugin starts must not
        // delay the incident the daemon is writing (children inherit it; without CAP_SYS_NICE a
        // plugin cannot take it back).
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, pluginNiceness)
        if arguments.count == 2, arguments[1] == "--serve" { ZygoteServer.serve() }
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

    /// The nice value every plugin runs at (the daemon runs at 0).
    public static let pluginNiceness = SandboxSpec.pluginNiceness
    /// The nice value of each plugin's session (its scheduler autogroup, where the kernel has them;
    /// only for processes outside a cpu cgroup).
    public static let pluginAutogroupNiceness: Int32 = 19

    static func readSpec(arguments: [String]) throws(LauncherFailure) -> SandboxSpec {
        guard arguments.count == 3, arguments[1] == "--spec" else {
            throw LauncherFailure(.usage, "usage: vigil-sandbox --spec PATH | vigil-sandbox --serve")
        }
        return try SpecFile.decode(try SpecFile.read(path: arguments[2]), source: arguments[2])
    }

    /// The one-shot launcher half: unshare, clone the plugin as the daemon's child, hand off, exit.
    static func launch(_ spec: SandboxSpec) throws(LauncherFailure) -> Never {
        try requireSocket(pluginSocketFD)
        try requireSocket(notifySocketFD)
        if spec.network == .brokered { try requireSocket(egressSocketFD) }
        try requireSingleThread()
        let prepared = try PreparedSandbox(spec) { policy, network, netlink throws(LauncherFailure) in
            try SeccompProgram(policy, network: network, netlink: netlink)
        }
        makeStagingRoot()
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
        try PluginSetup.run(prepared)
    }

    /// The folder the plugin's new root is mounted on (in its own mount namespace).
    static func makeStagingRoot() {
        mkdir("/run", 0o755)
        mkdir(stagingRoot, 0o700)
    }

    static func requireSocket(_ fd: Int32) throws(LauncherFailure) {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .errno(.descriptors, "fd \(fd)") }
        guard st.st_mode & S_IFMT == S_IFSOCK else { throw LauncherFailure(.descriptors, "fd \(fd) is not a socket") }
    }

    /// unshare, clone and setuid semantics assume one thread; Foundation must not have started any.
    static func requireSingleThread() throws(LauncherFailure) {
        let threads = vigil_thread_count()
        guard threads == 1 else { throw LauncherFailure(.threads, "\(threads) threads") }
    }

    static func sendPluginPID(_ pid: pid_t) throws(LauncherFailure) {
        var message: [UInt8] = [UInt8(ascii: "P")]
        withUnsafeBytes(of: UInt32(pid).littleEndian) { message.append(contentsOf: $0) }
        let sent = message.withUnsafeBytes { send(notifySocketFD, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard sent == message.count else { throw .errno(.sendPID, "send") }
    }
}
