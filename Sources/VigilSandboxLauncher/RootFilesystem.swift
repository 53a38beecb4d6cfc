import CVigilSys
import Foundation
import VigilCore

/// Builds the plugin's minimal read-only root in a staging tmpfs and `pivot_root`s into it.
///
/// Every path keeps its host name inside the view. After `pivot_root` the old root is detached,
/// so the daemon's state folder, database, control socket and the other plugins are not there.
enum RootFilesystem {
    static func build(_ spec: SandboxSpec, staging root: String) throws(LauncherFailure) {
        let fs = spec.filesystem
        // Folders of the view are 0755 whatever the daemon's umask; the plugin keeps the daemon's.
        let inherited = umask(0o022)
        defer { umask(inherited) }
        guard mount(nil, "/", nil, vigil_ms_rec() | vigil_ms_private(), nil) == 0 else {
            throw .errno(.privateMounts, "mount --make-rprivate /")
        }
        guard mount("vigil-root", root, "tmpfs", vigil_ms_nosuid() | vigil_ms_nodev(), "mode=0755,size=1m") == 0 else {
            throw .errno(.rootTmpfs, "tmpfs \(root)")
        }
        if fs.tmpBytes > 0 {
            try makeDirectory(root + "/tmp", step: .tmp)
            // nr_inodes: without it a 16 MiB /tmp held 500,000 empty files (+519 MB of kernel slab).
            guard mount("vigil-tmp", root + "/tmp", "tmpfs", vigil_ms_nosuid() | vigil_ms_nodev(),
                        "mode=1777,size=\(fs.tmpBytes),nr_inodes=\(tmpInodes(fs.tmpBytes))") == 0 else { throw .errno(.tmp, "tmpfs /tmp") }
        }
        try buildDevices(root: root)
        if spec.namespaces.pid {
            try makeDirectory(root + "/proc", step: .proc)
            guard mount("proc", root + "/proc", "proc", vigil_ms_nosuid() | vigil_ms_nodev() | vigil_ms_noexec(),
                        "hidepid=invisible,subset=pid") == 0 else { throw .errno(.proc, "mount proc") }
        }
        try bindHostCounters(root: root)
        // Parents before children, so a read path inside the plugin folder is not hidden by it.
        var binds: [(path: String, writable: Bool)] = []
        binds += fs.runtimePaths.map { ($0, false) }
        binds.append((fs.pluginDirectory, false))
        binds += fs.readPaths.map { ($0, false) }
        binds += fs.writePaths.map { ($0, true) }
        for bind in binds.sorted(by: { depth($0.path) < depth($1.path) }) {
            try bindMount(bind.path, root: root, writable: bind.writable)
        }
        guard chdir(root) == 0, vigil_pivot_root(".", ".") == 0 else { throw .errno(.pivotRoot, "pivot_root") }
        guard umount2(".", Int32(MNT_DETACH)) == 0, chdir("/") == 0 else { throw .errno(.pivotRoot, "detaching the old root") }
        guard mount(nil, "/", nil, vigil_ms_remount() | vigil_ms_rdonly() | vigil_ms_nosuid() | vigil_ms_nodev(), nil) == 0 else {
            throw .errno(.pivotRoot, "remounting / read-only")
        }
    }

    /// One inode per 4 KiB page of /tmp, at least 64: as many files as it could hold with data.
    static func tmpInodes(_ bytes: UInt64) -> UInt64 { max(64, bytes / 4096) }

    static func depth(_ path: String) -> Int { path.split(separator: "/").count }

    /// `mkdir -p` with mode 0755, in plain syscalls: the plugin process is a fresh clone of the
    /// zygote, and Foundation's first use there costs page faults and set-up on every start.
    static func makeDirectory(_ path: String, step: LauncherStep) throws(LauncherFailure) {
        if mkdir(path, 0o755) == 0 || Glibc.errno == EEXIST { return }
        guard Glibc.errno == ENOENT else { throw .errno(step, "mkdir \(path)") }
        let parent = parentDirectory(of: path)
        guard parent != path, parent != "/" else { throw .errno(step, "mkdir \(path)") }
        try makeDirectory(parent, step: step)
        guard mkdir(path, 0o755) == 0 || Glibc.errno == EEXIST else { throw .errno(step, "mkdir \(path)") }
    }

