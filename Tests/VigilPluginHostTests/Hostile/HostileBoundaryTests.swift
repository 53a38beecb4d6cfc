import Foundation
import Testing
import VigilCore
@testable import VigilPluginHost

/// Issue 16's attacks around the filter (points 5–7), each run by the real `vigil-sandbox` as
/// root: the attempt must be stopped, and reported where the filter is what stops it.
@Suite(.serialized, .enabled(if: SandboxHarness.available, "needs root, cc and the vigil-sandbox binary"))
struct HostileBoundaryTests {
    let world: SandboxHarness.World
    init() throws { world = try SandboxHarness.World() }

    func run(_ attempt: String, _ argument: String? = nil, network: SandboxSpec.NetworkMode = .none,
             cgroup: PluginCgroup? = nil, edit: (inout SandboxRequest) -> Void = { _ in }) throws -> SandboxHarness.Outcome {
        var request = world.request(attempt, argument, network: network)
        edit(&request)
        return try SandboxHarness.run(request, profile: world.profile(), stateDirectory: world.stateDirectory, cgroup: cgroup)
    }

    // MARK: The filter (point 7)

    @Test func prctlOption22WithAHighBitIsDeniedAndReported() throws {
        let outcome = try run("prctl-seccomp-high")
        #expect(outcome.output.contains("prctl-seccomp-high blocked errno=\(EPERM)"), "\(outcome.output)")
        #expect(outcome.breaches.map(\.syscall) == ["prctl"])
        #expect(outcome.breaches.first?.arguments.first == 0x1_0000_0016)
    }

    @Test(arguments: [SandboxSpec.NetworkMode.none, .loopback, .outbound])
    func socketpairOfAFamilyTheModeDoesNotNeedIsDeniedAndReported(network: SandboxSpec.NetworkMode) throws {
        let outcome = try run("socketpair-inet", network: network)
        if network == .none {
            #expect(outcome.output.contains("socketpair-inet blocked errno=\(EPERM)"), "\(outcome.output)")
            #expect(outcome.breaches.map(\.syscall) == ["socketpair"])
        } else {
            // AF_INET is this mode's family: the kernel answers (it has no AF_INET pairs).
            #expect(outcome.output.contains("socketpair-inet blocked errno=\(EOPNOTSUPP)"), "\(outcome.output)")
            #expect(outcome.breaches.isEmpty)
        }
    }

    @Test(arguments: ["netlink-socket", "packet-socket"])
    func withHostNetworkNetlinkAndPacketSocketsAreDeniedAndReported(attempt: String) throws {
        let outcome = try run(attempt, network: .loopback)
        #expect(outcome.output.contains("\(attempt) blocked errno=\(EPERM)"), "\(outcome.output)")
        #expect(outcome.breaches.map(\.syscall) == ["socket"])
    }

    @Test func aForkedChildsBreachIsReportedForThePlugin() throws {
        let outcome = try run("child-breach")
        #expect(outcome.output.contains("status=\(EPERM)"), "\(outcome.output)")
        #expect(outcome.breaches.map(\.syscall) == ["unshare"])
        #expect(outcome.breaches.first?.plugin == "hostile")
    }

    @Test func anI386SyscallIsRecordedAndKillsThePlugin() throws {
        let outcome = try run("int80")
        #expect(outcome.output.isEmpty, "the attempt must not return: \(outcome.output)")
        #expect(outcome.exit == .killed(signal: SIGKILL, syscall: nil))
        #expect(outcome.breaches.map(\.syscall) == ["i386 getpid"])
        #expect(outcome.breaches.first?.outcome == .killed)
    }

    @Test func everyPluginLeadsItsOwnSessionAndProcessGroup() throws {
        let outcome = try run("session")
        // The session its reaper (pid 1 of its namespace) made: the plugin runs as pid 2 in it.
        #expect(outcome.output.contains("session sid=1 pgid=1 pid=2"), "\(outcome.output)")
    }

    @Test func procShowsOnlyThePluginsOwnProcesses() throws {
        let outcome = try run("proc-host")
        #expect(outcome.output.contains("proc-host blocked errno=\(ENOENT)"), "\(outcome.output)")
    }

