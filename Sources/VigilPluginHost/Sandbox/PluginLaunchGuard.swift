import Foundation
import VigilCore

/// Why a plugin may not start with the paths its manifest names, or without its data folder.
public struct PathRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    public var plugin: String
    public var field: String
    public var path: String
    public var reason: String

    public var description: String { "plugin \(plugin): \(field) \(path) \(reason)" }
}

/// The daemon's side of the operator policy at each start of a plugin: the manifest checked
/// against ``policy``, its paths kept away from the daemon's state and the other plugins, every
/// path walked without following a symlink, and the plugin's data folder made safely.
///
/// The data folder is `<state>/plugins/<name>/data`: `plugins` and `<name>` are root's (0700),
/// `data` is the plugin's (0700), each made with `mkdirat` and opened with `O_NOFOLLOW` so a
/// symlink planted at any of them is refused, never followed or chowned through.
public struct PluginLaunchGuard: Sendable, Equatable {
    public var policy: PluginPolicy
    /// The daemon's state folder (database, control socket, spec files, data folders).
    public var stateDirectory: String
    /// Every loaded plugin's folder: a plugin's paths may show none of them but its own.
    public var pluginDirectories: [String]

    public init(policy: PluginPolicy, stateDirectory: String, pluginDirectories: [String]) {
        self.policy = policy
        self.stateDirectory = stateDirectory
        self.pluginDirectories = pluginDirectories
    }

    /// The environment variable that tells a plugin where its data folder is.
    public static let dataEnvironmentKey = "VIGIL_DATA_DIR"

    /// `<state>/plugins/<plugin>/data`, bound writable at the same path inside the sandbox.
    public func dataDirectory(for plugin: String) -> String {
        stateDirectory + "/plugins/" + plugin + "/data"
    }

    /// Everything `manifest` asks beyond the policy, and every path that would show the
    /// daemon's state or another plugin (or let the plugin write its own code). Pure: no
    /// filesystem access.
    public func violations(of manifest: PluginManifest) -> [PolicyViolation] {
        var out = policy.violations(of: manifest)
        let own = manifest.directory
        let others = pluginDirectories.filter { PolicyPath.normalize($0) != PolicyPath.normalize(own) }
        let needs = manifest.sandbox
        let fields = [("sandbox.read_paths", needs.readPaths), ("sandbox.write_paths", needs.writePaths),
                      ("sandbox.executables", needs.executables),
                      (OptionalSandboxItem.Field.readPaths.key, needs.optionalReadPaths),
                      (OptionalSandboxItem.Field.executables.key, needs.optionalExecutables)]
        for (field, paths) in fields {
            for path in paths {
                if PolicyPath.overlaps(path, stateDirectory) {
                    out.append(PolicyViolation(plugin: manifest.name, field: field, asked: path,
                                               allowed: "nothing in or above the daemon's state folder \(stateDirectory)"))
                } else if let other = others.first(where: { PolicyPath.overlaps(path, $0) }) {
                    out.append(PolicyViolation(plugin: manifest.name, field: field, asked: path,
                                               allowed: "nothing in or above another plugin's folder (\(other))"))
                } else if field == "sandbox.write_paths", PolicyPath.overlaps(path, own) {
                    out.append(PolicyViolation(plugin: manifest.name, field: field, asked: path,
                                               allowed: "nothing in or above its own folder (its data folder is \(dataDirectory(for: manifest.name)))"))
                }
            }
        }
        return out
    }

    /// Walks every declared path without following symlinks, then makes the data folder for
    /// `uid` with its quota (``PluginDataVolume``, `sandbox.limits.data`). Blocking (it may run
    /// mkfs.ext4 and mount): call it off the cooperative pool.
    public func prepare(_ manifest: PluginManifest, uid: UInt32) throws(PathRefusal) -> PreparedDataFolder {
        try Self.checkPaths(of: manifest)
        let bytes = manifest.sandbox.limits.dataBytes ?? PluginDataVolume.defaultBytes
        return try makeDataDirectory(plugin: manifest.name, uid: uid, quotaBytes: bytes)
    }

    /// Where loop devices are asked for (a missing path is the fallback of a container; tests).
    var loopControlPath = PluginDataVolume.loopControl

    /// Unmounts the plugin's data image, if mounted (lazily: a plugin still running keeps its
    /// view until it ends; the loop device goes with the last user). The plugin host calls it
    /// for every plugin when it stops; the next start mounts the image again.
    public func releaseDataFolder(for plugin: String) {
        PluginDataVolume.release(dataDirectory(for: plugin))
    }

    /// Every read path, write path and program of `manifest` must exist and be reached from `/`
    /// through no symlink (each component opened with `O_PATH | O_NOFOLLOW`), so a path the
    /// policy allowed cannot be turned into one it does not. Optional ones are checked by
    /// ``OptionalSandboxNeeds/resolve(_:)``, which moves those that exist into these lists.
    public static func checkPaths(of manifest: PluginManifest) throws(PathRefusal) {
        let needs = manifest.sandbox
        let fields = [("sandbox.read_paths", needs.readPaths), ("sandbox.write_paths", needs.writePaths),
                      ("sandbox.executables", needs.executables)]
        for (field, paths) in fields {
            for path in paths {
                if let problem = pathProblem(path) {
                    throw PathRefusal(plugin: manifest.name, field: field, path: path, reason: problem.reason)
                }
            }
        }
    }