    /// `/a/b/c` → `/a/b`; `/a` → `/`.
    static func parentDirectory(of path: String) -> String {
        let trimmed = path.utf8.last == UInt8(ascii: "/") ? String(path.dropLast()) : path
        guard let slash = trimmed.lastIndex(of: "/") else { return "/" }
        return slash == trimmed.startIndex ? "/" : String(trimmed[..<slash])
    }

    /// Binds `path` at the same place under `root`; a symlink (`/bin -> usr/bin`) is recreated instead.
    static func bindMount(_ path: String, root: String, writable: Bool) throws(LauncherFailure) {
        var st = stat()
        guard lstat(path, &st) == 0 else {
            if Glibc.errno == ENOENT { return }  // A runtime path this distribution does not have.
            throw .errno(.bindMount, path)
        }
        let target = root + path
        try makeDirectory(parentDirectory(of: target), step: .bindMount)
        if st.st_mode & S_IFMT == S_IFLNK {
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let n = readlink(path, &buffer, buffer.count - 1)
            guard n > 0 else { throw .errno(.bindMount, "readlink \(path)") }
            if symlink(buffer, target) != 0, Glibc.errno != EEXIST { throw .errno(.bindMount, "symlink \(target)") }
            return
        }
        if st.st_mode & S_IFMT == S_IFDIR {
            try makeDirectory(target, step: .bindMount)
        } else {
            // A file inside an earlier bind (the runtime's /etc/ld.so.cache under a read path of
            // /etc) is already there, on a read-only mount: it is the mount point as it is.
            var existing = stat()
            if lstat(target, &existing) != 0 {
                let fd = open(target, O_CREAT | O_WRONLY | O_CLOEXEC, 0o644)
                guard fd >= 0 else { throw .errno(.bindMount, "creating \(target)") }
                close(fd)
            }
        }
        guard mount(path, target, nil, vigil_ms_bind() | vigil_ms_rec(), nil) == 0 else {
            throw .errno(.bindMount, "bind \(path)")
        }
        // Recursive: a remount of the bind alone leaves every mount below it (a host's /usr/local,
        // /var/lib/... on their own filesystems) as writable as on the host.
        guard vigil_mount_restrict_recursive(target, writable ? 0 : 1) == 0 else {
            throw .errno(.bindMount, "mount_setattr(AT_RECURSIVE) \(path)")
        }
    }

    /// The host-wide counters a metrics detector reads (`/proc` itself only has the plugin's own
    /// pids): read-only copies of the host's `/proc/NAME` at `/run/host/proc/NAME`.
    static let hostCounters = ["stat", "meminfo", "loadavg", "uptime", "cpuinfo"]

    static func bindHostCounters(root: String) throws(LauncherFailure) {
        let folder = root + "/run/host/proc"
        try makeDirectory(folder, step: .proc)
        for name in hostCounters {
            let target = folder + "/" + name
            let fd = open(target, O_CREAT | O_WRONLY | O_CLOEXEC, 0o444)
            guard fd >= 0 else { throw .errno(.proc, "creating \(target)") }
            close(fd)
            guard mount("/proc/" + name, target, nil, vigil_ms_bind(), nil) == 0,
                  vigil_mount_restrict_recursive(target, 1) == 0 else { throw .errno(.proc, "bind /proc/\(name)") }
        }
    }

    /// A tmpfs `/dev` with only null, zero, random and urandom (bound from the host) and the fd links.
    static func buildDevices(root: String) throws(LauncherFailure) {
        let dev = root + "/dev"
        try makeDirectory(dev, step: .devices)
        guard mount("vigil-dev", dev, "tmpfs", vigil_ms_nosuid() | vigil_ms_noexec(), "mode=0755,size=64k") == 0 else {
            throw .errno(.devices, "tmpfs /dev")
        }
        for name in ["null", "zero", "random", "urandom"] {
            let target = dev + "/" + name
            let fd = open(target, O_CREAT | O_WRONLY | O_CLOEXEC, 0o666)
            guard fd >= 0 else { throw .errno(.devices, "creating \(target)") }
            close(fd)
            guard mount("/dev/" + name, target, nil, vigil_ms_bind(), nil) == 0 else { throw .errno(.devices, "bind /dev/\(name)") }
        }
        for (name, link) in [("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                             ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")] {
            guard symlink(link, dev + "/" + name) == 0 else { throw .errno(.devices, "symlink /dev/\(name)") }
        }
        guard mount(nil, dev, nil, vigil_ms_remount() | vigil_ms_rdonly() | vigil_ms_nosuid() | vigil_ms_noexec(), nil) == 0 else {
            throw .errno(.devices, "remounting /dev read-only")
        }
    }
}