    @Test func aMountBelowAReadPathIsReadOnlyToo() throws {
        let readable = world.root.appendingPathComponent("readable")
        let submount = readable.appendingPathComponent("sub")
        try FileManager.default.createDirectory(at: submount, withIntermediateDirectories: true)
        chmod(readable.path, 0o755)
        guard mount("vigil-test", submount.path, "tmpfs", 0, "mode=1777,size=1m") == 0 else {
            Issue.record("tmpfs for the test: errno \(errno)")
            return
        }
        defer { umount2(submount.path, Int32(MNT_DETACH)) }
        let target = submount.appendingPathComponent("evil").path
        let outcome = try run("write", target) { $0.readPaths = [readable.path] }
        #expect(outcome.output.contains("write blocked errno=\(EROFS)"), "\(outcome.output)")
        #expect(!FileManager.default.fileExists(atPath: target))
    }

    /// This machine's first non-loopback IPv4 address (the target stays on this machine).
    static func hostAddress() -> String? {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { return nil }
        defer { freeifaddrs(list) }
        var entry = list
        while let e = entry {
            defer { entry = e.pointee.ifa_next }
            guard let address = e.pointee.ifa_addr, address.pointee.sa_family == sa_family_t(AF_INET) else { continue }
            var sin = sockaddr_in()
            memcpy(&sin, address, MemoryLayout<sockaddr_in>.size)
            var text = [CChar](repeating: 0, count: 32)
            inet_ntop(AF_INET, &sin.sin_addr, &text, 32)
            let ip = String(cString: text)
            if !ip.hasPrefix("127.") { return ip }
        }
        return nil
    }

    @Test(arguments: ["tcp-to", "udp-to"])
    func withLoopbackNetworkANonLoopbackAddressIsUnreachable(attempt: String) throws {
        guard let address = Self.hostAddress() else { return }
        let listener = try AnyAddressListener()  // reachable on 127.0.0.1 and on the host's address
        let outcome = try run(attempt, "\(address):\(listener.port)", network: .loopback) { $0.tcpConnectPorts = [listener.port] }
        #expect(outcome.output.contains("\(attempt) blocked"), "\(outcome.output)")
        #expect(!outcome.output.contains("ESCAPED"))
        // The same plugin still reaches the host's loopback on the declared port.
        let loopback = try run("tcp-connect", "\(listener.port)", network: .loopback) { $0.tcpConnectPorts = [listener.port] }
        #expect(loopback.output.contains("tcp-connect ESCAPED"), "\(loopback.output)")
    }

    // MARK: Kernel limits (point 5)

    @Test func aTerabyteSparseFileInAWritePathIsRefused() throws {
        let outcome = try run("fsize", world.writableDirectory.appendingPathComponent("sparse").path)
        #expect(outcome.output.contains("fsize blocked errno=\(EFBIG)"), "\(outcome.output)")
    }

    /// Attack pass, issue 16: the plugin was pid 1 of its pid namespace, which ignores every
    /// signal it has no handler for, the kernel's SIGXFSZ included: it wrote past the limit, got
    /// EFBIG and ran on. Under its reaper (pid 1) the plugin is pid 2 and the signal ends it;
    /// the reaper passes that end on to the daemon.
    @Test func aWritePastTheFileSizeLimitEndsThePluginBySIGXFSZ() throws {
        let outcome = try run("fsize-signal", world.writableDirectory.appendingPathComponent("sparse").path)
        #expect(!outcome.output.contains("SURVIVED"), "\(outcome.output)")
        #expect(outcome.exit == .killed(signal: SIGXFSZ, syscall: nil), "\(String(describing: outcome.exit))")
        #expect(PluginEntry.cause(of: .killed(signal: SIGXFSZ, syscall: nil)).description.contains("file size limit"))
    }

    @Test func tmpHasAsManyInodesAsPagesNotHalfAMillion() throws {
        let outcome = try run("tmp-inodes")
        #expect(outcome.output.contains("tmp-inodes blocked errno=\(ENOSPC)"), "\(outcome.output)")
        let files = outcome.output.split(separator: "\n").first { $0.hasPrefix("files=") }.flatMap { Int($0.dropFirst(6)) }
        #expect((files ?? .max) <= 4096)
    }

    @Test func thePluginIsTheOOMKillersFirstChoice() throws {
        let outcome = try run("oom-score")
        #expect(outcome.output.contains("oom_score_adj=1000"), "\(outcome.output)")
    }

