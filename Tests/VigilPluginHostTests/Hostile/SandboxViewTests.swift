import Foundation
import Testing
import VigilCore
@testable import VigilPluginHost

/// What a confined plugin sees of itself: run a Python plugin (`#!/usr/bin/env python3`) that
/// reports its identity, capabilities, environment and filesystem view.
@Suite(.serialized, .enabled(if: SandboxHarness.available && FileManager.default.fileExists(atPath: "/usr/bin/python3"),
                             "needs root, python3 and the vigil-sandbox binary"))
struct SandboxViewTests {
    struct Report: Decodable {
        var uid: UInt32
        var gid: UInt32
        var groups: [UInt32]
        var pid: Int
        var cwd: String
        var hostname: String
        var env: [String: String]
        var caps: [String: String]
        var no_new_privs: String
        var seccomp: String
        var root: [String]
        var dev: [String]
        var processes: [String]
    }

    func inspect(capabilities: [String] = [], environment: [String: String] = [:]) throws -> (Report, SandboxHarness.World) {
        let world = try SandboxHarness.World()
        let script = world.pluginDirectory.appendingPathComponent("inspect.py")
        try copyProgram(from: SandboxHarness.repository.appendingPathComponent("Tests/VigilPluginHostTests/Fixtures/hostile/inspect.py").path, to: script.path)
        chmod(script.path, 0o755)
        var request = world.request("unused")
        request.executable = script.path
        request.arguments = []
        request.capabilities = capabilities
        request.declaredEnvironment = environment
        setenv("VIGIL_TEST_SECRET", "leaked", 1)
        let outcome = try SandboxHarness.run(request, profile: world.profile(), stateDirectory: world.stateDirectory)
        #expect(outcome.exit == .exited(code: 0), "stderr of the plugin is on the test's stderr")
        #expect(outcome.breaches.isEmpty, "\(outcome.breaches)")
        return (try JSONDecoder().decode(Report.self, from: Data(outcome.output.utf8)), world)
    }

    @Test func aPythonPluginRunsUnprivilegedWithACleanEnvironment() throws {
        let (report, world) = try inspect(environment: ["WEBHOOK_URL": "http://example.test"])
        #expect(report.uid == world.uid && report.gid == 64_000 && report.groups.isEmpty)
        // Python itself adds LC_CTYPE=C.UTF-8 when started in the C locale (PEP 538); it is not inherited.
        #expect(report.env.filter { $0.key != "LC_CTYPE" } == ["PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", "TMPDIR": "/tmp",
                               "WEBHOOK_URL": "http://example.test"])
        #expect(report.caps["CapEff"] == "0000000000000000" && report.caps["CapPrm"] == "0000000000000000")
        #expect(report.caps["CapBnd"] == "0000000000000000" && report.caps["CapAmb"] == "0000000000000000")
        #expect(report.no_new_privs == "1" && report.seccomp == "2")
        // Pid 1 is its reaper: not dumpable (it never ran execve after setuid), so hidepid hides it.
        #expect(report.pid == 2 && report.processes == ["2"], "\(report.processes)")
        #expect(report.hostname == "hostile" && report.cwd == world.pluginDirectory.path)
        #expect(report.dev == ["fd", "null", "random", "stderr", "stdin", "stdout", "urandom", "zero"])
        #expect(!report.root.contains("home") && !report.root.contains("root") && !report.root.contains("var"))
    }

    @Test func declaredCapabilitiesAreAmbientAndNothingElse() throws {
        let (report, _) = try inspect(capabilities: ["CAP_NET_RAW"])
        let netRaw = String(format: "%016x", 1 << 13)
        #expect(report.caps["CapAmb"] == netRaw && report.caps["CapEff"] == netRaw && report.caps["CapBnd"] == netRaw)
    }
}
