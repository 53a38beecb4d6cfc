import Foundation
import Testing
import VigilCore
import VigilDaemon
import VigilTestSupport

/// Issue 7 against the real daemon and real sandboxed action plugins, as root.
@Suite(.serialized, .enabled(if: isRoot, "needs root to sandbox plugins and create network namespaces (CI runs as root)"))
struct ContainmentDaemonTests {
    static func json(_ args: [String], _ daemon: DaemonProcess) throws -> JSONValue {
        let r = try vigil(args + ["--json"], stateDirectory: daemon.stateDirectory)
        guard r.status == 0 else { throw DaemonTestError("vigil \(args.joined(separator: " ")): \(r.err)") }
        return try JSONDecoder().decode(JSONValue.self, from: Data(r.out.utf8))
    }

    static func sh(_ command: String) throws -> (status: Int32, out: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", command]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// A folder with the bundled plugins named in `plugins` and the Python SDK they import.
    static func pluginFolder(_ plugins: [String]) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-actions-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for name in plugins + ["sdk"] {
            try FileManager.default.copyItem(atPath: repositoryRoot + "/Plugins/" + name, toPath: dir + "/" + name)
        }
        _ = try sh("chmod -R a+rX '\(dir)'")
        return dir
    }

    /// disable_external_connections really drops a new outbound connection, and its undo really
    /// restores it: the daemon runs in a network namespace of its own, joined by a veth pair to
    /// a second namespace with a TCP listener.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip")
                   && FileManager.default.isExecutableFile(atPath: "/usr/sbin/nft"), "needs iproute2 and nftables"))
    func nftablesBlocksAnOutboundConnectionAndTheUndoRestoresIt() throws {
        let tag = String(UUID().uuidString.prefix(4)).lowercased()
        let (nsA, nsB) = ("vigil-ca-\(tag)", "vigil-cb-\(tag)")
        let setup = """
            set -e
            ip netns add \(nsA); ip netns add \(nsB)
            ip link add vca\(tag) type veth peer name vcb\(tag)
            ip link set vca\(tag) netns \(nsA); ip link set vcb\(tag) netns \(nsB)
            ip -n \(nsA) addr add 10.77.0.1/24 dev vca\(tag); ip -n \(nsB) addr add 10.77.0.2/24 dev vcb\(tag)
            ip -n \(nsA) link set lo up; ip -n \(nsA) link set vca\(tag) up
            ip -n \(nsB) link set lo up; ip -n \(nsB) link set vcb\(tag) up
            """
        let made = try Self.sh(setup)
        // SIGKILL: a process started from the test inherits its blocked signals, so SIGTERM may never arrive.
        defer { _ = try? Self.sh("ip netns pids \(nsA) | xargs -r kill -9; ip netns pids \(nsB) | xargs -r kill -9; ip netns del \(nsA); ip netns del \(nsB)") }
        try #require(made.status == 0, "network namespaces: \(made.out)")
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        server.arguments = ["netns", "exec", nsB, "python3", "-c", """
            import socket
            s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("10.77.0.2", 7070)); s.listen(64)
            while True:
                c, _ = s.accept(); c.close()
            """]
        // Not the test's own output: a listener left behind must not hold `swift test` open.
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer { kill(server.processIdentifier, SIGKILL) }
        let connect = "ip netns exec \(nsA) python3 -c \"import socket; socket.create_connection(('10.77.0.2', 7070), timeout=1.5)\""
        #expect(try eventually(10) { try Self.sh(connect).status == 0 }, "the listener answers before containment")

        let plugins = try Self.pluginFolder(["network-containment"])
        defer { try? FileManager.default.removeItem(atPath: plugins) }
        let daemon = try DaemonProcess(config: try isolatedConfig(pluginDirectories: [plugins]),
                                       launcher: ["/usr/sbin/ip", "netns", "exec", nsA])
        defer { daemon.stop() }
        #expect(try eventually {
            try Self.json(["plugins", "show", "network-containment"], daemon)["state"]?.stringValue == "running"
        }, "\(daemon.log)")
        let incident = try Self.json(["incidents", "declare", "--title", "exfiltration suspected", "--severity", "P3"], daemon)
        let id = try #require(incident["id"]?.stringValue)

        let ran = try Self.json(["actions", "run", "disable_external_connections", "--incident", id], daemon)
        #expect(ran["state"]?.stringValue == "succeeded", "\(ran)")
        #expect(try Self.sh("ip netns exec \(nsA) nft list table inet vigil_containment").status == 0)
        let blocked = try Self.sh(connect)
        #expect(blocked.status != 0)
        #expect(blocked.out.contains("timed out"), "\(blocked.out)")

        let actionID = try #require(ran["id"]?.doubleValue)
        let undone = try Self.json(["actions", "undo", "\(Int(actionID))"], daemon)
        #expect(undone["state"]?.stringValue == "undone", "\(undone)")
        #expect(try Self.sh(connect).status == 0, "the undo restores outbound connections")
        #expect(try Self.sh("ip netns exec \(nsA) nft list table inet vigil_containment").status != 0)

        // A parameter given once reaches the plugin as one string, read as a one-address allow-list.
        let allowing = try Self.json(["actions", "run", "disable_external_connections", "--incident", id,
                                      "--param", "allow=10.77.0.2/32"], daemon)
        #expect(allowing["state"]?.stringValue == "succeeded", "\(allowing)")
        #expect(try Self.sh("ip netns exec \(nsA) nft list table inet vigil_containment").status == 0)
        #expect(try Self.sh(connect).status == 0, "the allowed address stays reachable under containment")
        let allowingID = try #require(allowing["id"]?.doubleValue)
        #expect(try Self.json(["actions", "undo", "\(Int(allowingID))"], daemon)["state"]?.stringValue == "undone")

        let timeline = try Self.json(["incidents", "timeline", id], daemon).arrayValue ?? []
        let messages = timeline.compactMap { $0["message"]?.stringValue }
        #expect(messages.contains { $0.hasPrefix("disable_external_connections succeeded: plugin:network-containment") })
        #expect(messages.contains { $0.hasPrefix("disable_external_connections undone by") })
    }

    /// An action plugin that tries something beyond its declared capability is stopped by its
    /// sandbox, and that becomes a breach incident like any other.
    @Test func anActionPluginOverreachingItsCapabilityIsABreachIncident() throws {
        let plugins = try Self.pluginFolder([])
        defer { try? FileManager.default.removeItem(atPath: plugins) }
        try installPlugin(at: plugins + "/overreach", manifest: """
            name: overreach
            kind: action
            exec: overreach.py
            protocol: 1
            sandbox:
              network: none
              capabilities: [CAP_NET_ADMIN]
              read_paths: [../sdk/python]
            config:
              actions: [tidy_up]
            """, copy: [repositoryRoot + "/Tests/VigilDaemonTests/Fixtures/overreach_action.py": "overreach.py"])
        let daemon = try DaemonProcess(config: try isolatedConfig(pluginDirectories: [plugins],
                                                                  grants: ["overreach: { capabilities: [CAP_NET_ADMIN] }"]))
        defer { daemon.stop() }
        #expect(try eventually {
            try Self.json(["plugins", "show", "overreach"], daemon)["state"]?.stringValue == "running"
        }, "\(daemon.log)")
        let incident = try Self.json(["incidents", "declare", "--title", "disk filling", "--severity", "P3"], daemon)
        let id = try #require(incident["id"]?.stringValue)
        let catalog = try Self.json(["actions", "catalog"], daemon).arrayValue ?? []
        #expect(catalog.contains { $0["action"]?.stringValue == "tidy_up" && $0["plugins"]?.arrayValue == [.string("overreach")] })

        let ran = try vigil(["actions", "run", "tidy_up", "--incident", id, "--json"], stateDirectory: daemon.stateDirectory)
        #expect(ran.status == 0, "\(ran.err)")
        var breach: JSONValue?
        #expect(try eventually {
            breach = try Self.json(["incidents", "list"], daemon).arrayValue?.first {
                $0["labels"]?["plugin"]?.stringValue == "overreach" && $0["containment_category"]?.stringValue == "security_breach"
            }
            return breach != nil
        }, "\(daemon.log)")
        #expect(breach?["severity"]?.stringValue == "P1")
        #expect(breach?["labels"]?["syscall"]?.stringValue == "mount")
        let plugin = try Self.json(["plugins", "show", "overreach"], daemon)
        #expect(plugin["state"]?.stringValue == "quarantined")
        #expect(plugin["breaches"]?.doubleValue == 1)
        // The mount never happened: the plugin saw the refusal (or was stopped before answering).
        let action = try Self.json(["actions", "list", "--incident", id], daemon).arrayValue?.first
        let detail = action?["detail"]?.stringValue ?? ""
        #expect(!detail.contains("mount returned 0"), "\(detail)")
        // The breach incident runs the security_breach containment on its own.
        let breachID = try #require(breach?["id"]?.stringValue)
        let contained = try eventually {
            let list = try Self.json(["actions", "list", "--incident", breachID], daemon).arrayValue ?? []
            return list.compactMap { $0["action"]?.stringValue } == ["isolate_affected_plugins", "disable_external_connections",
                                                                     "backup_current_state", "enable_enhanced_logging"]
                && list.first?["state"]?.stringValue == "succeeded"
        }
        #expect(contained, "\((try? Self.json(["actions", "list"], daemon)) ?? .null)")
    }
}

