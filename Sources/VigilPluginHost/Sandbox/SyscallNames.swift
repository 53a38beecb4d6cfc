import CSeccomp
import Glibc

/// Syscall numbers and names of the native architecture, from libseccomp's tables.
public enum SyscallNames {
    /// The name of syscall `number` on this architecture, or `syscall#N` when libseccomp does not know it.
    public static func name(of number: Int32) -> String {
        guard let pointer = seccomp_syscall_resolve_num_arch(UInt32(SCMP_ARCH_NATIVE), number) else { return "syscall#\(number)" }
        defer { free(pointer) }
        return String(cString: pointer)
    }

    /// The number of `name` on this architecture, or nil when it has none.
    public static func number(of name: String) -> Int32? {
        let number = seccomp_syscall_resolve_name(name)
        return number == __NR_SCMP_ERROR ? nil : number
    }
}
