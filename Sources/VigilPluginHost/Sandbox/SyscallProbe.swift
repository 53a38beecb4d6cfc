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
public final class SyscallProbe: @unchecked Sendable {
    public let pid: Int32
    private let procFD: Int32
    private let kmsgFD: Int32

    public init(pid: Int32) {
        self.pid = pid
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
            if let probed = Self.parseAudit(record, pid: pid) { found = probed }
        }
        return found
    }

    /// Parses one kmsg record of a seccomp kill (`type=1326`) for `pid`.
    static func parseAudit(_ record: String, pid: Int32) -> ProbedSyscall? {
        guard record.contains("type=1326") else { return nil }
        var fields: [Substring: Substring] = [:]
        for word in record.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
            let parts = word.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { fields[parts[0]] = parts[1] }
        }
        guard fields["pid"].flatMap({ Int32($0) }) == pid, let nr = fields["syscall"].flatMap({ Int32($0) }) else { return nil }
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
    public static func wait(pid: Int32, probe: SyscallProbe?) -> PluginExit? {
        var code: Int32 = 0
        var status: Int32 = 0
        guard vigil_waitid(pid, 1, 0, &code, &status) == 0 else { return nil }
        var syscall: ProbedSyscall?
        if code != CLD_EXITED, status == SIGSYS { syscall = probe?.killedSyscall() }
        guard vigil_waitid(pid, 0, 0, &code, &status) == 0 else { return nil }
        return code == CLD_EXITED ? .exited(code: status) : .killed(signal: status, syscall: syscall)
    }
}
