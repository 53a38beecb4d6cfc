import Foundation
import Testing
import VigilCore
@testable import VigilPluginHost

/// The pure parts: profiles, uid allocation, syscall baselines, audit records.
@Suite struct SandboxProfileTests {
    static let sandbox = SandboxHarness.repository.appendingPathComponent("Sandbox")

    @Test(arguments: ["detector", "notifier", "action"])
    func shippedProfilesResolveToKnownSyscalls(kind: String) throws {
        let profile = try SandboxProfile.load(named: kind, from: Self.sandbox)
        #expect(profile.allow.contains("read") && profile.allow.contains("clone") && profile.allow.contains("sendmsg"))
        #expect(profile.kill.contains("ptrace") && profile.kill.contains("bpf") && profile.kill.contains("process_vm_readv"))
        #expect(!profile.allow.contains("seccomp") && !profile.allow.contains("unshare") && !profile.allow.contains("setuid"))
        #expect(profile.errno["clone3"] == ENOSYS)
        #expect(profile.watch.contains("ioctl"))
        #expect(profile.runtimePaths.contains("/usr"))
        for name in profile.allow + profile.watch + profile.kill { #expect(SyscallNames.number(of: name) != nil) }
    }

    func scratch(_ files: [String: String]) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("profile-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("groups"), withIntermediateDirectories: true)
        for (name, text) in files { try text.write(to: dir.appendingPathComponent(name), atomically: true, encoding: .utf8) }
        return dir
    }

    @Test func groupsNestAndErrorsSayWhere() throws {
        let dir = try scratch(["groups/a.group": "read write # comment\n@b\n", "groups/b.group": "close\n",
                               "ok.profile": "allow @a\nwatch ioctl\n",
                               "bad.profile": "allow read\nallow reed\n",
                               "loop.profile": "allow @c\n", "groups/c.group": "@c\n",
                               "seccomp.profile": "allow seccomp\n", "watchclone.profile": "watch clone\n"])
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(try SandboxProfile.load(named: "ok", from: dir).allow == ["read", "write", "close"])
        #expect(throws: InputError(SourceLocation(file: dir.appendingPathComponent("bad.profile").path, line: 2, column: 1),
                                   "unknown syscall \"reed\"")) { try SandboxProfile.load(named: "bad", from: dir) }
        #expect(throws: InputError.self) { try SandboxProfile.load(named: "loop", from: dir) }
        #expect(throws: InputError.self) { try SandboxProfile.load(named: "seccomp", from: dir) }
        #expect(throws: InputError.self) { try SandboxProfile.load(named: "watchclone", from: dir) }
    }

    @Test func theRequestBuildsACleanSpec() throws {
        let profile = try SandboxProfile.load(named: "detector", from: Self.sandbox)
        let request = SandboxRequest(plugin: "p", pluginDirectory: "/srv/p", executable: "/srv/p/run", arguments: ["-v"],
                                     declaredEnvironment: ["A": "1"], uid: 61_200, gid: 61_200, extraAllow: ["sched_setaffinity"])
        let spec = request.spec(profile: profile)
        #expect(spec.environment == ["A": "1", "PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", "TMPDIR": "/tmp"])
        #expect(spec.namespaces.net && spec.namespaces.pid && spec.namespaces.mount)
        #expect(spec.seccomp.allow.contains("sched_setaffinity"))
        #expect(spec.filesystem.executables.first == "/srv/p/run")
        let decoded = try JSONDecoder().decode(SandboxSpec.self, from: JSONEncoder().encode(spec))
        #expect(decoded == spec)
    }

    @Test func envShebangsResolveTheInterpreter() throws {
        let dir = try scratch(["run.py": "#!/usr/bin/env python3\nprint(1)\n"])
        defer { try? FileManager.default.removeItem(at: dir) }
        let chain = ExecutableChain.resolve(dir.appendingPathComponent("run.py").path)
        #expect(chain.contains("/usr/bin/env"))
        #expect(chain.contains("/usr/bin/python3") || !FileManager.default.fileExists(atPath: "/usr/bin/python3"))
    }
}

@Suite struct PluginUIDAllocatorTests {
    @Test func aPluginKeepsItsRecordedUID() throws {
        #expect(try PluginUIDAllocator.allocate(plugin: "a", recorded: ["a": 71_500], taken: []) == 71_500)
    }

