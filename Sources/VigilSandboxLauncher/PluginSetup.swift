import CVigilSys
import Foundation
import VigilCore

/// The plugin half: runs in the cloned process (pid 1 of its pid namespace, a child of the
/// daemon, still root) and ends in `execve` of the plugin. The same steps, exit codes 111–133, in
/// the one-shot launcher and in the zygote.
enum PluginSetup {
    static func run(_ prepared: PreparedSandbox) throws(LauncherFailure) -> Never {
        let spec = prepared.spec
        try RootFilesystem.build(spec, staging: SandboxLauncher.stagingRoot)
        if spec.namespaces.uts {
            guard sethostname(spec.plugin, spec.plugin.utf8.count) == 0 else { throw .errno(.hostname, "sethostname") }
        }
        if spec.namespaces.net, !prepared.loopbackReady {
            guard vigil_loopback_up() == 0 else { throw .errno(.loopback, "lo up") }
        }
        try Identity.applyLimits(spec.limits)
        try Identity.become(uid: spec.uid, gid: spec.gid, keeping: prepared.capabilities)
        guard vigil_set_no_new_privs() == 0 else { throw .errno(.noNewPrivs, "prctl(PR_SET_NO_NEW_PRIVS)") }
        guard chdir(spec.workingDirectory) == 0 else { throw .errno(.chdir, spec.workingDirectory) }
        if spec.landlock {
            if let skipped = try LandlockRules.apply(spec) {
                writeStandardError("vigil-sandbox[\(spec.plugin)]: landlock skipped: \(skipped)")
            }
        }
        let notifySocket = SandboxLauncher.notifySocketFD
        _ = vigil_close_from(notifySocket + 1)

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
        close(notifySocket)
        prepared.exec.execute()
        throw .errno(.execve, spec.executable)
    }
}
