import CLibcap
import CVigilSys
import Foundation
import VigilCore

/// Limits, uid/gid and capabilities: the plugin ends up as its own unprivileged uid holding
/// exactly its declared capabilities (ambient, so they survive `execve`), nothing else.
enum Identity {
    /// `reaper`: the plugin runs under a reaper (pid 1 of its pid namespace), one more process
    /// of its uid and cgroup than the plugin's own `processes`.
    static func applyLimits(_ limits: SandboxSpec.ResourceLimits, reaper: Bool) throws(LauncherFailure) {
        let extra: UInt64 = reaper ? 2 : 1
        let wanted: [(Int32, UInt64?, String)] = [
            (Int32(VIGIL_LIMIT_MEMORY.rawValue), limits.memoryBytes, "RLIMIT_AS"),
            (Int32(VIGIL_LIMIT_CPU.rawValue), limits.cpuSeconds, "RLIMIT_CPU"),
            (Int32(VIGIL_LIMIT_NOFILE.rawValue), limits.openFiles, "RLIMIT_NOFILE"),
            // One above the cgroup's pids.max: the cgroup refuses first, so the daemon sees it
            // (pids.events) and ends the run over the limit; this is the backstop without a cgroup.
            (Int32(VIGIL_LIMIT_NPROC.rawValue), limits.processes.map { $0 > .max - extra ? .max : $0 + extra }, "RLIMIT_NPROC"),
            // Over it a write fails with EFBIG and SIGXFSZ ends the plugin (a 1 TiB sparse file was one write).
            (Int32(VIGIL_LIMIT_FSIZE.rawValue), limits.fileBytes, "RLIMIT_FSIZE"),
            // No core files: a SIGSYS kill must not write the plugin's memory anywhere.
            (Int32(VIGIL_LIMIT_CORE.rawValue), 0, "RLIMIT_CORE"),
        ]
        for (resource, value, name) in wanted {
            guard let value else { continue }
            guard vigil_set_rlimit(resource, value) == 0 else { throw .errno(.rlimits, "\(name)=\(value)") }
        }
    }

    /// Resolves capability names with libcap; unknown names are a spec error.
    static func capabilityValues(_ names: [String]) throws(LauncherFailure) -> [cap_value_t] {
        var values: [cap_value_t] = []
        for name in names {
            var value: cap_value_t = 0
            guard cap_from_name(name.lowercased(), &value) == 0 else {
                throw LauncherFailure(.specInvalid, "capabilities: unknown capability \(name)")
            }
            values.append(value)
        }
        return values
    }

    /// `lastCap` is read before the plugin's `/proc` (pids only, no `/proc/sys`) replaces the host's.
    static func become(uid: UInt32, gid: UInt32, groups: [UInt32] = [], keeping kept: [cap_value_t], lastCap: Int32) throws(LauncherFailure) {
        guard lastCap > 0 else { throw LauncherFailure(.capabilities, "cap_last_cap unknown") }
        for cap in 0...lastCap where !kept.contains(cap_value_t(cap)) {
            guard vigil_bounding_drop(cap) == 0 else { throw .errno(.capabilities, "dropping capability \(cap) from the bounding set") }
        }
        guard vigil_set_keep_caps(kept.isEmpty ? 0 : 1) == 0 else { throw .errno(.capabilities, "PR_SET_KEEPCAPS") }
        // Only the supplementary groups the operator's policy granted (`sandbox.groups`), else none.
        guard groups.withUnsafeBufferPointer({ setgroups($0.count, $0.baseAddress) }) == 0 else {
            throw .errno(.setgroups, "setgroups(\(groups))")
        }
        guard vigil_set_all_gids(gid) == 0 else { throw .errno(.setgid, "setresgid(\(gid))") }
        guard vigil_set_all_uids(uid) == 0 else { throw .errno(.setuid, "setresuid(\(uid))") }
        // Belt and braces: with no capability to do so, going back to root must fail.
        guard setuid(0) != 0, getuid() == uid, geteuid() == uid, getgid() == gid else {
            throw LauncherFailure(.setuid, "still able to regain uid 0")
        }
        guard let caps = cap_init() else { throw .errno(.capabilities, "cap_init") }
        defer { cap_free(UnsafeMutableRawPointer(caps)) }
        if !kept.isEmpty {
            for flag in [CAP_PERMITTED, CAP_EFFECTIVE, CAP_INHERITABLE] {
                guard cap_set_flag(caps, flag, Int32(kept.count), kept, CAP_SET) == 0 else {
                    throw .errno(.capabilities, "cap_set_flag")
                }
            }
        }
        guard cap_set_proc(caps) == 0 else { throw .errno(.capabilities, "cap_set_proc") }
        guard vigil_ambient_clear_all() == 0 else { throw .errno(.ambient, "clearing ambient capabilities") }
        for cap in kept {
            guard vigil_ambient_raise(Int32(cap)) == 0 else { throw .errno(.ambient, "raising ambient capability \(cap)") }
        }
        guard vigil_set_keep_caps(0) == 0 else { throw .errno(.capabilities, "PR_SET_KEEPCAPS off") }
    }
}
