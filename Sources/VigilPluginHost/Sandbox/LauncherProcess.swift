import Foundation

/// `posix_spawn` of `vigil-sandbox` (and of the host programs ``HostProgram`` runs), the only way
/// the daemon starts a process.
enum LauncherProcess {
    /// Spawns `path` with `arguments`, `/dev/null` as fds 0 and 1, `descriptors[i]` as fd `2 + i`,
    /// an empty environment, no blocked signals and default dispositions. Returns its pid.
    static func spawn(_ path: String, arguments: [String], descriptors: [Int32]) throws(SandboxLaunchError) -> Int32 {
        // Move the sources above 9 first, so dup2 onto 2/3/4 cannot clobber one of them.
        let sources = descriptors.map { fcntl($0, F_DUPFD_CLOEXEC, 10) }
        defer { sources.forEach { if $0 >= 0 { close($0) } } }
        guard sources.allSatisfy({ $0 >= 0 }) else { throw .system("fcntl(F_DUPFD_CLOEXEC)", errno) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        for (offset, source) in sources.enumerated() {
            posix_spawn_file_actions_adddup2(&actions, source, Int32(2 + offset))
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
        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let envp: [UnsafeMutablePointer<CChar>?] = [nil]
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, &attributes, argv, envp)
        guard rc == 0 else { throw .system("posix_spawn \(path)", rc) }
        return pid
    }
}