    @Test(.timeLimit(.minutes(2)))
    func childrenTogetherCannotHoldMoreThanTheRunsMemoryLimit() throws {
        guard let version = PluginCgroup.detect() else { return }
        let cgroup = try PluginCgroup.create(name: "hostile-memory.\(getpid())", limits: .init(memoryBytes: 128 << 20, processes: 64),
                                             version: version)
        defer { cgroup.remove() }
        // 8 children of 64 MiB: each far under RLIMIT_AS (256 MiB), together 4 × the limit.
        let outcome = try run("memory-children", "512", cgroup: cgroup)
        #expect(outcome.output.contains("memory-children blocked child killed by signal \(SIGKILL)"), "\(outcome.output)")
        #expect(cgroup.limitHit()?.hasPrefix("memory limit") == true)
    }

    /// A daemon killed with SIGKILL leaves its runs' cgroup folders; the next one removes those of
    /// daemons that are gone (never a live daemon's, never one that still holds a process).
    @Test func runCgroupsOfDaemonsThatAreGoneAreRemoved() throws {
        guard let version = PluginCgroup.detect() else { return }
        let limits = PluginCgroup.Limits(memoryBytes: 64 << 20, processes: 8)
        // pid_max is at most 4194304: this pid never exists.
        let stale = try PluginCgroup.create(name: "stale.99999999.1", limits: limits, version: version)
        let live = try PluginCgroup.create(name: "live.\(getpid()).1", limits: limits, version: version)
        defer { stale.remove(); live.remove() }
        #expect(PluginCgroup.removeStale() >= stale.paths.count)
        for path in stale.paths { #expect(!FileManager.default.fileExists(atPath: path), "\(path) removed") }
        for path in live.paths { #expect(FileManager.default.fileExists(atPath: path), "\(path) of a live daemon kept") }
    }

    @Test func aForkBombStopsAtTheRunsProcessLimit() throws {
        guard let version = PluginCgroup.detect() else { return }
        let cgroup = try PluginCgroup.create(name: "hostile-pids.\(getpid())", limits: .init(memoryBytes: 256 << 20, processes: 8),
                                             version: version)
        defer { cgroup.remove() }
        let outcome = try run("fork-bomb", cgroup: cgroup)
        #expect(outcome.output.contains("fork-bomb blocked errno=\(EAGAIN)"), "\(outcome.output)")
        let children = outcome.output.split(separator: "\n").first { $0.hasPrefix("children=") }.flatMap { Int($0.dropFirst(9)) }
        #expect((children ?? .max) < 8)  // RLIMIT_NPROC alone (16) would have let 15 through
        #expect(cgroup.limitHit()?.hasPrefix("process limit") == true)
    }

    @Test func allPluginsTogetherWeighAnEighthOfADefaultGroupForTheCPU() throws {
        guard let version = PluginCgroup.detect() else { return }
        let cgroup = try PluginCgroup.create(name: "hostile-weight.\(getpid())", limits: .init(memoryBytes: 64 << 20, processes: 8),
                                             version: version)
        defer { cgroup.remove() }
        let (run, file, expected) = switch version {
        case .v1: (cgroup.paths.first { $0.contains("/cpu/") }, "cpu.shares", "128")
        case .v2: (cgroup.paths.first, "cpu.weight", "12")
        }
        guard let run else { return }  // no cpu controller on this host
        let parent = URL(fileURLWithPath: run).deletingLastPathComponent().appendingPathComponent(file).path
        let weight = try String(contentsOfFile: parent, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(weight == expected)
    }

    @Test func aRunsCgroupIsRemovedAfterIt() throws {
        guard let version = PluginCgroup.detect() else { return }
        let cgroup = try PluginCgroup.create(name: "hostile-gone.\(getpid())", limits: .init(memoryBytes: 64 << 20, processes: 8),
                                             version: version)
        _ = try run("hello", cgroup: cgroup)
        cgroup.remove()
        #expect(cgroup.paths.allSatisfy { !FileManager.default.fileExists(atPath: $0) })
    }
}

/// Point 6's identities: the range, the accounts, and a uid never shared with a live process or daemon.
@Suite(.serialized, .enabled(if: SandboxHarness.isRoot, "needs root"))
struct UIDLeaseTests {
    @Test func theRangeIsOutsideSystemdsDynamicUserRange() {
        let dynamicUser: ClosedRange<UInt32> = 61_184...65_519
        #expect(!PluginUIDAllocator.defaultRange.overlaps(dynamicUser))
        #expect(PluginUIDAllocator.defaultRange.upperBound < 100_000)
    }

    @Test func groupsAreAccountsToo() {
        #expect(PluginUIDAllocator.groupIDs(group: "root:x:0:\nweb:x:71234:alice\n") == [0, 71_234])
        #expect(!UIDLease.acquire(0))
        #expect(!UIDLease.acquire(65_534))  // nobody / nogroup, through NSS
    }

    @Test(.timeLimit(.minutes(1)))
    func aLeftoverProcessUnderAFreeUIDIsKilledBeforeTheUIDIsHandedOut() throws {
        let uid: UInt32 = 79_000 + UInt32.random(in: 0..<900)
        let leftover = Process()
        leftover.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        leftover.arguments = ["--reuid=\(uid)", "--regid=\(uid)", "--clear-groups", "/bin/sleep", "300"]
        try leftover.run()
        defer { if leftover.isRunning { leftover.terminate() } }
        var waited = 0
        while UIDLease.processes(of: uid).isEmpty, waited < 500 { usleep(10_000); waited += 1 }
        #expect(!UIDLease.processes(of: uid).isEmpty)
        #expect(UIDLease.acquire(uid))
        leftover.waitUntilExit()
        #expect(UIDLease.processes(of: uid).isEmpty)
    }

    @Test(.timeLimit(.minutes(1)))
    func oneBatchLeasesEveryFreeUIDAndKillsTheLeftoversUnderEach() throws {
        let base: UInt32 = 77_000 + UInt32.random(in: 0..<400) * 2
        let uids = [base, base + 1]
        let leftovers = try uids.map { uid in
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            p.arguments = ["--reuid=\(uid)", "--regid=\(uid)", "--clear-groups", "/bin/sleep", "300"]
            try p.run()
            return p
        }
        defer { for p in leftovers where p.isRunning { p.terminate() } }
        var waited = 0
        while UIDLease.processTable(of: Set(uids)).count < 2, waited < 500 { usleep(10_000); waited += 1 }
        #expect(UIDLease.processTable(of: Set(uids)).count == 2)
        // 0 and an NSS account are never leased, whatever the batch holds.
        #expect(UIDLease.acquire(uids + [0, 65_534]) == Set(uids))
        for p in leftovers { p.waitUntilExit() }
        #expect(UIDLease.processTable(of: Set(uids)).isEmpty)
        #expect(uids.allSatisfy { UIDLease.acquire($0) })
    }

    @Test func theStatusUidLineIsReadAsRealAndEffective() {
        let status = Array("Name:\tsleep\nUmask:\t0022\nState:\tS\nUid:\t70001\t70002\t70003\t70004\nGid:\t5\t5\t5\t5\n".utf8)
        #expect(UIDLease.statusUIDs(status[...]) == [70_001, 70_002])
        #expect(UIDLease.statusUIDs(Array("Name:\tx\nUid:\t99999999999\t1\n".utf8)[...]) == [])
        #expect(UIDLease.statusUIDs(Array("Name:\tx\n".utf8)[...]) == [])
        #expect(UIDLease.processes(of: getuid()).contains(getpid()))
    }

    @Test func aUIDLeasedByAnotherDaemonIsNotHandedOut() throws {
        let uid: UInt32 = 78_000 + UInt32.random(in: 0..<900)
        mkdir("/run/vigil", 0o755)
        mkdir(UIDLease.directory, 0o700)
        // Another daemon: another open file description holding the uid's lease (flock locks
        // belong to the open file, not the process, so this stands for a second vigild).
        let other = open("\(UIDLease.directory)/\(uid).lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        #expect(other >= 0 && flock(other, LOCK_EX | LOCK_NB) == 0)
        defer { close(other) }
        #expect(!UIDLease.acquire(uid))
        let chosen = try PluginUIDAllocator.allocate(plugin: "p", recorded: ["p": uid], taken: [], usable: UIDLease.acquire)
        #expect(chosen != uid)
    }
}

/// A TCP listener on every address of the host (0.0.0.0, ephemeral port).
final class AnyAddressListener {
    let fd: Int32
    let port: UInt16
    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        self.fd = fd
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound, listen(fd, 4) == 0 else { throw SandboxLaunchError.system("listen", errno) }
        port = UInt16(bigEndian: address.sin_port)
    }
    deinit { close(fd) }
}
