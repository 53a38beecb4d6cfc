import Foundation
import VigilCore

/// Reading and checking the spec file the daemon wrote.
enum SpecFile {
    /// Reads the spec, refusing anything but a regular file owned by our euid with no group/other bits.
    static func read(path: String) throws(LauncherFailure) -> Data {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { throw .errno(.specUnreadable, path) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .errno(.specUnreadable, path) }
        guard st.st_mode & S_IFMT == S_IFREG, st.st_uid == geteuid(), st.st_mode & 0o077 == 0 else {
            throw LauncherFailure(.specInsecure, "\(path): must be a regular file owned by uid \(geteuid()) with mode 0600")
        }
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 { throw .errno(.specUnreadable, path) }
            if n == 0 { break }
            data.append(contentsOf: buffer[0..<n])
            if data.count > 4 << 20 { throw LauncherFailure(.specInvalid, "\(path): larger than 4 MiB") }
        }
        return data
    }

    /// Decodes and validates a spec; `source` names it in errors (a path, or the zygote request).
    static func decode(_ data: Data, source: String) throws(LauncherFailure) -> SandboxSpec {
        let spec: SandboxSpec
        do {
            spec = try JSONDecoder().decode(SandboxSpec.self, from: data)
        } catch {
            throw LauncherFailure(.specInvalid, "\(source): \(error)")
        }
        try validate(spec)
        return spec
    }

    /// The launcher's own checks; the daemon's resolver makes the same ones, this is the last line.
    static func validate(_ spec: SandboxSpec) throws(LauncherFailure) {
        func fail(_ field: String, _ why: String) -> LauncherFailure {
            LauncherFailure(.specInvalid, "\(field): \(why)")
        }
        guard spec.version == SandboxSpec.currentVersion else {
            throw fail("version", "expected \(SandboxSpec.currentVersion), found \(spec.version)")
        }
        guard !spec.plugin.isEmpty, spec.plugin.utf8.count <= 64 else { throw fail("plugin", "empty or too long") }
        guard spec.uid != 0 else { throw fail("uid", "a plugin never runs as root") }
        guard spec.gid != 0 else { throw fail("gid", "a plugin never runs with group root") }
        guard spec.groups.count <= SandboxSpec.maximumGroups, !spec.groups.contains(0) else {
            throw fail("groups", "at most \(SandboxSpec.maximumGroups) supplementary groups, never root's")
        }
        let fs = spec.filesystem
        let paths = [("executable", spec.executable), ("workingDirectory", spec.workingDirectory),
                     ("filesystem.pluginDirectory", fs.pluginDirectory)]
            + fs.runtimePaths.map { ("filesystem.runtimePaths", $0) }
            + fs.readPaths.map { ("filesystem.readPaths", $0) }
            + fs.writePaths.map { ("filesystem.writePaths", $0) }
            + fs.executables.map { ("filesystem.executables", $0) }
        for (field, path) in paths {
            guard path.hasPrefix("/"), !path.split(separator: "/").contains("..") else {
                throw fail(field, "\"\(path)\" is not an absolute path without ..")
            }
        }
        let forbidden = ["seccomp"]
        for name in forbidden where spec.seccomp.allow.contains(name) || spec.seccomp.watch.contains(name)
            || spec.seccomp.errno[name] != nil {
            throw fail("seccomp", "\(name) may never be allowed: a stacked filter could override ours")
        }
    }
}
