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

    /// x32 syscalls arrive with the native architecture and this bit set in their number.
    static let x32Bit: Int32 = 0x4000_0000
    /// libseccomp's SCMP_ARCH_X32 and SCMP_ARCH_X86 (AUDIT_ARCH_I386): macros Swift does not import.
    static let archX32: UInt32 = 0x4000_003E
    static let archI386: UInt32 = 0x4000_0003

    /// For a call of another ABI than the native one: `"i386 getpid"`, `"x32 getpid"` (or
    /// `"<arch> syscall#N"`); nil for a native call.
    public static func foreignName(arch: UInt32, number: Int32) -> String? {
        let native = seccomp_arch_native()
        let (table, label): (UInt32, String)
        if arch == native, number & x32Bit != 0 {
            (table, label) = (archX32, "x32")
        } else if arch != native {
            (table, label) = (arch, arch == archI386 ? "i386" : "arch 0x\(String(arch, radix: 16))")
        } else {
            return nil
        }
        guard let pointer = seccomp_syscall_resolve_num_arch(table, number) else { return "\(label) syscall#\(number & ~x32Bit)" }
        defer { free(pointer) }
        return "\(label) \(String(cString: pointer))"
    }

    /// The number of `name` on this architecture, or nil when it has none.
    public static func number(of name: String) -> Int32? {
        let number = seccomp_syscall_resolve_name(name)
        return number == __NR_SCMP_ERROR ? nil : number
    }
}