/// `vigil actions` and `vigil runbooks step --run` against the real daemon (no plugins needed).
@Suite(.serialized) struct ActionCommandTests {
    @Test func approveDenyAndRunARunbookActionStep() throws {
        let daemon = try DaemonProcess(config: try isolatedConfig())
        defer { daemon.stop() }
        let state = daemon.stateDirectory
        let declared = try ContainmentDaemonTests.json(["incidents", "declare", "--title", "pages corrupted",
                                                        "--type", "Data corruption"], daemon)
        let id = try #require(declared["id"]?.stringValue)
        var actions: [JSONValue] = []
        #expect(try eventually(20) {
            actions = try ContainmentDaemonTests.json(["actions", "list", "--incident", id], daemon).arrayValue ?? []
            return actions.count == 4 && actions[1]["state"]?.stringValue == "succeeded"
        }, "\(actions)")
        #expect(actions.compactMap { $0["state"]?.stringValue } == ["awaiting-approval", "succeeded", "awaiting-approval",
                                                                    "awaiting-approval"])
        let text = try vigil(["actions", "list", "--incident", id], stateDirectory: state)
        #expect(text.out.contains("data_corruption 1/4") && text.out.contains("awaiting-approval"))
        let first = Int(try #require(actions[0]["id"]?.doubleValue))
        let noReason = try vigil(["actions", "deny", "\(first)", "--reason", " "], stateDirectory: state)
        #expect(noReason.status != 0 && noReason.err.contains("say why"))
        let approved = try vigil(["actions", "approve", "\(first)", "--note", "go"], stateDirectory: state)
        #expect(approved.status == 0 && approved.out.contains("stop_write_operations  succeeded"), "\(approved.err)")
        let twice = try vigil(["actions", "approve", "\(first)"], stateDirectory: state)
        #expect(twice.status != 0 && twice.err.contains("not awaiting approval"))
        let unknown = try vigil(["actions", "run", "launch_missiles", "--incident", id], stateDirectory: state)
        #expect(unknown.status != 0 && unknown.err.contains("unknown action"))

        // Step 2 of the data-corruption runbook is backup_current_state: --run runs it and ticks it off.
        let step = try vigil(["runbooks", "step", id, "2", "--run"], stateDirectory: state)
        #expect(step.status == 0, "\(step.err)")
        #expect(step.out.contains("backup_current_state  succeeded"))
        let runbook = try ContainmentDaemonTests.json(["runbooks", "show", "--incident", id], daemon)
        let ticked = runbook["steps"]?.arrayValue?.first { $0["number"]?.doubleValue == 2 }
        #expect(ticked?["done"]?.boolValue == true)
        #expect(ticked?["note"]?.stringValue?.contains("succeeded: vigild: backed up to") == true)
        let check = try vigil(["runbooks", "step", id, "3", "--run"], stateDirectory: state)
        #expect(check.status != 0 && check.err.contains("is a check"))
        let backups = try FileManager.default.contentsOfDirectory(atPath: state + "/backups").filter { $0.hasSuffix(".db") }
        #expect(backups.count == 2)
    }
}
