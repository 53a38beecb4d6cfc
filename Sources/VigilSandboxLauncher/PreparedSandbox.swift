import CLibcap
import Foundation
import VigilCore

/// Everything the plugin half needs that can be computed before the clone: the capability
/// numbers, the compiled seccomp filter and `execve`'s C strings.
///
/// Doing it before the clone means a bad capability name or filter is refused by the launcher
/// (one-shot) or the zygote (which also caches the filter) instead of a half-built sandbox, and that
/// nothing needs to allocate once the filter is loaded.
struct PreparedSandbox {
    let spec: SandboxSpec
    let capabilities: [cap_value_t]
    let filter: SeccompProgram
    let exec: PreparedExec
    /// The plugin is cloned into a network namespace whose loopback is already up.
    var loopbackReady = false
    /// Set `PR_SET_PDEATHSIG(SIGKILL)` in the plugin: only when its parent (by `CLONE_PARENT`,
    /// the thread that spawned the launcher) lives as long as the daemon, as the zygote's keeper
    /// does. The one-shot launcher's spawning thread ends right after the start.
    var parentDeathSignal = false

    /// `compile` builds (or finds) the filter for a policy.
    init(_ spec: SandboxSpec,
         compile: (SandboxSpec.SeccompPolicy, SandboxSpec.NetworkMode, Bool) throws(LauncherFailure) -> SeccompProgram) throws(LauncherFailure) {
        self.spec = spec
        capabilities = try Identity.capabilityValues(spec.capabilities)
        let netlink = spec.capabilities.contains { $0.uppercased() == "CAP_NET_ADMIN" }
        filter = try compile(spec.seccomp, spec.network, netlink)
        exec = try PreparedExec(spec)
    }

    /// Frees the C strings (the zygote prepares many sandboxes; a one-shot launcher never returns).
    func release() { exec.release() }
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

    func release() {
        free(path)
        argv.forEach { free($0) }
        envp.forEach { free($0) }
    }
}
