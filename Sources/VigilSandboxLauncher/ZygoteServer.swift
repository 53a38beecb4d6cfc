import CVigilSys
import Foundation
import VigilCore

/// `vigil-sandbox --serve`: the long-lived zygote the daemon sends every plugin start to.
///
/// The daemon `posix_spawn`s it once; for each plugin it sends one request on fd 3 (the spec and,
/// in `SCM_RIGHTS`, the plugin's stderr, its end of the plugin socket and its end of that run's
/// notify socket). The zygote, single-threaded, `clone`s the plugin process directly into its new
/// namespaces as a child of the daemon (`CLONE_PARENT`), answers with its pid and waits for the
/// next request; the child runs the plugin half (``PluginSetup``) exactly as the one-shot launcher's
/// does. What it saves per start: process start-up, the spec file, a separate `unshare`, the
/// hand-off pipe, and compiling the seccomp filter (cached per policy). See `Docs/sandbox.md`.
enum ZygoteServer {
    /// The zygote's end of its control socket (`SOCK_SEQPACKET`) with the daemon.
    static let controlFD: Int32 = 3
    /// The largest request (kind byte + binary spec) accepted; the daemon checks it before sending.
    static let maximumRequestBytes = 192 << 10

    /// Serves requests until the daemon closes its end of the control socket (or dies).
    static func serve() -> Never {
        do throws(LauncherFailure) {
            try requireSocket(controlFD, "fd 3 (the control socket)")
            try SandboxLauncher.requireSingleThread()
        } catch {
            writeLine("vigil-sandbox[zygote]: \(error.step.label): \(error.detail)", to: 2)
            _exit(error.step.exitCode)
        }
        // Dies with the daemon: SIGKILL when the daemon thread that spawned it ends, and EOF on the
        // control socket when the daemon's end closes, whichever comes first.
        _ = vigil_set_parent_death_signal(SIGKILL)
        SandboxLauncher.makeStagingRoot()
        guard reply([UInt8(ascii: "R")]) else { _exit(0) }
        var filters = FilterCache()
        var network = SpareNetworkNamespace()
        var buffer = [UInt8](repeating: 0, count: maximumRequestBytes)
        while true {
            network.replenish()
            if network.lostHome { exitLostHome() }
            var fds = [Int32](repeating: -1, count: Int(VIGIL_MAX_PASSED_FDS))
            var count: Int32 = 0
            let n = buffer.withUnsafeMutableBytes { raw in
                vigil_recv_with_fds(controlFD, raw.baseAddress, UInt(raw.count), &fds, &count, nil)
            }
            if n == 0 { _exit(0) }
            let received = Array(fds.prefix(Int(count)))
            let answer: [UInt8]
            if n < 0 {
                guard errno == EMSGSIZE else {
                    writeLine("vigil-sandbox[zygote]: control socket: \(String(cString: strerror(errno)))", to: 2)
                    _exit(LauncherStep.descriptors.exitCode)
                }
                answer = refusal(LauncherFailure(.specInvalid, "request larger than \(maximumRequestBytes) bytes"), plugin: "?", stderr: -1)
            } else {
                answer = handle(buffer[0..<n], descriptors: received, filters: &filters, network: &network)
            }
            received.forEach { close($0) }
            guard reply(answer) else { _exit(0) }
            if network.lostHome { exitLostHome() }
        }
    }

