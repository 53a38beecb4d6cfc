import CVigilSys
import Foundation
import VigilCore

/// The plugin half: runs in the cloned process (pid 1 of its pid namespace, a child of the
/// daemon, still root) and ends in `execve` of the plugin. The same steps, exit codes 111–133, in
/// the one-shot launcher and in the zygote.
enum PluginSetup {
    static func run(_ prepared: PreparedSandbox) throws(LauncherFailure) -> Never {
        let spec = prepared.spec
        // Its own session and process group: a plugin's signals to its group, or a terminal's,
        // never reach the daemon's.
        guard setsid() >= 0 else { throw .errno(.session, "setsid") }
        // A new session is a new scheduler autogroup, weighted like the daemon's whole session
        // whatever the nice values inside it: forty plugins setting up at once took most of two
        // cores from the daemon until each joined its cgroup (which autogroups do not apply to).
        // At autogroup nice 19 a session of plugin setup yields to the daemon's.
        try? writeSmallFile("/proc/self/autogroup", "\(SandboxLauncher.pluginAutogroupNiceness)", step: .session)
        // The kernel's OOM killer takes a plugin (and its children, who inherit this) before vigild.
        try writeSmallFile("/proc/self/oom_score_adj", "1000", step: .session)
        let lastCap = vigil_cap_last_cap()
        guard lastCap > 0 else { throw .errno(.capabilities, "reading cap_last_cap") }
        try RootFilesystem.build(spec, staging: SandboxLauncher.stagingRoot)
        if spec.namespaces.uts {
            guard sethostname(spec.plugin, spec.plugin.utf8.count) == 0 else { throw .errno(.hostname, "sethostname") }
        }
        if spec.namespaces.net, !prepared.loopbackReady {
            guard vigil_loopback_up() == 0 else { throw .errno(.loopback, "lo up") }
        }
        try Identity.applyLimits(spec.limits, reaper: spec.namespaces.pid)
        try Identity.become(uid: spec.uid, gid: spec.gid, groups: spec.groups, keeping: prepared.capabilities, lastCap: lastCap)
        if prepared.parentDeathSignal {
            // After setresuid, which clears it. The parent is the daemon's zygote keeper thread,
            // which lives as long as the daemon: SIGKILL from any death of the daemon. If the
            // daemon is already gone, the ack below never comes (EOF) and the plugin exits 131.
            guard vigil_set_parent_death_signal(SIGKILL) == 0 else { throw .errno(.session, "PR_SET_PDEATHSIG") }
        }
        guard vigil_set_no_new_privs() == 0 else { throw .errno(.noNewPrivs, "prctl(PR_SET_NO_NEW_PRIVS)") }
        guard chdir(spec.workingDirectory) == 0 else { throw .errno(.chdir, spec.workingDirectory) }
        if spec.landlock {
            if let skipped = try LandlockRules.apply(spec) {
                writeStandardError("vigil-sandbox[\(spec.plugin)]: landlock skipped: \(skipped)")
            }
        }
        let notifySocket = SandboxLauncher.notifySocketFD
        _ = vigil_close_from((spec.network == .brokered ? SandboxLauncher.egressSocketFD : notifySocket) + 1)

        // From here until execve, only the hand-off syscalls run (SeccompFilter.handOffSyscalls).
        let notifyFD = try prepared.filter.load()
        if let notifyFD {
            guard vigil_send_fd(notifySocket, notifyFD) == 0 else { throw .errno(.sendNotifyFD, "sendmsg") }
            close(notifyFD)
        } else {
            guard vigil_send_byte(notifySocket, CChar(UInt8(ascii: "N"))) == 0 else { throw .errno(.sendNotifyFD, "send") }
        }
        let ack = vigil_recv_byte(notifySocket)
        guard ack == Int32(UInt8(ascii: "A")) else { throw .errno(.ack, "no ack from the daemon") }
        if spec.namespaces.pid {
            // The plugin runs as pid 2 under a reaper (pid 1) that keeps the notify socket to
            // report how the plugin ended: see vigil_become_reaper.
            guard vigil_become_reaper(notifySocket) == 0 else { throw .errno(.reaper, "fork under the reaper") }
        } else {
            close(notifySocket)
        }
        prepared.exec.execute()
        throw .errno(.execve, spec.executable)
    }

    static func writeSmallFile(_ path: String, _ text: String, step: LauncherStep) throws(LauncherFailure) {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .errno(step, "open \(path)") }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        guard write(fd, bytes, bytes.count) == bytes.count else { throw .errno(step, "write \(path)") }
    }
}
