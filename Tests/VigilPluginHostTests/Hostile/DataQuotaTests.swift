import Foundation
import Testing
import VigilConfig
import VigilCore
@testable import VigilPluginHost

/// Issue 16, points 5 and 8: a plugin's data folder is a filesystem of its own with a quota in
/// bytes and in inodes, enforced by the kernel (an ext4 image loop-mounted by the daemon's side,
/// ``PluginDataVolume``). The attack pass wrote 469,488 files / 1.3 GB into a plain folder.
/// Each test makes the folder as the daemon does (``PluginLaunchGuard/prepare(_:uid:)``) and runs
/// the hostile plugin in it under the real `vigil-sandbox`.
enum DataQuotaSupport {
    static let available = SandboxHarness.available && FileManager.default.fileExists(atPath: "/dev/loop-control")
        && PluginDataVolume.mkfsCandidates.contains { FileManager.default.isExecutableFile(atPath: $0) }
}

@Suite(.serialized, .enabled(if: DataQuotaSupport.available, "needs root, cc, vigil-sandbox, loop devices and mkfs.ext4"))
struct DataQuotaTests {
    let world: SandboxHarness.World
    let launchGuard: PluginLaunchGuard
    init() throws {
        world = try SandboxHarness.World()
        launchGuard = PluginLaunchGuard(policy: .builtIn, stateDirectory: world.stateDirectory.path,
                                        pluginDirectories: [world.pluginDirectory.path, world.otherPluginDirectory.path])
    }

    /// The data folder of `plugin` with a `data` limit, made as the daemon makes it.
    func prepare(_ plugin: String = "hostile", data: String = "8 MiB") throws -> PreparedDataFolder {
        let directory = plugin == "hostile" ? world.pluginDirectory.path : world.otherPluginDirectory.path
        let manifest = try PluginManifestFile.load(
            text: "name: \(plugin)\nkind: detector\nexec: hostile\nprotocol: 1\nsandbox: { limits: { data: \(data) } }\n",
            file: directory + "/plugin.yaml", directory: directory)
        return try launchGuard.prepare(manifest, uid: world.uid)
    }

    func run(_ attempt: String, _ argument: String? = nil, data: PreparedDataFolder) throws -> SandboxHarness.Outcome {
        var request = world.request(attempt, argument)
        request.dataDirectory = data.path
        return try SandboxHarness.run(request, profile: world.profile(), stateDirectory: world.stateDirectory)
    }

    static func number(_ key: String, in output: String) -> Int? {
        output.split(separator: "\n").first { $0.hasPrefix(key + "=") }.flatMap { Int($0.dropFirst(key.count + 1)) }
    }

