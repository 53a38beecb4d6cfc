import CSeccomp
import CVigilSys
import Foundation

/// The syscall a plugin was killed in, as far as the kernel tells.
public struct ProbedSyscall: Sendable, Equatable {
    public var name: String
    public var number: Int32
    /// Where the name came from: `/proc/PID/syscall` or the kernel's seccomp audit record.
    public var source: String
}

/// Names the syscall of a plugin killed by `SIGSYS` (the hard-deny set is SCMP_ACT_KILL_PROCESS).
///
/// Open it as soon as the plugin's pid is known; call `killedSyscall()` after `waitid(WNOWAIT)`
/// reported `CLD_KILLED`/`SIGSYS` and before reaping. Measured on Linux 6.18: a zombie's
/// `/proc/PID/syscall` reads `-1` (its kernel stack is already released), so the probe falls back to
/// the seccomp audit record the kernel logs for every kill (`type=1326 … pid=PID … syscall=NR`),
/// read from `/dev/kmsg` positioned at spawn time. With auditd running, those records go to the
/// audit log instead and the syscall stays unnamed.
///
/// With a reaper (pid namespaces), the process killed is the plugin under it, whose host pid the
/// daemon never learns: an audit record also counts when it carries the plugin's own uid, which
/// no other live process has (`UIDLease`).
public final class SyscallProbe: @unchecked Sendable {
    public let pid: Int32
    public let uid: UInt32?
    private let procFD: Int32
    private let kmsgFD: Int32

    public init(pid: Int32, uid: UInt32? = nil) {
        self.pid = pid
        self.uid = uid
        procFD = open("/proc/\(pid)/syscall", O_RDONLY | O_CLOEXEC)
        let kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        if kmsg >= 0 { lseek(kmsg, 0, SEEK_END) }
        kmsgFD = kmsg
    }

    deinit {
        if procFD >= 0 { close(procFD) }
        if kmsgFD >= 0 { close(kmsgFD) }
    }

    /// The syscall the plugin died in, or nil when neither source names it.
    public func killedSyscall() -> ProbedSyscall? {
        fromProc() ?? fromAuditRecords()
    }

    private func fromProc() -> ProbedSyscall? {
        guard procFD >= 0 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 256)
        let n = pread(procFD, &buffer, buffer.count, 0)
        guard n > 0, let first = String(decoding: buffer[0..<n], as: UTF8.self).split(separator: " ").first,
              let number = Int32(first), number >= 0 else { return nil }
        return ProbedSyscall(name: SyscallNames.name(of: number), number: number, source: "/proc/\(pid)/syscall")
    }

    private func fromAuditRecords() -> ProbedSyscall? {
        guard kmsgFD >= 0 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 8192)
        var found: ProbedSyscall?
        while true {
            let n = read(kmsgFD, &buffer, buffer.count)
            if n < 0 { if errno == EPIPE { continue } else { break } }  // EPIPE: records overwritten; go on.
            if n == 0 { break }
            let record = String(decoding: buffer[0..<n], as: UTF8.self)
            if let probed = Self.parseAudit(record, pid: pid, uid: uid) { found = probed }
        }
        return found
    }

    /// Parses one kmsg record of a seccomp kill (`type=1326`) for `pid`.
    static func parseAudit(_ record: String, pid: Int32, uid: UInt32? = nil) -> ProbedSyscall? {
        guard record.contains("type=1326") else { return nil }
        var fields: [Substring: Substring] = [:]
        for word in record.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
            let parts = word.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { fields[parts[0]] = parts[1] }
        }
        let samePID = fields["pid"].flatMap({ Int32($0) }) == pid
        let sameUID = uid != nil && fields["uid"].flatMap({ UInt32($0) }) == uid
        guard samePID || sameUID, let nr = fields["syscall"].flatMap({ Int32($0) }) else { return nil }
        let arch = fields["arch"].flatMap { UInt32($0, radix: 16) } ?? 0
        // x32 calls carry bit 30 in the number on the x86-64 audit arch.
        var name = nr & 0x4000_0000 != 0 ? "x32 \(SyscallNames.name(of: nr & ~0x4000_0000))" : SyscallNames.name(of: nr)
        if arch != 0, arch != UInt32(AUDIT_ARCH_X86_64_VALUE), let foreign = seccomp_syscall_resolve_num_arch(arch, nr) {
            name = "\(String(cString: foreign)) (arch 0x\(String(arch, radix: 16)))"
            free(foreign)
        }
        return ProbedSyscall(name: name, number: nr, source: "seccomp audit record")
    }

    static let AUDIT_ARCH_X86_64_VALUE: UInt32 = 0xC000_003E
}

/// How a sandboxed plugin ended, with the cause the supervisor records.
public enum PluginExit: Sendable, Equatable {
    case exited(code: Int32)
    case killed(signal: Int32, syscall: ProbedSyscall?)

    /// A one-line cause for logs and `vigil plugins show`.
    public var cause: String {
        switch self {
        case .exited(let code): return "exited with status \(code)"
        case .killed(let signal, let syscall):
            if signal == SIGSYS { return "killed by SIGSYS in \(syscall?.name ?? "an unnamed syscall") (seccomp)" }
            if signal == SIGXCPU { return "killed by SIGXCPU (CPU time limit)" }
            return "killed by signal \(signal)"
        }
    }

    /// Waits for `pid` (a child of this process), naming the syscall of a SIGSYS kill before reaping.
    ///
    /// `reaperStatus`: the daemon's end of the run's notify socket when `pid` is the plugin's
    /// reaper (its pid namespace's pid 1, the plugin being pid 2): the reaper sends the plugin's
    /// raw wait status there before it exits, and that status is the plugin's end. A reaper that
    /// sent none (killed itself, by the daemon's SIGKILL) ended as `waitid` says. Closed here.
    public static func wait(pid: Int32, probe: SyscallProbe?, reaperStatus: Int32 = -1) -> PluginExit? {
        defer { if reaperStatus >= 0 { close(reaperStatus) } }
        var code: Int32 = 0
        var status: Int32 = 0
        guard vigil_waitid(pid, 1, 0, &code, &status) == 0 else { return nil }
        var reported: PluginExit?
        if code == CLD_EXITED, reaperStatus >= 0, let raw = Self.reaperReport(reaperStatus) {
            var signal: Int32 = 0
            let exitCode = vigil_decode_wait_status(raw, &signal)
            if exitCode >= 0 {
                reported = .exited(code: exitCode)
            } else if signal > 0 {
                reported = .killed(signal: signal, syscall: signal == SIGSYS ? probe?.killedSyscall() : nil)
            }
        }
        var syscall: ProbedSyscall?
        if reported == nil, code != CLD_EXITED, status == SIGSYS { syscall = probe?.killedSyscall() }
        guard vigil_waitid(pid, 0, 0, &code, &status) == 0 else { return nil }
        if let reported { return reported }
        return code == CLD_EXITED ? .exited(code: status) : .killed(signal: status, syscall: syscall)
    }

    /// The reaper's one message, `'X'` + the raw wait status (Int32 little-endian), if it sent one.
    static func reaperReport(_ socket: Int32) -> Int32? {
        var bytes = [UInt8](repeating: 0, count: 16)
        let n = recv(socket, &bytes, bytes.count, Int32(MSG_DONTWAIT))
        guard n == 5, bytes[0] == UInt8(ascii: "X") else { return nil }
        return Int32(bitPattern: UInt32(bytes[1]) | UInt32(bytes[2]) << 8 | UInt32(bytes[3]) << 16 | UInt32(bytes[4]) << 24)
    }
}
