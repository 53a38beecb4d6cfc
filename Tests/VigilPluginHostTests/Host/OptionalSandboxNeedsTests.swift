import Foundation
import Logging
import Testing
import VigilConfig
import VigilCore
@testable import VigilPluginHost

/// A manifest's optional programs, groups and read paths (`sandbox.optional_…`): what the host
/// has joins the sandbox, what it lacks (or cannot safely bind) is left out with a log line, and
/// root's group refuses the start as for a required item.
@Suite struct OptionalSandboxNeedsTests {
    /// A group of this host that is not root's, or nil.
    static var someGroup: (name: String, gid: UInt32)? {
        for name in ["adm", "nogroup", "users", "daemon"] {
            if case .found(let gid) = SandboxRequest.lookUpGroup(name), gid != 0 { return (name, gid) }
        }
        return nil
    }

    static let absentGroup = "vigil-test-no-such-group"

    static func manifest(_ sandbox: String, directory: String = "/opt/vigil/plugins/opt") throws -> PluginManifest {
        try PluginManifestFile.load(text: "name: opt\nkind: detector\nexec: run.py\nprotocol: 1\nsandbox: \(sandbox)\n",
                                    file: directory + "/plugin.yaml", directory: directory)
    }

    @Test func whatTheHostHasJoinsTheRequiredListsAndWhatItLacksIsLeftOut() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-optional-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: root + "/here", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let group = try #require(Self.someGroup)
        let m = try Self.manifest("""
            { read_paths: [/usr/share], executables: [/bin/true], groups: [],
              optional_read_paths: [\(root)/here, \(root)/absent/deeper],
              optional_executables: [/usr/bin/env, \(root)/absent-program],
              optional_groups: [\(Self.absentGroup), \(group.name)] }
            """)
        let (present, absent) = try OptionalSandboxNeeds.resolve(m)
        #expect(present.sandbox.readPaths == ["/usr/share", root + "/here"])
        #expect(present.sandbox.executables == ["/bin/true", "/usr/bin/env"])
        #expect(present.sandbox.groups == [group.name])
        #expect(present.sandbox.optionalItems.isEmpty)
        #expect(absent.map(\.description) == [
            "\(root)/absent-program (sandbox.optional_executables): it does not exist (\(root)/absent-program)",
            "\(Self.absentGroup) (sandbox.optional_groups): it is not a group on this host",
            "\(root)/absent/deeper (sandbox.optional_read_paths): it does not exist (\(root)/absent)",
        ])
        // Nothing else of the manifest changes.
        var same = present
        same.sandbox = m.sandbox
        #expect(same == m)
    }

    /// An optional path with a symlink on it is left out, not bound (with `missing` false, so the
    /// launcher warns): that only takes access away. Root's group refuses the start, as it would
    /// required.
    @Test func anUnsafeOptionalPathIsLeftOutAndRootsGroupRefuses() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-optional-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: root + "/real", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: root + "/link", withDestinationPath: root + "/real")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let symlink = "goes through a symlink (\(root)/link); name the real path"
        for (sandbox, key) in [("{ optional_read_paths: [\(root)/link] }", "sandbox.optional_read_paths"),
                               ("{ optional_executables: [\(root)/link] }", "sandbox.optional_executables")] {
            let (present, absent) = try OptionalSandboxNeeds.resolve(try Self.manifest(sandbox))
            #expect(present.sandbox.readPaths.isEmpty && present.sandbox.executables.isEmpty)
            #expect(absent.map(\.description) == ["\(root)/link (\(key)): it \(symlink)"])
            #expect(absent.map(\.missing) == [false])
        }
        #expect(throws: PathRefusal(plugin: "opt", field: "sandbox.optional_groups", path: "root", reason: "is root's group")) {
            _ = try OptionalSandboxNeeds.resolve(try Self.manifest("{ optional_groups: [root] }"))
        }
    }

    /// The launch guard keeps optional paths away from the daemon's state and other plugins like
    /// required ones.
    @Test func optionalPathsMayNotShowTheStateFolderOrAnotherPlugin() throws {
        let launchGuard = PluginLaunchGuard(policy: PluginPolicy(defaultCeiling: PluginCeiling(executables: ["/var/lib/vigil/x"], readPaths: ["/"])),
                                            stateDirectory: "/var/lib/vigil", pluginDirectories: ["/opt/vigil/plugins/opt", "/opt/vigil/plugins/other"])
        let found = launchGuard.violations(of: try Self.manifest("""
            { optional_read_paths: [/var/lib, /opt/vigil/plugins/other/secret], optional_executables: [/var/lib/vigil/x] }
            """))
        #expect(found.map { "\($0.field)=\($0.asked)" } == [
            "sandbox.optional_read_paths=/var/lib",
            "sandbox.optional_read_paths=/opt/vigil/plugins/other/secret",
            "sandbox.optional_executables=/var/lib/vigil/x",
        ], "\(found)")
    }
}

/// A plugin whose optional items are partly absent starts, with what the host has, under the
/// real `vigil-sandbox`.
@Suite(.serialized, .enabled(if: SandboxHarness.available, "needs root, cc and the vigil-sandbox binary"))
struct OptionalSandboxNeedsLaunchTests {
    @Test func aPluginStartsWithoutTheOptionalItemsTheHostLacks() async throws {
        let group = try #require(OptionalSandboxNeedsTests.someGroup)
        let lines = CapturedLines()
        var logger = Logger(label: "test.capture", factory: { _ in CapturingLogHandler(lines: lines) })
        logger.logLevel = .info
        let world = try PluginWorld(logger: logger)
        let visible = world.root.appendingPathComponent("visible").path
        try FileManager.default.createDirectory(atPath: visible, withIntermediateDirectories: true)
        chmod(visible, 0o755)
        try "x\n".write(toFile: visible + "/fact.txt", atomically: false, encoding: .utf8)
        chmod(visible + "/fact.txt", 0o644)
        let manifest = try world.pythonPlugin("optional", mode: "view", config: "{paths: [\(visible)/fact.txt]}", sandbox: [
            "optional_executables: [/usr/bin/vigil-test-no-such-program]",
            "optional_groups: [\(OptionalSandboxNeedsTests.absentGroup), \(group.name)]",
            "optional_read_paths: [\(visible), /nonexistent-vigil-test/journal]",
        ])
        await world.start([manifest])
        var seen: [(name: String, value: Double, lane: Lane, labels: [String: String], source: String)] = []
        let arrived = await world.eventually {
            seen += world.drained()
            return seen.contains { $0.labels["path"] != nil }
        }
        #expect(arrived, "\(seen)")
        #expect(await world.host.status("optional")?.state == .running)
        // The present group and read path are in its sandbox.
        #expect(seen.first { $0.labels["groups"] != nil }?.labels["groups"] == "\(group.gid)", "\(seen)")
        #expect(seen.first { $0.labels["path"] == visible + "/fact.txt" }?.value == 1)
        // One line per absent item, naming the plugin and the item.
        let said = lines.relayed(from: "optional").map(\.message).filter { $0.hasPrefix("starting without optional") }
        #expect(said == [
            "starting without optional /usr/bin/vigil-test-no-such-program (sandbox.optional_executables): it does not exist (/usr/bin/vigil-test-no-such-program)",
            "starting without optional \(OptionalSandboxNeedsTests.absentGroup) (sandbox.optional_groups): it is not a group on this host",
            "starting without optional /nonexistent-vigil-test/journal (sandbox.optional_read_paths): it does not exist (/nonexistent-vigil-test)",
        ], "\(said)")
        await world.stop()
    }
}