    /// Bytes the state folder takes on its own filesystem (what is mounted below it not
    /// counted): in the plugins' images (each at most its size, sparse) and in everything else.
    static func bytesOnStateFilesystem(_ root: String) -> (images: [UInt64], rest: UInt64) {
        var top = stat()
        guard lstat(root, &top) == 0 else { return ([], 0) }
        var images: [UInt64] = []
        var rest: UInt64 = 0
        var pending = [root]
        while let path = pending.popLast() {
            var st = stat()
            guard lstat(path, &st) == 0, st.st_dev == top.st_dev else { continue }
            let bytes = UInt64(st.st_blocks) * 512
            if path.hasSuffix("/" + PluginDataVolume.imageName) { images.append(bytes) } else { rest += bytes }
            guard st.st_mode & S_IFMT == S_IFDIR else { continue }
            for name in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] { pending.append(path + "/" + name) }
        }
        return (images, rest)
    }

    @Test(.timeLimit(.minutes(2)))
    func aPluginWritingUntilItFailsStopsAtItsQuotaInBytes() throws {
        let data = try prepare()
        let other = try prepare("other")
        defer { launchGuard.releaseDataFolder(for: "hostile"); launchGuard.releaseDataFolder(for: "other") }
        #expect(data.mode == .quota(bytes: 8 << 20, inodes: 2048), "\(data.mode)")
        let outcome = try run("data-bytes", data: data)
        #expect(outcome.output.contains("data-bytes blocked errno=\(ENOSPC)"), "\(outcome.output)")
        let written = Self.number("bytes", in: outcome.output) ?? .max
        #expect(written <= 8 << 20 && written >= 4 << 20, "wrote \(written) bytes")
        #expect(PluginDataVolume.exhaustion(of: data.path)?.contains("full") == true)
        // The daemon's state filesystem holds the images' blocks (each within its size) and
        // nothing the plugin wrote besides.
        let used = Self.bytesOnStateFilesystem(world.stateDirectory.path)
        #expect(used.images.count == 2 && used.images.allSatisfy { $0 <= 8 << 20 }, "\(used.images)")
        #expect(used.rest <= 256 << 10, "\(used.rest) bytes outside the images")
        #expect(try String(contentsOf: world.stateDirectory.appendingPathComponent("vigil.db"), encoding: .utf8) == "secret incidents\n")
        // Another plugin's data folder still takes writes.
        #expect(FileManager.default.createFile(atPath: other.path + "/kept", contents: Data(repeating: 1, count: 1 << 20)))
        #expect(PluginDataVolume.exhaustion(of: other.path) == nil)
    }

    @Test(.timeLimit(.minutes(2)))
    func aPluginCreatingEmptyFilesStopsAtItsInodeQuota() throws {
        let data = try prepare()
        defer { launchGuard.releaseDataFolder(for: "hostile") }
        let outcome = try run("data-inodes", data: data)
        #expect(outcome.output.contains("data-inodes blocked errno=\(ENOSPC)"), "\(outcome.output)")
        let files = Self.number("files", in: outcome.output) ?? .max
        #expect(files <= 2048 && files > 1000, "created \(files) files")
        #expect(PluginDataVolume.exhaustion(of: data.path)?.contains("inodes") == true)
        let used = Self.bytesOnStateFilesystem(world.stateDirectory.path)
        #expect(used.images.count == 1 && used.images.allSatisfy { $0 <= 8 << 20 }, "\(used.images)")
        #expect(used.rest <= 256 << 10, "\(used.rest) bytes outside the images")
    }

    @Test(.timeLimit(.minutes(2)))
    func theDataSurvivesARestartOfThePluginAndOfTheDaemon() throws {
        let data = try prepare()
        defer { launchGuard.releaseDataFolder(for: "hostile") }
        #expect(try run("data-marker", "kept across runs", data: data).output.contains("marker=created"))
        #expect(try run("data-marker", data: try prepare()).output.contains("marker=kept across runs"))
        // A daemon that ended lets go of the mount; the next one mounts the same image again.
        launchGuard.releaseDataFolder(for: "hostile")
        let again = try prepare()
        #expect(again.mode == data.mode)
        #expect(try run("data-marker", data: again).output.contains("marker=kept across runs"))
    }

    /// Loop devices backed by `image`.
    static func devices(backing image: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/sys/block")) ?? []).filter { name in
            name.hasPrefix("loop") && (try? String(contentsOfFile: "/sys/block/\(name)/loop/backing_file", encoding: .utf8))?
                .trimmingCharacters(in: .newlines) == image
        }
    }

    @Test(.timeLimit(.minutes(2)), .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare")))
    func aCopyOfTheMountInAnotherNamespaceIsSharedNeverMountedTwice() throws {
        let data = try prepare()
        defer { launchGuard.releaseDataFolder(for: "hostile") }
        let image = world.stateDirectory.path + "/plugins/hostile/data.img"
        // A mount namespace copied while the image is mounted, private: the daemon's unmount never reaches it.
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        holder.arguments = ["--mount", "--propagation", "private", "sleep", "120"]
        try holder.run()
        // SIGKILL: the test process's blocked signals are inherited, SIGTERM may never arrive.
        defer { kill(holder.processIdentifier, SIGKILL); holder.waitUntilExit() }
        let mountinfo = "/proc/\(holder.processIdentifier)/mountinfo"
        let own = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/mnt")
        let deadline = Date().addingTimeInterval(10)
        // Until it runs `sleep` in a namespace of its own (before, its mountinfo is ours; `unshare`
        // makes its mounts private before it executes `sleep`).
        while Date() < deadline,
              (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(holder.processIdentifier)/ns/mnt")) == own
                || (try? String(contentsOfFile: "/proc/\(holder.processIdentifier)/comm", encoding: .utf8)) != "sleep\n" {
            usleep(10_000)
        }
        #expect(try String(contentsOfFile: mountinfo, encoding: .utf8).contains(data.path))
        let first = Self.devices(backing: image)
        #expect(first.count == 1)
        launchGuard.releaseDataFolder(for: "hostile")
        #expect(Self.devices(backing: image) == first, "the copy still holds the loop device")
        // Meanwhile something wrote into the plain folder under the mount point (a fallback run):
        // it is moved aside for the operator, never merged or deleted.
        try "plain".write(toFile: data.path + "/stray", atomically: false, encoding: .utf8)
        let again = try prepare()
        #expect(again.mode == data.mode)
        #expect(Self.devices(backing: image) == first, "the same device, not a second ext4 on the image")
        #expect(try run("data-marker", "shared", data: again).output.contains("marker=created"))
        #expect(try String(contentsOfFile: world.stateDirectory.path + "/plugins/hostile/data.unmerged/stray", encoding: .utf8) == "plain")
        #expect(!FileManager.default.fileExists(atPath: again.path + "/stray"))
    }

    @Test(.timeLimit(.minutes(2)))
    func withoutLoopDevicesTheFolderIsPlainAndSaysSo() throws {
        var plain = launchGuard
        plain.loopControlPath = world.root.path + "/no-loop-control"
        let manifest = try PluginManifestFile.load(
            text: "name: hostile\nkind: detector\nexec: hostile\nprotocol: 1\n",
            file: world.pluginDirectory.path + "/plugin.yaml", directory: world.pluginDirectory.path)
        let data = try plain.prepare(manifest, uid: world.uid)
        #expect(data.mode.warning == "no data quota: \(plain.loopControlPath) is missing (no loop devices, as in most containers)")
        #expect(!FileManager.default.fileExists(atPath: world.stateDirectory.path + "/plugins/hostile/data.img"))
        #expect(try run("data-marker", "plain", data: data).output.contains("marker=created"))
        #expect(try String(contentsOfFile: data.path + "/marker", encoding: .utf8) == "plain")
    }

    @Test(.timeLimit(.minutes(2)))
    func filesOfAFallbackRunStayWhileLoopDevicesAreMissingThenGoAsideUnmerged() throws {
        let data = try prepare()
        launchGuard.releaseDataFolder(for: "hostile")
        var plain = launchGuard
        plain.loopControlPath = world.root.path + "/no-loop-control"
        let manifest = try PluginManifestFile.load(
            text: "name: hostile\nkind: detector\nexec: hostile\nprotocol: 1\nsandbox: { limits: { data: 8 MiB } }\n",
            file: world.pluginDirectory.path + "/plugin.yaml", directory: world.pluginDirectory.path)
        #expect(try run("data-marker", "fallback", data: try plain.prepare(manifest, uid: world.uid)).output.contains("marker=created"))
        // Still no loop devices: nothing is moved, the plugin finds its file.
        #expect(try run("data-marker", data: try plain.prepare(manifest, uid: world.uid)).output.contains("marker=fallback"))
        let again = try prepare()
        defer { launchGuard.releaseDataFolder(for: "hostile") }
        #expect(again.mode == data.mode)
        #expect(try String(contentsOfFile: world.stateDirectory.path + "/plugins/hostile/data.unmerged/marker", encoding: .utf8) == "fallback")
    }

    @Test(.timeLimit(.minutes(2)))
    func aPlainDataFolderOfAnEarlierVersionMovesIntoTheImage() throws {
        let folder = world.stateDirectory.path + "/plugins/hostile"
        try FileManager.default.createDirectory(atPath: folder + "/data", withIntermediateDirectories: true)
        chmod(world.stateDirectory.path + "/plugins", 0o700)
        chmod(folder, 0o700)
        try "from the plain folder".write(toFile: folder + "/data/marker", atomically: false, encoding: .utf8)
        chown(folder + "/data/marker", world.uid, world.uid)
        let data = try prepare()
        defer { launchGuard.releaseDataFolder(for: "hostile") }
        #expect(data.mode == .quota(bytes: 8 << 20, inodes: 2048), "\(data.mode)")
        #expect(try run("data-marker", data: data).output.contains("marker=from the plain folder"))
        #expect(!FileManager.default.fileExists(atPath: folder + "/data.migrated"), "the plain copy is deleted")
    }

    @Test(.timeLimit(.minutes(2)))
    func aPlainDataFolderLargerThanTheQuotaStaysReadableWithAWarning() throws {
        let folder = world.stateDirectory.path + "/plugins/hostile"
        try FileManager.default.createDirectory(atPath: folder + "/data", withIntermediateDirectories: true)
        chmod(world.stateDirectory.path + "/plugins", 0o700)
        chmod(folder, 0o700)
        #expect(FileManager.default.createFile(atPath: folder + "/data/big", contents: Data(repeating: 7, count: 6 << 20)))
        try "still here".write(toFile: folder + "/data/marker", atomically: false, encoding: .utf8)
        chown(folder + "/data/marker", world.uid, world.uid)
        let data = try prepare(data: "4 MiB")
        defer { launchGuard.releaseDataFolder(for: "hostile") }
        guard case .plain(let reason) = data.mode else {
            Issue.record("expected the plain folder, got \(data.mode)")
            return
        }
        #expect(reason.contains("does not fit"), "\(reason)")
        #expect(data.mode.warning?.hasPrefix("no data quota") == true)
        #expect(!FileManager.default.fileExists(atPath: folder + "/data.img"))
        #expect(try run("data-marker", data: data).output.contains("marker=still here"))
    }
}
