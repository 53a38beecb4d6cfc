import Testing
import VigilCore

/// The binary form of `SandboxSpec` sent to the zygote: lossless, and strict about bad input.
@Suite struct SandboxSpecBinaryTests {
    /// Every field set away from its default, so that a field the binary form dropped shows.
    static let full = SandboxSpec(
        plugin: "disk-watch", executable: "/opt/plugins/disk-watch/bin/run", arguments: ["--interval", "5 s", ""],
        environment: ["PATH": "/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8", "ÉTÉ": "ünïcødé"],
        workingDirectory: "/opt/plugins/disk-watch", uid: 61_234, gid: 61_235,
        namespaces: .init(mount: true, pid: false, ipc: true, uts: false, net: true),
        limits: .init(memoryBytes: 256 << 20, cpuSeconds: nil, openFiles: 64, processes: 16),
        capabilities: ["CAP_NET_RAW", "CAP_DAC_READ_SEARCH"], network: .outbound, tcpConnectPorts: [443, 8443, 65535],
        seccomp: .init(allow: ["read", "write", "openat"], watch: ["ioctl"], kill: ["ptrace", "bpf"],
                       errno: ["clone3": 38, "io_uring_setup": -1], useNotify: false),
        filesystem: .init(pluginDirectory: "/opt/plugins/disk-watch", runtimePaths: ["/usr", "/lib64"],
                          readPaths: ["/var/log"], writePaths: ["/var/lib/disk-watch"],
                          executables: ["/opt/plugins/disk-watch/bin/run", "/lib64/ld-linux-x86-64.so.2"], tmpBytes: 1 << 20),
        landlock: false)

    static var fullWithGroups: SandboxSpec {
        var spec = full
        spec.groups = [4, 101]
        return spec
    }

    @Test func roundTripsEveryField() throws {
        #expect(try SandboxSpec(binary: Self.fullWithGroups.binaryEncoded()) == Self.fullWithGroups)
        #expect(try SandboxSpec(binary: Self.fullWithGroups.binaryEncoded()) != Self.full, "groups are carried")
        #expect(try SandboxSpec(binary: Self.full.binaryEncoded()) == Self.full)
        var other = Self.full
        other.network = .loopback
        other.limits = .init()
        other.namespaces = .init()
        other.seccomp.useNotify = true
        other.landlock = true
        #expect(try SandboxSpec(binary: other.binaryEncoded()) == other)
    }

    @Test func theEncodingIsDeterministic() {
        #expect(Self.full.binaryEncoded() == Self.full.binaryEncoded())
    }

    @Test func everyTruncationIsRefusedWithTheFieldItStoppedIn() {
        let bytes = Self.full.binaryEncoded()
        for length in [0, 3, 10, bytes.count / 2, bytes.count - 1] {
            #expect(throws: SandboxSpecDecodingError.self) { try SandboxSpec(binary: bytes.prefix(length)) }
        }
        #expect(throws: SandboxSpecDecodingError(field: "version", offset: 0, reason: "needs 4 bytes, 3 left")) {
            try SandboxSpec(binary: bytes.prefix(3))
        }
    }

    @Test func trailingBytesAreRefused() {
        #expect(throws: SandboxSpecDecodingError.self) { try SandboxSpec(binary: Self.full.binaryEncoded() + [0]) }
    }

    @Test func aCountLargerThanTheRestIsRefusedBeforeAllocating() {
        // version, then plugin as a string of 0xFFFFFFFF bytes.
        let bytes: [UInt8] = [1, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0x61]
        #expect(throws: SandboxSpecDecodingError(field: "plugin", offset: 8, reason: "needs 4294967295 bytes, 1 left")) {
            try SandboxSpec(binary: bytes)
        }
    }

    @Test func invalidUTF8AndUnknownCodesAreRefused() {
        var spec = Self.full
        spec.plugin = "p"
        var bytes = spec.binaryEncoded()
        bytes[8] = 0xFF  // the plugin's one byte
        #expect(throws: SandboxSpecDecodingError(field: "plugin", offset: 9, reason: "not UTF-8")) { try SandboxSpec(binary: bytes) }
    }
}