    /// Nil when `path` exists and no component of it is a symlink; otherwise what is wrong
    /// (`missing`: only that it does not exist, which `vigil plugins check` reports as a warning).
    public static func pathProblem(_ path: String) -> (reason: String, missing: Bool)? {
        guard let normalized = PolicyPath.normalize(path), normalized == path else {
            return ("is not a normalized absolute path", false)
        }
        var fd = open("/", oPath | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return ("cannot be checked: \(String(cString: strerror(errno)))", false) }
        defer { close(fd) }
        var walked = ""
        for component in normalized.split(separator: "/") {
            walked += "/" + component
            let next = openat(fd, String(component), oPath | O_NOFOLLOW | O_CLOEXEC)
            guard next >= 0 else {
                return errno == ENOENT ? ("does not exist (\(walked))", true)
                    : ("cannot be opened at \(walked): \(String(cString: strerror(errno)))", false)
            }
            close(fd)
            fd = next
            var st = stat()
            guard fstat(fd, &st) == 0 else { return ("cannot be checked at \(walked): \(String(cString: strerror(errno)))", false) }
            if st.st_mode & S_IFMT == S_IFLNK { return ("goes through a symlink (\(walked)); name the real path", false) }
        }
        return nil
    }

    /// Makes (or checks) `<state>/plugins/<plugin>/data` one level at a time, relative to the
    /// folder above, never following a symlink; with `quotaBytes`, mounts the plugin's image on
    /// it (``PluginDataVolume``; nil: a plain folder). `data` (the image's root) ends owned by `uid`, mode 0700.
    func makeDataDirectory(plugin: String, uid: UInt32, quotaBytes: UInt64?) throws(PathRefusal) -> PreparedDataFolder {
        var mode = DataFolderMode.plain(reason: "quota disabled")
        let target = dataDirectory(for: plugin)
        func refuse(_ reason: String) -> PathRefusal {
            PathRefusal(plugin: plugin, field: "data folder", path: target, reason: reason)
        }
        guard !plugin.isEmpty, !plugin.contains("/"), plugin != ".", plugin != ".." else { throw refuse("has an invalid plugin name") }
        var fd = open(stateDirectory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw refuse("cannot be made: state folder: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let steps: [(name: String, owner: uid_t)] = [("plugins", geteuid()), (plugin, geteuid()), ("data", uid)]
        func openStep(_ name: String) throws(PathRefusal) -> Int32 {
            let next = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard next >= 0 else {
                let why = errno == ELOOP || errno == ENOTDIR ? "is not a real folder (a symlink or a file is in the way) at \(name)"
                    : "cannot be opened at \(name): \(String(cString: strerror(errno)))"
                throw refuse(why)
            }
            return next
        }
        for step in steps {
            if mkdirat(fd, step.name, 0o700) != 0, errno != EEXIST {
                throw refuse("cannot be made at \(step.name): \(String(cString: strerror(errno)))")
            }
            var next = try openStep(step.name)
            if step.name == "data", let quotaBytes {
                // A real folder (checked just above); the image is mounted on it, and from here
                // on `data` is the image's root.
                close(next)
                do throws(PluginDataVolume.Refusal) {
                    mode = try PluginDataVolume.prepare(parent: fd, path: target, uid: uid, bytes: quotaBytes,
                                                       loopControl: loopControlPath)
                } catch {
                    throw refuse(error.reason)
                }
                next = try openStep(step.name)
            }
            close(fd)
            fd = next
            var st = stat()
            guard fstat(fd, &st) == 0 else { throw refuse("cannot be checked: \(String(cString: strerror(errno)))") }
            if step.name == "data" {
                // Through the open descriptor: whatever the path names now, only this folder changes owner.
                guard fchown(fd, uid, uid) == 0, fchmod(fd, 0o700) == 0 else {
                    throw refuse("cannot be given to uid \(uid): \(String(cString: strerror(errno)))")
                }
            } else if st.st_uid != step.owner || st.st_mode & 0o077 != 0 {
                // Someone else could have put something in it: refuse rather than repair.
                throw refuse("has a parent \(step.name) that is not root's alone (owner \(st.st_uid), mode \(String(st.st_mode & 0o7777, radix: 8)))")
            }
        }
        return PreparedDataFolder(path: target, mode: mode)
    }
}

/// A plugin's data folder, ready for a run: where it is and how it is bounded.
public struct PreparedDataFolder: Sendable, Equatable {
    public var path: String
    public var mode: DataFolderMode
}

/// `O_PATH` (Glibc only exports it under `_GNU_SOURCE`); the same value on x86-64 and arm64.
private let oPath: Int32 = 0o10_000_000

extension SandboxProfile {
    /// Syscall additions of `manifest` that no policy may make to this profile: one the profile
    /// kills, or one it allows only with argument checks (an unconditional rule beside it would
    /// void them).
    public func unsafeAdditions(of manifest: PluginManifest) -> [PolicyViolation] {
        let forbidden = Set(kill).union(Self.neverAllowed).union(Self.notWatchable)
        let needs = manifest.sandbox
        return [("sandbox.syscalls.allow", needs.extraAllow), ("sandbox.syscalls.watch", needs.extraWatch)].flatMap { field, calls in
            calls.filter(forbidden.contains).map {
                PolicyViolation(plugin: manifest.name, field: field, asked: $0,
                                allowed: "never (profile \(name) kills it or checks its arguments)")
            }
        }
    }
}
