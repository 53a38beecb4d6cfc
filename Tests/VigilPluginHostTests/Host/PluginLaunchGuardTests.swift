import Foundation
import Testing
import VigilConfig
import VigilCore
@testable import VigilPluginHost

/// The daemon's checks at each start of a plugin: paths kept away from the state folder and the
/// other plugins, symlinks refused, and the data folder made without following anything.
@Suite struct PluginLaunchGuardTests {
    /// A temporary tree: `state/`, `plugins/evil/`, `plugins/webhook/`, `victim/`.
    struct Tree {
        let root: String
        var state: String { root + "/state" }
        var plugins: String { root + "/plugins" }
        var victim: String { root + "/victim" }

        init() throws {
            root = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-guard-\(UUID().uuidString.prefix(8))").path
            for dir in ["/state", "/plugins/evil", "/plugins/webhook/json", "/victim"] {
                try FileManager.default.createDirectory(atPath: root + dir, withIntermediateDirectories: true)
            }
            chmod(root + "/state", 0o700)
        }

        func remove() {
            launchGuard().releaseDataFolder(for: "evil")
            try? FileManager.default.removeItem(atPath: root)
        }

        func launchGuard(_ policy: PluginPolicy = .builtIn) -> PluginLaunchGuard {
            PluginLaunchGuard(policy: policy, stateDirectory: state,
                              pluginDirectories: [plugins + "/evil", plugins + "/webhook"])
        }

        func manifest(_ sandbox: String) throws -> PluginManifest {
            try PluginManifestFile.load(text: "name: evil\nkind: action\nexec: run.py\nprotocol: 1\nsandbox: \(sandbox)\n",
                                        file: plugins + "/evil/plugin.yaml", directory: plugins + "/evil")
        }
    }

    static func everything(_ root: String) -> PluginPolicy {
        PluginPolicy(defaultCeiling: PluginCeiling(readPaths: [root], writePaths: [root]))
    }

    @Test func pathsIntoAnotherPluginOrTheStateFolderAreRefusedEvenWhenThePolicyCoversThem() throws {
        let tree = try Tree()
        defer { tree.remove() }
        let g = tree.launchGuard(Self.everything(tree.root))
        let found = g.violations(of: try tree.manifest("""
            { write_paths: [../webhook/json, \(tree.state)/vigil.db, ../evil/code], read_paths: [\(tree.root), \(tree.victim)] }
            """))
        #expect(found.map { "\($0.field)=\($0.asked)" } == [
            "sandbox.read_paths=\(tree.root)",
            "sandbox.write_paths=\(tree.plugins)/webhook/json",
            "sandbox.write_paths=\(tree.state)/vigil.db",
            "sandbox.write_paths=\(tree.plugins)/evil/code",
        ], "\(found)")
        #expect(found[1].allowed.contains("another plugin's folder"))
        #expect(found[2].allowed.contains("state folder"))
    }

    @Test func aPathThroughASymlinkIsRefusedAtStart() throws {
        let tree = try Tree()
        defer { tree.remove() }
        try FileManager.default.createSymbolicLink(atPath: tree.root + "/link", withDestinationPath: tree.plugins + "/webhook")
        let m = try tree.manifest("{ read_paths: [\(tree.root)/link/json], write_paths: [\(tree.victim)] }")
        #expect(tree.launchGuard(Self.everything(tree.root)).violations(of: m).isEmpty, "lexically it is allowed")
        #expect(throws: PathRefusal.self) { try PluginLaunchGuard.checkPaths(of: m) }
        let problem = PluginLaunchGuard.pathProblem(tree.root + "/link/json")
        #expect(problem?.reason == "goes through a symlink (\(tree.root)/link); name the real path")
        #expect(problem?.missing == false)
        #expect(PluginLaunchGuard.pathProblem(tree.victim) == nil)
        #expect(PluginLaunchGuard.pathProblem(tree.root + "/absent")?.missing == true)
    }

    @Test(.enabled(if: geteuid() == 0, "chown needs root"))
    func theDataFolderIsMadeForThePluginAndNothingElse() throws {
        let tree = try Tree()
        defer { tree.remove() }
        let g = tree.launchGuard()
        let data = try g.prepare(try tree.manifest("{}"), uid: 61_234).path
        #expect(data == tree.state + "/plugins/evil/data")
        var st = stat()
        #expect(lstat(data, &st) == 0 && st.st_uid == 61_234 && st.st_gid == 61_234 && st.st_mode & 0o7777 == 0o700)
        for parent in [tree.state + "/plugins", tree.state + "/plugins/evil"] {
            #expect(lstat(parent, &st) == 0 && st.st_uid == 0 && st.st_mode & 0o7777 == 0o700, "\(parent)")
        }
        // Again: it is kept, and still the plugin's.
        #expect(try g.prepare(try tree.manifest("{}"), uid: 61_234).path == data)
        // The request binds it writable and names it in the environment.
        var request = SandboxRequest(plugin: "evil", pluginDirectory: tree.plugins + "/evil", executable: "/bin/true", uid: 61_234, gid: 61_234)
        request.dataDirectory = data
        let profile = SandboxProfile(name: "t", allow: [], watch: [], kill: [], errno: [:], runtimePaths: [])
        let spec = request.spec(profile: profile)
        #expect(spec.filesystem.writePaths == [data])
        #expect(spec.environment["VIGIL_DATA_DIR"] == data)
    }

    @Test(.enabled(if: geteuid() == 0, "chown needs root"))
    func aSymlinkPlantedWhereTheDataFolderGoesIsNotFollowed() throws {
        let tree = try Tree()
        defer { tree.remove() }
        let g = tree.launchGuard()
        for (planted, at) in [(tree.state + "/plugins/evil/data", "data"), (tree.state + "/plugins/evil", "evil")] {
            try? FileManager.default.removeItem(atPath: tree.state + "/plugins")
            try FileManager.default.createDirectory(atPath: (planted as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            chmod(tree.state + "/plugins", 0o700)
            if at == "data" { chmod(tree.state + "/plugins/evil", 0o700) }
            try FileManager.default.createSymbolicLink(atPath: planted, withDestinationPath: tree.victim)
            do {
                _ = try g.prepare(try tree.manifest("{}"), uid: 61_235)
                Issue.record("a symlink at \(at) was followed")
            } catch {
                #expect("\(error)".contains("is not a real folder"), "\(error)")
            }
            var st = stat()
            #expect(lstat(tree.victim, &st) == 0 && st.st_uid == 0, "the symlink's target keeps its owner")
        }
    }

    @Test func aSyscallTheProfileKillsOrChecksCannotBeAddedWhateverThePolicy() throws {
        let tree = try Tree()
        defer { tree.remove() }
        let profile = SandboxProfile(name: "action", allow: ["read"], watch: [], kill: ["ptrace", "mount"], errno: [:], runtimePaths: [])
        let m = try tree.manifest("{ syscalls: { allow: [prctl, getrandom], watch: [mount] } }")
        #expect(profile.unsafeAdditions(of: m).map { "\($0.field)=\($0.asked)" } == ["sandbox.syscalls.allow=prctl", "sandbox.syscalls.watch=mount"])
    }
}
