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
        // The same spawn as the launcher's: stdin and stdout /dev/null, the pipe as stderr, no
        // blocked signals, default dispositions, an empty environment.
        let pid: pid_t
        do {
            pid = try LauncherProcess.spawn(path, arguments: arguments, descriptors: [pipe[1]])
        } catch {
            close(pipe[0])
            close(pipe[1])
            throw error
        }
        close(pipe[1])
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
