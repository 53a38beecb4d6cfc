import Foundation
import Testing
import VigilBus
import VigilCore
@testable import VigilPluginHost

/// The bundled plugins and the documentation's example plugins, run for real under the host.
@Suite(.serialized, .enabled(if: SandboxHarness.available, "needs root, cc and the vigil-sandbox binary"))
struct BundledPluginTests {
    static let repo = SandboxHarness.repository.path

    @Test func systemMetricsReportsTheSeedsHostMetrics() async throws {
        let world = try PluginWorld()
        let program = try #require(PluginWorld.product("vigil-system-metrics"), "build vigil-system-metrics first")
        let manifest = try world.folder("system-metrics", program: program, manifest: """
            name: system-metrics
            emits: [cpu_usage, memory_usage, disk_space, network_latency]
            kind: detector
            exec: bin/system-metrics
            protocol: 1
            sandbox: { network: outbound, ports: [1], limits: { memory: 512 MiB, processes: 8, open_files: 64 } }
            config: { interval_seconds: 0.2, disks: [/usr], latency_targets: ["127.0.0.1:1"], probe_timeout_ms: 500 }
            """)
        await world.start([manifest])
        var seen: [(name: String, value: Double, lane: Lane, labels: [String: String], source: String)] = []
        let all = await world.eventually {
            seen += world.drained()
            let names = Set(seen.map(\.name))
            return names.isSuperset(of: ["cpu_usage", "memory_usage", "disk_space", "network_latency"])
        }
        #expect(all)
        for name in ["cpu_usage", "memory_usage", "disk_space"] {
            #expect(seen.filter { $0.name == name }.allSatisfy { (0...100).contains($0.value) }, "\(name) is a percentage")
        }
        #expect(seen.first { $0.name == "disk_space" }?.labels["path"] == "/usr")
        // Port 1 on loopback refuses at once: the probe measured a round trip, not the timeout.
        #expect(seen.first { $0.name == "network_latency" }.map { $0.value < 500 } == true)
        await world.stop()
    }

    @Test func theSwiftExampleRaisesTamperingWhenAWatchedFileChanges() async throws {
        let world = try PluginWorld()
        let program = try #require(PluginWorld.product("vigil-config-watch"), "build vigil-config-watch first")
        let watched = world.root.appendingPathComponent("watched.conf")
        try "port 22\n".write(to: watched, atomically: false, encoding: .utf8)
        chmod(watched.path, 0o644)
        let manifest = try world.folder("config-watch", program: program, manifest: """
            name: config-watch
            emits: [configuration_tampering_detected, watched_files]
            kind: detector
            exec: bin/config-watch
            protocol: 1
            sandbox: { read_paths: [\(watched.path)] }
            config: { files: [\(watched.path)], interval_seconds: 0.1 }
            """)
        await world.start([manifest])
        #expect(await world.eventually { world.drained().contains { $0.name == "watched_files" && $0.value == 1 } })
        let handle = try FileHandle(forWritingTo: watched)
        handle.seekToEndOfFile()
        handle.write(Data("PermitRootLogin yes\n".utf8))
        try handle.close()
        var tampering: (name: String, value: Double, lane: Lane, labels: [String: String], source: String)?
        #expect(await world.eventually {
            tampering = world.drained().first { $0.name == "configuration_tampering_detected" }
            return tampering != nil
        })
        #expect(tampering?.lane == .security)
        #expect(tampering?.labels["path"] == watched.path)
        await world.stop()
    }

    @Test func thePythonExampleCountsFailedLogins() async throws {
        let world = try PluginWorld()
        let log = world.root.appendingPathComponent("auth.log")
        try "Nov 25 03:00:00 host sshd[1]: Accepted publickey for ops\n".write(to: log, atomically: false, encoding: .utf8)
        chmod(log.path, 0o644)
        let example = "\(Self.repo)/Plugins/examples/python-detector"
        let manifest = try world.folder("auth-watch", program: nil, manifest: """
            name: auth-watch
            emits: [authentication_failures, auth_log_lines_read]
            kind: detector
            exec: auth_watch.py
            protocol: 1
            sandbox: { read_paths: [\(Self.repo)/Plugins/sdk/python, \(log.path)] }
            config: { log: \(log.path), interval_seconds: 0.1 }
            """, files: ["auth_watch.py": try String(contentsOfFile: "\(example)/auth_watch.py", encoding: .utf8)
                .replacingOccurrences(of: "os.path.join(os.path.dirname(os.path.abspath(__file__)), \"..\", \"..\", \"sdk\", \"python\")",
                                      with: "\"\(Self.repo)/Plugins/sdk/python\"")])
        await world.start([manifest])
        #expect(await world.eventually { world.drained().contains { $0.name == "auth_log_lines_read" } })
        let handle = try FileHandle(forWritingTo: log)
        handle.seekToEndOfFile()
        for i in 0..<21 { handle.write(Data("Nov 25 03:00:\(10 + i) host sshd[9\(i)]: Failed password for root from 203.0.113.9\n".utf8)) }
        try handle.close()
        var failures: [(name: String, value: Double, lane: Lane, labels: [String: String], source: String)] = []
        #expect(await world.eventually {
            failures += world.drained().filter { $0.name == "authentication_failures" }
            return failures.count >= 21
        })
        #expect(failures.count == 21)
        #expect(failures.allSatisfy { $0.lane == .security && $0.labels["service"] == "sshd" })
        await world.stop()
    }

    @Test func aBreachingPluginIsQuarantinedAndTheBreachIsOnTheSecurityLane() async throws {
        let world = try PluginWorld()
        let hostile = try SandboxHarness.World()
        let manifest = try world.folder("hostile", program: hostile.hostile, manifest: """
            name: hostile
            kind: detector
            exec: bin/hostile
            args: [tcp-socket]
            protocol: 1
            """)
        await world.start([manifest])
        var breach: (name: String, value: Double, lane: Lane, labels: [String: String], source: String)?
        #expect(await world.eventually {
            breach = world.drained().first { $0.name == "plugin_isolation_breach_detected" }
            return breach != nil
        })
        #expect(breach?.lane == .security)
        #expect(breach?.labels["plugin"] == "hostile")
        #expect(breach?.labels["syscall"] == "socket")
        #expect(breach?.labels["outcome"] == "denied")
        #expect(await world.eventually { await world.host.status("hostile")?.state == .quarantined })
        let status = await world.host.status("hostile")
        #expect(status?.counters.breaches == 1)
        #expect(status?.lastCause == .breach(syscall: "socket"))
        await world.stop()
    }
}