    /// One request: `'S'` + the spec in its binary form (`SandboxSpec.binaryEncoded()`) with
    /// [stderr, plugin socket, notify socket]. The answer is `'P'` + the plugin's pid (UInt32
    /// little-endian), or `'E'` + the failed step's exit code.
    static func handle(_ request: ArraySlice<UInt8>, descriptors fds: [Int32], filters: inout FilterCache,
                       network: inout SpareNetworkNamespace) -> [UInt8] {
        var plugin = "?"
        let stderrFD = fds.count == 3 || fds.count == 4 ? fds[0] : -1
        do throws(LauncherFailure) {
            guard fds.count == 3 || fds.count == 4 else {
                throw LauncherFailure(.descriptors, "a request carries stderr, the plugin socket, the notify socket and (brokered network) the egress socket, not \(fds.count) descriptors")
            }
            try requireSocket(fds[1], "the plugin socket")
            try requireSocket(fds[2], "the notify socket")
            guard request.first == UInt8(ascii: "S") else { throw LauncherFailure(.specInvalid, "unknown request kind") }
            let spec: SandboxSpec
            do { spec = try SandboxSpec(binary: request.dropFirst()) } catch {
                throw LauncherFailure(.specInvalid, "zygote request: \(error)")
            }
            plugin = spec.plugin
            guard (spec.network == .brokered) == (fds.count == 4) else {
                throw LauncherFailure(.descriptors, spec.network == .brokered ? "network brokered needs the egress socket"
                                                                             : "an egress socket without network brokered")
            }
            if fds.count == 4 { try requireSocket(fds[3], "the egress socket") }
            try SpecFile.validate(spec)
            try SandboxLauncher.requireSingleThread()
            var prepared = try PreparedSandbox(spec) { policy, mode, netlink throws(LauncherFailure) in
                try filters.program(for: policy, network: mode, netlink: netlink)
            }
            defer { prepared.release() }
            prepared.parentDeathSignal = true
            let ns = spec.namespaces
            func clone(net: Bool) -> pid_t {
                vigil_clone_sandbox(ns.mount ? 1 : 0, ns.pid ? 1 : 0, ns.ipc ? 1 : 0, ns.uts ? 1 : 0, net ? 1 : 0)
            }
            let child: pid_t
            if ns.net, let inSpare = network.clone({ clone(net: false) }) {
                child = inSpare
                prepared.loopbackReady = true
            } else {
                child = clone(net: ns.net)
            }
            guard child >= 0 else { throw .errno(.clone, "clone(CLONE_PARENT | namespaces)") }
            if child == 0 { runPlugin(prepared, descriptors: fds) }
            var answer: [UInt8] = [UInt8(ascii: "P")]
            withUnsafeBytes(of: UInt32(child).littleEndian) { answer.append(contentsOf: $0) }
            return answer
        } catch {
            return refusal(error, plugin: plugin, stderr: stderrFD)
        }
    }

    /// The cloned process: the request's descriptors become fds 2, 3, 4 (and 5), then the plugin half.
    static func runPlugin(_ prepared: PreparedSandbox, descriptors fds: [Int32]) -> Never {
        do throws(LauncherFailure) {
            guard vigil_install_descriptors(fds[0], fds[1], fds[2], fds.count == 4 ? fds[3] : -1) == 0 else {
                throw .errno(.descriptors, "installing fds 2 to \(fds.count + 1)")
            }
            try PluginSetup.run(prepared)
        } catch {
            writeStandardError("vigil-sandbox[\(prepared.spec.plugin)]: \(error.step.label): \(error.detail)")
            _exit(error.step.exitCode)
        }
    }

    /// Back in the daemon's network namespace failed: a later plugin with the host's network
    /// would get the wrong one. The daemon starts a new zygote on the next request.
    static func exitLostHome() -> Never {
        writeLine("vigil-sandbox[zygote]: clone: could not return to the daemon's network namespace", to: 2)
        _exit(LauncherStep.clone.exitCode)
    }

    /// The error line goes where the one-shot launcher's would: the plugin's stderr.
    static func refusal(_ failure: LauncherFailure, plugin: String, stderr: Int32) -> [UInt8] {
        if stderr >= 0 { writeLine("vigil-sandbox[\(plugin)]: \(failure.step.label): \(failure.detail)", to: stderr) }
        return [UInt8(ascii: "E"), UInt8(truncatingIfNeeded: failure.step.exitCode)]
    }

    static func reply(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { send(controlFD, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } == bytes.count
    }

    static func requireSocket(_ fd: Int32, _ what: String) throws(LauncherFailure) {
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFSOCK else {
            throw LauncherFailure(.descriptors, "\(what) is not a socket")
        }
    }
}

/// Compiled seccomp filters by policy: profiles are few, plugins start often.
struct FilterCache {
    struct Key: Hashable {
        let policy: SandboxSpec.SeccompPolicy
        let network: SandboxSpec.NetworkMode
        let netlink: Bool
    }

    /// More distinct policies than this and the cache starts over (manifests' extra syscalls make
    /// policies per plugin, but a daemon runs tens of plugins, not thousands).
    static let limit = 64
    private var programs: [Key: SeccompProgram] = [:]

    mutating func program(for policy: SandboxSpec.SeccompPolicy, network: SandboxSpec.NetworkMode,
                          netlink: Bool) throws(LauncherFailure) -> SeccompProgram {
        let key = Key(policy: policy, network: network, netlink: netlink)
        if let cached = programs[key] { return cached }
        let program = try SeccompProgram(policy, network: network, netlink: netlink)
        if programs.count >= Self.limit { programs.removeAll() }
        programs[key] = program
        return program
    }
}
