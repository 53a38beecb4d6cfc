import CLibcap
import CSeccomp
import Testing

/// The system libraries link and answer: libseccomp knows this architecture, libcap reads our set.
@Suite struct SystemLibrarySmokeTests {
    @Test func libseccompResolvesSyscallsAndBuildsAFilter() throws {
        let version = try #require(seccomp_version())
        #expect(version.pointee.major >= 2)
        #expect(seccomp_syscall_resolve_name("openat") > 0)
        let ctx = try #require(seccomp_init(SCMP_ACT_ALLOW))
        defer { seccomp_release(ctx) }
        #expect(seccomp_rule_add_array(ctx, 0x0005_0000 | 1 /* SCMP_ACT_ERRNO(EPERM): a function-like macro Swift cannot import */, seccomp_syscall_resolve_name("ptrace"), 0, nil) == 0)
    }

    @Test func libcapReadsTheProcessCapabilities() throws {
        let caps = try #require(cap_get_proc())
        defer { cap_free(UnsafeMutableRawPointer(caps)) }
        let text = try #require(cap_to_text(caps, nil))
        defer { cap_free(UnsafeMutableRawPointer(text)) }
        #expect(!String(cString: text).isEmpty)
    }
}
