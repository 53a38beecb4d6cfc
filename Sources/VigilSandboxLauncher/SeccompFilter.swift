import CSeccomp
import Foundation
import VigilCore

/// The plugin's seccomp filter, built with libseccomp from the resolved policy.
///
/// allow → SCMP_ACT_ALLOW; watch → SCMP_ACT_NOTIFY (the daemon continues and counts them);
/// kill → SCMP_ACT_NOTIFY answered by a SIGKILL from the watcher (SCMP_ACT_KILL_PROCESS without one); errno overrides → SCMP_ACT_ERRNO; anything else → the default
/// action, SCMP_ACT_NOTIFY (the daemon denies with EPERM and reports a breach) or, without a
/// watcher, SCMP_ACT_ERRNO(EPERM). A foreign architecture (i386 `int 0x80`, x32) kills the process.
struct SeccompFilter {
    /// What runs between loading the filter and `execve`: always allowed, or the hand-off would
    /// block on a notification nobody can receive yet.
    static let handOffSyscalls = ["sendmsg", "recvfrom", "read", "write", "close", "execve", "exit_group",
                                  "exit", "brk", "mmap", "munmap", "futex", "rt_sigprocmask"]
    /// clone() flags that create namespaces: clone with any of them is not allowed.
    static let namespaceCloneFlags: UInt64 = 0x7E02_0000
    static let prSetSeccomp: UInt64 = 22
    static let addressFamilyUnix: UInt64 = 1

    /// Syscalls allowed only with argument checks; continuing them from the daemon would skip the checks.
    static let conditional: Set<String> = ["clone", "prctl", "socket"]

    private let context: scmp_filter_ctx
    private let defaultAction: UInt32
    private let notifies: Bool

    static func errnoAction(_ code: Int32) -> UInt32 { 0x0005_0000 | (UInt32(bitPattern: code) & 0xffff) }

    init(_ policy: SandboxSpec.SeccompPolicy, network: SandboxSpec.NetworkMode) throws(LauncherFailure) {
        let defaultAction = policy.useNotify ? SCMP_ACT_NOTIFY : Self.errnoAction(EPERM)
        guard let context = seccomp_init(defaultAction) else { throw LauncherFailure(.seccompBuild, "seccomp_init") }
        self.context = context
        self.defaultAction = defaultAction
        for name in policy.watch where Self.conditional.contains(name) {
            throw LauncherFailure(.specInvalid, "seccomp.watch: \(name) is checked by its arguments and cannot be watched")
        }
        notifies = policy.useNotify || !policy.watch.isEmpty
        guard seccomp_attr_set(context, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS) == 0 else {
            throw LauncherFailure(.seccompBuild, "bad-architecture action")
        }
        let killed = Set(policy.kill)
        for name in Self.handOffSyscalls where killed.contains(name) {
            throw LauncherFailure(.seccompBuild, "\(name) is needed to start the plugin and cannot be killed")
        }
        var allowed = Set(policy.allow).union(Self.handOffSyscalls)
        allowed.subtract(killed)
        // With a watcher, a hard-denied syscall is notified: the watcher names it, kills the plugin
        // and never answers, so the call never runs. Measured on 6.18: a SIGSYS zombie's
        // /proc/PID/syscall reads -1 and the kernel's audit lines are printk-rate-limited (10 per 5 s),
        // so a kernel kill could not be named reliably. Without a watcher the kernel kills.
        let killAction = policy.useNotify ? SCMP_ACT_NOTIFY : SCMP_ACT_KILL_PROCESS
        for name in policy.kill { try add(killAction, name) }
        for (name, code) in policy.errno.sorted(by: { $0.key < $1.key }) where !killed.contains(name) {
            try add(Self.errnoAction(code), name)
            allowed.remove(name)
        }
        let watched = Set(policy.watch).subtracting(killed).subtracting(policy.errno.keys)
        for name in allowed.union(watched).sorted() {
            let action = watched.contains(name) ? SCMP_ACT_NOTIFY : SCMP_ACT_ALLOW
            switch name {
            case "clone":
                try add(action, name, scmp_arg_cmp(arg: 0, op: SCMP_CMP_MASKED_EQ, datum_a: Self.namespaceCloneFlags, datum_b: 0))
            case "prctl":
                try add(action, name, scmp_arg_cmp(arg: 0, op: SCMP_CMP_NE, datum_a: Self.prSetSeccomp, datum_b: 0))
            case "socket" where network == .none:
                try add(action, name, scmp_arg_cmp(arg: 0, op: SCMP_CMP_EQ, datum_a: Self.addressFamilyUnix, datum_b: 0))
            default:
                try add(action, name)
            }
        }
    }

    private func add(_ action: UInt32, _ name: String, _ conditions: scmp_arg_cmp...) throws(LauncherFailure) {
        let number = seccomp_syscall_resolve_name(name)
        guard number != __NR_SCMP_ERROR else { throw LauncherFailure(.seccompBuild, "unknown syscall \(name)") }
        // The default action already covers it; libseccomp refuses such a rule.
        if action == defaultAction, conditions.isEmpty { return }
        var conditions = conditions
        let rc = conditions.withUnsafeMutableBufferPointer {
            seccomp_rule_add_array(context, action, number, UInt32($0.count), $0.baseAddress)
        }
        // -EACCES/-EEXIST: a rule for a syscall this architecture does not have, or equal to the default.
        guard rc == 0 || rc == -EEXIST else {
            throw LauncherFailure(.seccompBuild, "rule for \(name): \(String(cString: strerror(-rc)))")
        }
    }

    /// Loads the filter; returns the user-notification fd when the filter notifies.
    func load() throws(LauncherFailure) -> Int32? {
        let rc = seccomp_load(context)
        guard rc == 0 else { throw LauncherFailure(.seccompLoad, "seccomp_load: \(String(cString: strerror(-rc)))") }
        guard notifies else { return nil }
        let fd = seccomp_notify_fd(context)
        guard fd >= 0 else { throw LauncherFailure(.seccompLoad, "no notification fd") }
        return fd
    }
}
