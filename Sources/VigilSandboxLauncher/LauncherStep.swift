#if canImport(Glibc)
import Glibc
#endif

/// Every launcher step that can fail, with the exit code documented in `Docs/sandbox.md`.
public enum LauncherStep: Int32, Sendable, CaseIterable {
    case usage = 100
    case specUnreadable = 101
    case specInsecure = 102
    case specInvalid = 103
    case descriptors = 104
    case threads = 105
    case unshare = 106
    case clone = 107
    case sendPID = 108
    case handOff = 110
    case privateMounts = 111
    case rootTmpfs = 112
    case bindMount = 113
    case devices = 114
    case proc = 115
    case tmp = 116
    case pivotRoot = 117
    case hostname = 118
    case loopback = 119
    case rlimits = 120
    case setgroups = 121
    case setgid = 122
    case setuid = 123
    case capabilities = 124
    case ambient = 125
    case noNewPrivs = 126
    case landlock = 127
    case seccompBuild = 128
    case seccompLoad = 129
    case sendNotifyFD = 130
    case ack = 131
    case chdir = 132
    case execve = 133
    case session = 134
    case reaper = 135

    /// The exit status the launcher (or the plugin process before `execve`) ends with.
    public var exitCode: Int32 { rawValue }

    /// Short name used in the stderr line.
    public var label: String {
        switch self {
        case .usage: "usage"
        case .specUnreadable: "reading the spec"
        case .specInsecure: "spec permissions"
        case .specInvalid: "spec"
        case .descriptors: "fd 3/4"
        case .threads: "single thread"
        case .unshare: "unshare"
        case .clone: "clone"
        case .sendPID: "sending the plugin pid"
        case .handOff: "hand-off"
        case .privateMounts: "private mounts"
        case .rootTmpfs: "root tmpfs"
        case .bindMount: "bind mount"
        case .devices: "/dev"
        case .proc: "/proc"
        case .tmp: "/tmp"
        case .pivotRoot: "pivot_root"
        case .hostname: "hostname"
        case .loopback: "loopback"
        case .rlimits: "setrlimit"
        case .setgroups: "setgroups"
        case .setgid: "setgid"
        case .setuid: "setuid"
        case .capabilities: "capabilities"
        case .ambient: "ambient capabilities"
        case .noNewPrivs: "no_new_privs"
        case .landlock: "landlock"
        case .seccompBuild: "seccomp filter"
        case .seccompLoad: "seccomp load"
        case .sendNotifyFD: "sending the notify fd"
        case .ack: "waiting for the ack"
        case .chdir: "chdir"
        case .execve: "execve"
        case .session: "session"
        case .reaper: "reaper"
        }
    }
}

/// A failed step: which one and why, written as one stderr line before exiting with the step's code.
public struct LauncherFailure: Error, Sendable {
    public let step: LauncherStep
    public let detail: String

    public init(_ step: LauncherStep, _ detail: String) {
        self.step = step
        self.detail = detail
    }

    /// Fails with the current `errno` rendered after `what`.
    static func errno(_ step: LauncherStep, _ what: String) -> LauncherFailure {
        let code = Glibc.errno
        return LauncherFailure(step, "\(what): \(String(cString: strerror(code))) (errno \(code))")
    }
}

/// Writes one line to fd 2 without buffering (the process may `_exit` right after).
func writeStandardError(_ line: String) { writeLine(line, to: 2) }

/// Writes one line to `fd` without buffering.
func writeLine(_ line: String, to fd: Int32) {
    var bytes = Array(line.utf8)
    bytes.append(UInt8(ascii: "\n"))
    bytes.withUnsafeBytes { raw in
        var offset = 0
        while offset < raw.count {
            let n = write(fd, raw.baseAddress.map { $0 + offset }, raw.count - offset)
            if n <= 0 { return }
            offset += n
        }
    }
}
