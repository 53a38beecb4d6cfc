import CVigilSys
import Foundation
import VigilCore

/// The Landlock ruleset: the same view again, enforced by the kernel's LSM (defence in depth,
/// and the confinement that remains where mount namespaces are unavailable).
///
/// Reads are allowed under `/` (the view is already minimal); writes only under `write_paths`,
/// `/tmp` and the device nodes; `execve` only of `filesystem.executables`; TCP connect only to
/// `tcpConnectPorts` (ABI >= 4); abstract Unix sockets and signals outside the sandbox are
/// scoped away (ABI >= 6).
enum LandlockRules {
    /// Applies the ruleset; returns why it was skipped (kernel without Landlock), or nil.
    static func apply(_ spec: SandboxSpec) throws(LauncherFailure) -> String? {
        let abi = vigil_landlock_abi()
        guard abi > 0 else { return "kernel has no Landlock (errno \(Glibc.errno))" }
        let ruleset = vigil_landlock_create(abi)
        guard ruleset >= 0 else { throw .errno(.landlock, "landlock_create_ruleset(ABI \(abi))") }
        defer { close(ruleset) }
        let read = vigil_landlock_fs_read()
        // Renames and links between folders (a Maildir's tmp/ to new/, an atomic replace through a
        // temporary file elsewhere) need `refer` (ABI 2) where both ends are writable; without it
        // the kernel answers EXDEV. It grants no access a file did not already have.
        let write = vigil_landlock_fs_write(abi) | (abi >= 2 ? UInt64(1) << 13 : 0)
        let execute = vigil_landlock_fs_execute()
        var rules: [(String, UInt64)] = [("/", read), ("/dev", read | vigil_landlock_fs_write(abi))]
        if spec.filesystem.tmpBytes > 0 { rules.append(("/tmp", read | write)) }
        rules += spec.filesystem.writePaths.map { ($0, read | write) }
        rules += ([spec.executable] + spec.filesystem.executables).map { ($0, read | execute) }
        for (path, access) in rules {
            if vigil_landlock_allow_path(ruleset, path, access) != 0 {
                if Glibc.errno == ENOENT { continue }
                throw .errno(.landlock, "rule for \(path)")
            }
        }
        if abi >= 4, !spec.network.ownNamespace {
            for port in spec.tcpConnectPorts {
                guard vigil_landlock_allow_connect(ruleset, UInt64(port)) == 0 else {
                    throw .errno(.landlock, "rule for TCP port \(port)")
                }
            }
        }
        guard vigil_landlock_restrict(ruleset) == 0 else { throw .errno(.landlock, "landlock_restrict_self") }
        return nil
    }
}
