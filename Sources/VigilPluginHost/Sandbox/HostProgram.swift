import CVigilSys
import Foundation

/// Runs a host program (`mkfs.ext4`, `rm`) to its end and says how it ended: `posix_spawn`
/// (the daemon never forks) and `waitpid` on exactly that pid (Foundation's `Process` waits
/// through a SIGCHLD machinery that hung inside vigild, whose threads reap plugins with waitid).
/// Blocking: call it from a thread that may block.
enum HostProgram {
    struct Outcome: Sendable, Equatable {
        /// The exit status, or nil when a signal ended it.
        var status: Int32?
        /// Its standard error, at most ``errorCapacity`` bytes of it.
        var errorText: String
        var succeeded: Bool { status == 0 }
    }

    /// The most standard error kept (the rest is read and dropped, so the program never blocks on a full pipe).
    static let errorCapacity = 4096

    /// Runs `path` with `arguments`, an empty environment, `/dev/null` as stdin and stdout.
    static func run(_ path: String, _ arguments: [String]) throws(SandboxLaunchError) -> Outcome {
        var pipe: [Int32] = [-1, -1]
        guard vigil_pipe_cloexec(&pipe) == 0 else { throw .system("pipe", errno) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, pipe[1], 2)
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
        close(pipe[1])
        guard rc == 0 else {
            close(pipe[0])
            throw .system("posix_spawn \(path)", rc)
        }
        var kept: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1024)
        while true {
            let n = read(pipe[0], &buffer, buffer.count)
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { break }
            kept += buffer.prefix(min(n, max(0, errorCapacity - kept.count)))
        }
        close(pipe[0])
        var status: Int32 = 0
        var waited: pid_t
        repeat { waited = waitpid(pid, &status, 0) } while waited < 0 && errno == EINTR
        guard waited == pid else { throw .system("waitpid \(path)", errno) }
        // WIFEXITED / WEXITSTATUS (macros Swift does not import).
        let exited = status & 0x7f == 0
        let text = String(decoding: kept, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return Outcome(status: exited ? (status >> 8) & 0xff : nil, errorText: text)
    }
}