    @Test func newPluginsGetStableDistinctFreeUIDs() throws {
        let range: ClosedRange<UInt32> = 61_184...61_187
        let first = try PluginUIDAllocator.allocate(plugin: "a", recorded: [:], taken: [], range: range)
        #expect(try PluginUIDAllocator.allocate(plugin: "a", recorded: [:], taken: [], range: range) == first)
        var recorded = ["a": first]
        for name in ["b", "c", "d"] {
            let uid = try PluginUIDAllocator.allocate(plugin: name, recorded: recorded, taken: [], range: range)
            #expect(range.contains(uid) && !recorded.values.contains(uid))
            recorded[name] = uid
        }
        #expect(throws: PluginUIDAllocator.Failure.rangeExhausted(range)) {
            try PluginUIDAllocator.allocate(plugin: "e", recorded: recorded, taken: [], range: range)
        }
    }

    @Test func accountsAndRootAreNeverHandedOut() throws {
        let taken = PluginUIDAllocator.accountIDs(passwd: "root:x:0:0::/root:/bin/sh\nsvc:x:61184:61184::/:/usr/sbin/nologin\n")
        #expect(taken == [0, 61_184])
        #expect(try PluginUIDAllocator.allocate(plugin: "x", recorded: [:], taken: taken, range: 61_184...61_185) == 61_185)
        #expect(throws: PluginUIDAllocator.Failure.invalidRange(0...10)) {
            try PluginUIDAllocator.allocate(plugin: "x", recorded: [:], taken: [], range: 0...10)
        }
    }
}

@Suite struct SyscallBaselineTests {
    func learned() -> SyscallBaseline {
        var baseline = SyscallBaseline(learningWindows: 3, rateRatio: 10, minimumSample: 30)
        for _ in 0..<2 { #expect(baseline.observe(["ioctl": 40, "chown": 10]) != .usual) }
        #expect(baseline.observe(["ioctl": 40, "chown": 10]) == .usual)
        return baseline
    }

    @Test func theSameMixIsUsual() {
        var baseline = learned()
        #expect(baseline.observe(["ioctl": 44, "chown": 9]) == .usual)
        #expect(baseline.observe([:]) == .usual)
    }

    @Test func aSyscallNeverSeenWhileLearningIsUnusual() {
        var baseline = learned()
        #expect(baseline.observe(["ioctl": 40, "fchown": 1]) == .unusual([.newSyscall(name: "fchown", count: 1)]))
    }

    @Test func aRateSpikeIsUnusual() {
        var baseline = learned()
        guard case .unusual(let findings) = baseline.observe(["ioctl": 4_000, "chown": 1_000]) else {
            Issue.record("expected unusual")
            return
        }
        #expect(findings.contains(.rateSpike(observed: 5_000, expectedMean: 50)))
    }

    @Test func aShiftedMixIsUnusualWithTheLargestContributor() {
        var baseline = learned()
        guard case .unusual(let findings) = baseline.observe(["ioctl": 5, "chown": 45]),
              case .distributionShift(let chi, let critical, let largest) = findings.first else {
            Issue.record("expected a distribution shift")
            return
        }
        #expect(chi > critical && largest == "chown")
        #expect(abs(SyscallBaseline.chiSquareCritical(degreesOfFreedom: 1, z: 3.09) - 10.83) < 0.6)
    }
}

@Suite struct SyscallProbeTests {
    @Test func auditRecordsOfASeccompKillNameTheSyscall() {
        let record = "5,345,15079177166,-;audit: type=1326 audit(1795554802.880:2): auid=4294967295 uid=61200 gid=61200 ses=4294967295 pid=30172 comm=\"probe\" exe=\"/x\" sig=31 arch=c000003e syscall=101 compat=0 ip=0x7f code=0x80000000"
        #expect(SyscallProbe.parseAudit(record, pid: 30172) == ProbedSyscall(name: "ptrace", number: 101, source: "seccomp audit record"))
        #expect(SyscallProbe.parseAudit(record, pid: 30173) == nil)
        let i386 = record.replacingOccurrences(of: "arch=c000003e syscall=101", with: "arch=40000003 syscall=26")
        #expect(SyscallProbe.parseAudit(i386, pid: 30172)?.name.hasPrefix("ptrace (arch 0x40000003)") == true)
    }

    /// Under a reaper the process killed is the plugin (pid 2 of its namespace), whose host pid
    /// the daemon never learns: its record is matched by the plugin's own uid. `auid` is not `uid`.
    @Test func underAReaperTheRecordIsMatchedByThePluginsUID() {
        let record = "5,345,15079177166,-;audit: type=1326 audit(1795554802.880:2): auid=61200 uid=70001 gid=70001 ses=4294967295 pid=30180 comm=\"probe\" exe=\"/x\" sig=31 arch=c000003e syscall=101 compat=0 ip=0x7f code=0x80000000"
        #expect(SyscallProbe.parseAudit(record, pid: 30172, uid: 70001)?.name == "ptrace")
        #expect(SyscallProbe.parseAudit(record, pid: 30172, uid: 61200) == nil)
        #expect(SyscallProbe.parseAudit(record, pid: 30172) == nil)
    }
}
