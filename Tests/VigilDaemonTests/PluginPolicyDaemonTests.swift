import Foundation
import Testing
import VigilCore
import VigilTestSupport

/// Issue 16, point 8, against the real `vigild` and `vigil`: a manifest asking beyond the
/// operator policy is not started and says why; a plugin writes only its own data folder.
@Suite(.serialized, .enabled(if: isRoot, "needs root to sandbox plugins (CI runs as root)"))
struct PluginPolicyDaemonTests {
    static func json(_ args: [String], _ daemon: DaemonProcess) throws -> JSONValue {
        let r = try vigil(args + ["--json"], stateDirectory: daemon.stateDirectory)
        guard r.status == 0 else { throw DaemonTestError("vigil \(args.joined(separator: " ")): \(r.err)") }
        return try JSONDecoder().decode(JSONValue.self, from: Data(r.out.utf8))
    }

    /// A plugin folder: `webhook` (a folder another plugin aims at), `thief` (asks for a write
    /// path in it and more), `keeper` (writes a file into its data folder).
    static func plugins() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-policy-\(UUID().uuidString.prefix(8))").path
        let sdk = repositoryRoot + "/Plugins/sdk/python"
        let keeper = dir + "/keeper.py"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try """
            #!/usr/bin/env python3
            import os, sys
            sys.path.insert(0, os.environ["VIGIL_SDK"])
            import vigil_plugin
            plugin = vigil_plugin.Plugin("keeper", "1")
            def run(vigil):
                with open(os.path.join(vigil.data_dir, "kept"), "w") as f:
                    f.write(str(os.getuid()))
                while not vigil.stopping.is_set():
                    vigil.sleep(1)
            plugin.run_detector(run)
            """.write(toFile: keeper, atomically: true, encoding: .utf8)
        try installPlugin(at: dir + "/webhook", manifest: """
            name: webhook
            kind: notifier
            exec: webhook.py
            protocol: 1
            """, copy: [:])
        try installPlugin(at: dir + "/thief", manifest: """
            name: thief
            kind: detector
            exec: keeper.py
            protocol: 1
            sandbox:
              capabilities: [CAP_SYS_ADMIN]
              syscalls: { allow: [unshare, io_uring_setup] }
              write_paths: [../webhook/json]
              limits: { memory: 64 GiB }
            """, copy: [keeper: "keeper.py"])
        try installPlugin(at: dir + "/keeper", manifest: """
            name: keeper
            kind: detector
            exec: keeper.py
            protocol: 1
            sandbox: { read_paths: [\(sdk)], env: { VIGIL_SDK: \(sdk) } }
            """, copy: [keeper: "keeper.py"])
        // Issue 16's attack pass: every name, on the never-dropped lane, and the seed's own signals.
        try installPlugin(at: dir + "/shouter", manifest: """
            name: shouter
            kind: detector
            exec: keeper.py
            protocol: 1
            emits: [{name: "*", lane: security}, authentication_failures, configuration_tampering_detected, cpu_*, own_metric]
            sandbox: { read_paths: [\(sdk)], env: { VIGIL_SDK: \(sdk) } }
            """, copy: [keeper: "keeper.py"])
        // Allowed by the policy as written (the SDK beside the plugins), but a symlink on disk.
        try FileManager.default.createSymbolicLink(atPath: dir + "/sdk", withDestinationPath: repositoryRoot + "/Plugins/sdk")
        try installPlugin(at: dir + "/linker", manifest: """
            name: linker
            kind: detector
            exec: keeper.py
            protocol: 1
            sandbox: { read_paths: [../sdk/python] }
            """, copy: [keeper: "keeper.py"])
        chmod(dir, 0o755)
        return dir
    }

    @Test(.timeLimit(.minutes(2)))
    func aManifestBeyondThePolicyIsRefusedAndShownAndTheOthersGetTheirDataFolder() throws {
        let plugins = try Self.plugins()
        defer { try? FileManager.default.removeItem(atPath: plugins) }
        let daemon = try DaemonProcess(config: try isolatedConfig(pluginDirectories: [plugins]))
        defer { daemon.stop() }

        let thief = try Self.json(["plugins", "show", "thief"], daemon)
        #expect(thief["state"]?.stringValue == "refused", "\(thief)")
        let fields = (thief["policy_violations"]?.arrayValue ?? []).compactMap { $0["field"]?.stringValue }
        #expect(fields == ["sandbox.capabilities", "sandbox.syscalls.allow", "sandbox.syscalls.allow",
                           "sandbox.write_paths", "sandbox.limits.memory", "sandbox.write_paths"], "\(thief)")
        #expect(thief["cause"]?.stringValue?.contains("sandbox.write_paths asks for \(plugins)/webhook/json") == true)
        #expect(!FileManager.default.fileExists(atPath: plugins + "/webhook/json"), "nothing is made for a refused plugin")
        let enable = try vigil(["plugins", "enable", "thief"], stateDirectory: daemon.stateDirectory)
        #expect(enable.status != 0 && enable.err.contains("refused by the plugin policy"), "\(enable)")

        // Admitted by the policy, refused at start: its path goes through a symlink.
        #expect(try eventually {
            try Self.json(["plugins", "show", "linker"], daemon)["cause"]?.stringValue?
                .contains("sandbox.read_paths \(plugins)/sdk/python goes through a symlink (\(plugins)/sdk)") == true
        }, "\(daemon.log)")
        #expect(try Self.json(["plugins", "show", "linker"], daemon)["pid"] == nil)

        // A detector declaring the security lane or the rules' names without a grant never starts.
        let shouter = try Self.json(["plugins", "show", "shouter"], daemon)
        #expect(shouter["state"]?.stringValue == "refused", "\(shouter)")
        let emits = (shouter["policy_violations"]?.arrayValue ?? []).filter { $0["field"]?.stringValue == "emits" }
        #expect(emits.compactMap { $0["asked"]?.stringValue }
            == ["* (lane security)", "authentication_failures", "configuration_tampering_detected", "cpu_*"], "\(shouter)")
        #expect(shouter["pid"] == nil)

        let kept = daemon.stateDirectory + "/plugins/keeper/data/kept"
        #expect(try eventually { FileManager.default.fileExists(atPath: kept) }, "\(daemon.log)")
        let keeper = try Self.json(["plugins", "show", "keeper"], daemon)
        let uid = try #require(keeper["uid"]?.doubleValue)
        #expect(try String(contentsOfFile: kept, encoding: .utf8) == "\(Int(uid))")
        var st = stat()
        #expect(lstat(daemon.stateDirectory + "/plugins/keeper/data", &st) == 0 && st.st_uid == UInt32(uid) && st.st_mode & 0o777 == 0o700)
        guard Self.loopDevices else { return }
        // Its data folder is an image of its own, mounted while the daemon runs and let go when it stops.
        #expect(keeper["data_folder"]?.stringValue == "ext4 image of 64 MiB, at most 16384 files", "\(keeper)")
        #expect(keeper["data_warning"] == nil)
        #expect(Self.isMountPoint(daemon.stateDirectory + "/plugins/keeper/data"))
        daemon.stop()
        #expect(!Self.isMountPoint(daemon.stateDirectory + "/plugins/keeper/data"), "unmounted when vigild stops")
    }

    static let loopDevices = FileManager.default.fileExists(atPath: "/dev/loop-control")
        && FileManager.default.isExecutableFile(atPath: "/usr/sbin/mkfs.ext4")

    static func isMountPoint(_ path: String) -> Bool {
        var inside = stat(), outside = stat()
        return lstat(path, &inside) == 0 && lstat(path + "/..", &outside) == 0 && inside.st_dev != outside.st_dev
    }

    @Test(.timeLimit(.minutes(2)), .enabled(if: loopDevices, "needs loop devices and mkfs.ext4"))
    func aPluginThatFailsWithItsDataFolderFullFailsOverThatLimit() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-filler-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try """
            #!/usr/bin/env python3
            import os, sys
            folder = os.environ["VIGIL_DATA_DIR"]
            try:
                for i in range(10000):
                    with open(os.path.join(folder, "f%d" % i), "wb") as f:
                        f.write(b"x" * 1048576)
            except OSError:
                sys.exit(1)
            """.write(toFile: dir + "/filler.py", atomically: true, encoding: .utf8)
        try installPlugin(at: dir + "/filler", manifest: """
            name: filler
            kind: detector
            exec: filler.py
            protocol: 1
            sandbox: { limits: { data: 4 MiB } }
            """, copy: [dir + "/filler.py": "filler.py"])
        chmod(dir, 0o755)
        let daemon = try DaemonProcess(config: try isolatedConfig(pluginDirectories: [dir]))
        defer { daemon.stop() }
        #expect(try eventually {
            let filler = try Self.json(["plugins", "show", "filler"], daemon)
            return (filler["failures_by_cause"]?["rlimit"]?.doubleValue ?? 0) >= 1
        }, "\(daemon.log)")
        #expect(daemon.log.contains("plugin data folder full"), "\(daemon.log)")
        // The daemon is unaffected and answers.
        #expect(try Self.json(["plugins", "show", "filler"], daemon)["data_folder"]?.stringValue == "ext4 image of 4 MiB, at most 1024 files")
        // Attack pass, issue 16: the folder is kept, so the next run starts with it full; that
        // run's failure is its own (exit 1 at its first write), not put down to the folder again.
        #expect(try eventually {
            let filler = try Self.json(["plugins", "show", "filler"], daemon)
            return (filler["failures_by_cause"]?["exit"]?.doubleValue ?? 0) >= 1
        }, "\(daemon.log)")
        #expect(try Self.json(["plugins", "show", "filler"], daemon)["failures_by_cause"]?["rlimit"]?.doubleValue == 1)
    }

    /// The shipped configuration, its bundled plugins and nothing else: the policy (the `emits`
    /// grants included) refuses none of them, and each runs (system-metrics once `make build`
    /// has put its program in place).
    @Test(.timeLimit(.minutes(2)))
    func theDefaultConfigurationRefusesNoBundledPlugin() throws {
        let daemon = try DaemonProcess()
        defer { daemon.stop() }
        let built = FileManager.default.isExecutableFile(atPath: repositoryRoot + "/Plugins/system-metrics/bin/system-metrics")
        for name in ["system-metrics", "webhook", "network-containment", "storage-containment", "scale-hook"] {
            var view: JSONValue?
            let running = try eventually {
                view = try Self.json(["plugins", "show", name], daemon)
                return view?["state"]?.stringValue == "running"
            }
            #expect(view?["state"]?.stringValue != "refused", "\(name): \(String(describing: view))")
            #expect((view?["policy_violations"]?.arrayValue ?? []).isEmpty, "\(name): \(String(describing: view))")
            if name != "system-metrics" || built { #expect(running, "\(name): \(String(describing: view))") }
        }
    }

    /// A detector declares a name no rule listens for (so no grant is needed) and runs; a reload
    /// adds a rule on that name: the plugin may no longer declare it, and is quarantined at once
    /// instead of raising the new rule's incidents until its next start.
    @Test(.timeLimit(.minutes(2)))
    func aReloadThatPutsARunningPluginsEmitsBeyondItsGrantQuarantinesIt() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-late-\(UUID().uuidString.prefix(8))").path
        let plugins = root + "/plugins"
        try FileManager.default.createDirectory(atPath: plugins, withIntermediateDirectories: true)
        chmod(root, 0o755)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let sdk = repositoryRoot + "/Plugins/sdk/python"
        try installPlugin(at: plugins + "/late", manifest: """
            name: late
            kind: detector
            emits: [authish_failures]
            exec: behave.py
            args: [detector, late]
            protocol: 1
            sandbox: { read_paths: [\(sdk)], env: { VIGIL_SDK: \(sdk) } }
            """, copy: [repositoryRoot + "/Tests/VigilPluginHostTests/Fixtures/python/behave.py": "behave.py"])
        let config = try isolatedConfig(pluginDirectories: [plugins])
        let daemon = try DaemonProcess(config: config)
        defer { daemon.stop() }
        #expect(try eventually { try Self.json(["plugins", "show", "late"], daemon)["state"]?.stringValue == "running" },
                "\(daemon.log)")

        try """
            rules:
              - id: late.authish
                rule: authish_failures
                incident_type: Authentication failure
                severity: Critical
                description: a rule added while the plugin runs
            """.write(toFile: root + "/late-rules.yaml", atomically: true, encoding: .utf8)
        let text = try String(contentsOfFile: config, encoding: .utf8)
        let anchor = "operator-rules.yaml]"
        try #require(text.contains(anchor))
        try text.replacingOccurrences(of: anchor, with: "operator-rules.yaml, \(root)/late-rules.yaml]")
            .write(toFile: config, atomically: true, encoding: .utf8)
        daemon.signal(SIGHUP)
        #expect(daemon.waitForLog("configuration reloaded"), "\(daemon.log)")
        var view: JSONValue?
        #expect(try eventually {
            view = try Self.json(["plugins", "show", "late"], daemon)
            return view?["state"]?.stringValue == "quarantined"
        }, "\(String(describing: view))\n\(daemon.log)")
        #expect(view?["cause"]?.stringValue?.contains("the reloaded rules put its emits beyond its grant") == true,
                "\(String(describing: view))")
        #expect(try vigil(["status"], stateDirectory: daemon.stateDirectory).status == 0)
    }

    @Test func pluginsCheckListsWhatAManifestAsksBeyondThePolicy() throws {
        let plugins = try Self.plugins()
        defer { try? FileManager.default.removeItem(atPath: plugins) }
        let r = try runVigil(["plugins", "check", plugins + "/thief", plugins + "/webhook", plugins + "/linker",
                              "--config", try isolatedConfig(pluginDirectories: [plugins]), "--profiles", repositoryRoot + "/Sandbox"])
        #expect(r.status == 1)
        #expect(r.out.contains("\(plugins)/thief: refused (thief): it asks beyond the plugin policy"), "\(r.out)")
        let rows = r.out.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
        for (field, asked) in [("sandbox.capabilities", "CAP_SYS_ADMIN"), ("sandbox.syscalls.allow", "unshare"),
                               ("sandbox.syscalls.allow", "io_uring_setup"), ("sandbox.write_paths", "\(plugins)/webhook/json"),
                               ("sandbox.limits.memory", "64")] {
            #expect(rows.contains { $0.count > 2 && $0[0] == field && $0[1] == asked }, "\(field) \(asked) in \(r.out)")
        }
        #expect(r.out.contains("another plugin's folder"), "\(r.out)")
        #expect(rows.contains { $0.count > 2 && $0[0] == "sandbox.read_paths" && $0[1] == "\(plugins)/sdk/python"
            && $0.joined(separator: " ").contains("goes through a symlink") }, "\(r.out)")
        #expect(r.err.contains("2 of 3 plugin(s) refused"), "\(r.err)")

        let shouter = try runVigil(["plugins", "check", plugins + "/shouter", "--config", try isolatedConfig(pluginDirectories: [plugins]),
                                    "--profiles", repositoryRoot + "/Sandbox"])
        #expect(shouter.status == 1)
        let shouted = shouter.out.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
        for asked in [["*", "(lane", "security)"], ["authentication_failures"], ["configuration_tampering_detected"], ["cpu_*"]] {
            #expect(shouted.contains { $0.count > asked.count && $0[0] == "emits" && Array($0[1...asked.count]) == asked },
                    "emits \(asked) in \(shouter.out)")
        }
        #expect(!shouted.contains { $0.count > 1 && $0[0] == "emits" && $0[1] == "own_metric" }, "\(shouter.out)")

        // Every bundled plugin, the examples too, passes the shipped policy (their grants name their emits).
        for folder in ["/Plugins", "/Plugins/examples"] {
            let bundled = try runVigil(["plugins", "check", repositoryRoot + folder, "--config", repositoryRoot + "/Config/vigil.yaml",
                                        "--profiles", repositoryRoot + "/Sandbox"])
            #expect(bundled.status == 0, "\(bundled.out)\(bundled.err)")
        }
    }
}
