import CVigilSys
import Foundation
import Synchronization
import VigilCore

/// How a plugin's data folder is held: on a filesystem of its own with a quota, or (where loop
/// devices are unavailable) as a plain folder without one.
public enum DataFolderMode: Sendable, Equatable, CustomStringConvertible {
    /// An ext4 image (`<state>/plugins/<name>/data.img`) loop-mounted on the data folder: the
    /// kernel stops the plugin at `bytes` (ENOSPC) and at `inodes` files and folders.
    case quota(bytes: UInt64, inodes: UInt64)
    /// A plain folder on the state filesystem, bounded only by RLIMIT_FSIZE per file; `reason`
    /// says why there is no quota (logged as a warning and shown by `vigil plugins show`).
    case plain(reason: String)

    public var description: String {
        switch self {
        case .quota(let bytes, let inodes): "ext4 image of \(DataFolderMode.bytesText(bytes)), at most \(inodes) files"
        case .plain(let reason): "plain folder without a quota (\(reason))"
        }
    }

    /// The warning an operator must see, if any.
    public var warning: String? {
        if case .plain(let reason) = self { return "no data quota: \(reason)" }
        return nil
    }

    static func bytesText(_ n: UInt64) -> String {
        if n >= 1 << 30, n % (1 << 30) == 0 { return "\(n >> 30) GiB" }
        if n >= 1 << 20, n % (1 << 20) == 0 { return "\(n >> 20) MiB" }
        if n >= 1 << 10, n % (1 << 10) == 0 { return "\(n >> 10) KiB" }
        return "\(n) bytes"
    }
}

/// The kernel-enforced quota on a plugin's data folder (issue 16, point 8): the daemon keeps each
/// plugin's data in a sparse ext4 image of its own, made with `mkfs.ext4` and loop-mounted
/// `nosuid,nodev,noexec` on `<state>/plugins/<name>/data` in the daemon's mount namespace, which
/// the sandbox then binds into the plugin's view. A plugin that fills it gets ENOSPC, in bytes or
/// in inodes; the state filesystem and the other plugins never see it.
///
/// The mount stays while the daemon runs (every run of the plugin binds the same one) and is
/// detached when the plugin host stops; a daemon that died without stopping leaves it, and the
/// next one finds it again by its loop device's backing file. The loop device is made with
/// `LO_FLAGS_AUTOCLEAR`, so it goes away with the last mount, which may be a copy in another
/// mount namespace: a device still backed by the image is mounted again, never a second one. The image is root's (0600) beside the data folder, outside every
/// plugin's view: no plugin can write the raw filesystem the kernel parses.
///
/// A plain data folder left by an earlier version is copied into the new image when it is made
/// (`mkfs.ext4 -d`), then deleted once the image is mounted; one that does not fit stays a plain
/// folder (``DataFolderMode/plain(reason:)``) until it is emptied or the limit raised. Blocking (mkfs, mount, rm): call off the cooperative pool.
public enum PluginDataVolume {
    /// `sandbox.limits.data` when the manifest and the policy set none.
    public static let defaultBytes = PluginLimits.defaultDataBytes

    /// One inode per 4 KiB of the image, at least 64 (as for the sandbox's /tmp): as many files
    /// as it could hold with data in each.
    public static func inodes(for bytes: UInt64) -> UInt64 { max(64, bytes / 4096) }

    static let imageName = "data.img"
    static let mkfsCandidates = ["/usr/sbin/mkfs.ext4", "/sbin/mkfs.ext4", "/usr/bin/mkfs.ext4"]
    static let loopControl = "/dev/loop-control"
    /// `ext4` superblock magic (statfs f_type).
    static let ext4Magic = 0xEF53
    /// Loop devices' block major.
    static let loopMajor: UInt32 = 7
    /// One launch at a time makes or mounts an image (two launches of one plugin must not mount
    /// the same ext4 twice: two loop devices on one image corrupt it).
    private static let lock = Mutex(())

    /// Why a data folder cannot be held as asked (the plugin does not start).
    struct Refusal: Error { let reason: String }

    /// Makes sure the data folder `data` inside the root-owned folder open at `parent` is the
    /// mount of this plugin's image (made when missing); `path` is that folder's path, for the
    /// mount and for messages. Falls back to the plain folder when loop devices or mkfs are
    /// unavailable. The caller then gives the folder (the image's root) to the plugin's uid.
    static func prepare(parent: Int32, path: String, uid: UInt32, bytes: UInt64,
                        loopControl: String = loopControl) throws(Refusal) -> DataFolderMode {
        try lock.withLock { _ throws(Refusal) in
            try prepareLocked(parent: parent, path: path, uid: uid, bytes: bytes, loopControl: loopControl)
        }
    }

    private static func prepareLocked(parent: Int32, path: String, uid: UInt32, bytes: UInt64,
                                      loopControl: String) throws(Refusal) -> DataFolderMode {
        let folder = parentPath(of: path)
        let image = folder + "/" + imageName
        if let mounted = try mountedImage(parent: parent, image: image) { return mounted }
        // Asked before any image is made or anything moved: without loop devices nothing changes.
        let control = open(loopControl, O_RDWR | O_CLOEXEC)
        guard control >= 0 else {
            return .plain(reason: errno == ENOENT ? "\(loopControl) is missing (no loop devices, as in most containers)"
                : "\(loopControl) cannot be opened: \(String(cString: strerror(errno)))")
        }
        close(control)
        guard let mkfs = mkfsCandidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            return .plain(reason: "mkfs.ext4 not found (install e2fsprogs)")
        }
        var st = stat()
        let haveImage = fstatat(parent, imageName, &st, AT_SYMLINK_NOFOLLOW) == 0
        if haveImage, st.st_mode & S_IFMT != S_IFREG { throw Refusal(reason: "\(image) is not a regular file") }
        let plainHasData = !isEmptyFolder(parent: parent, name: "data")
        if !haveImage, let reason = try makeImage(parent: parent, image: image, source: plainHasData ? path : nil, uid: uid,
                                                  bytes: bytes, mkfs: mkfs) {
            return .plain(reason: reason)
        }
        // The plain folder's files, now in the new image (migrated), or written while the image
        // existed but could not be mounted (unmerged: never merged or deleted, left for the
        // operator), go aside so the mount does not hide them; back if the mount fails.
        var aside: String?
        if plainHasData { aside = try moveAside(parent: parent, folder: folder, as: haveImage ? "data.unmerged" : "data.migrated") }
        func undo() {
            guard let aside else { return }
            _ = unlinkat(parent, "data", AT_REMOVEDIR)
            _ = renameat(parent, aside, parent, "data")
            // Made from the plain folder this time, which is whole again: the next start makes it again.
            if !haveImage { _ = unlinkat(parent, imageName, 0) }
        }
        if mkdirat(parent, "data", 0o700) != 0, errno != EEXIST {
            let why = String(cString: strerror(errno))
            undo()
            throw Refusal(reason: "mkdir \(path): \(why)")
        }
        let mode: DataFolderMode
        do throws(Refusal) { mode = try mount(parent: parent, path: path, image: image) } catch {
            undo()
            throw error
        }
        if case .plain = mode {
            undo()
            return mode
        }
        if !haveImage, let aside {
            // rm does not follow symlinks; --one-file-system keeps it off anything mounted below.
            _ = try? HostProgram.run("/bin/rm", ["-rf", "--one-file-system", "--", folder + "/" + aside])
        }
        return mode
    }

    /// The quota of the image already mounted on `data`, nil when nothing is mounted there.
    /// Anything mounted there that is not this plugin's image is refused.
    static func mountedImage(parent: Int32, image: String) throws(Refusal) -> DataFolderMode? {
        let fd = openat(parent, "data", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var inside = stat(), outside = stat()
        guard fstat(fd, &inside) == 0, fstat(parent, &outside) == 0 else { return nil }
        guard inside.st_dev != outside.st_dev else { return nil }
        let (major, minor) = (vigil_dev_major(UInt64(inside.st_dev)), vigil_dev_minor(UInt64(inside.st_dev)))
        let backing = try? String(contentsOfFile: "/sys/dev/block/\(major):\(minor)/loop/backing_file", encoding: .utf8)
        let file = backing?.trimmingCharacters(in: CharacterSet.newlines)
        guard major == loopMajor, file == image else {
            throw Refusal(reason: "has another filesystem mounted on it (device \(major):\(minor), backed by \(file ?? "no file")), not \(image)")
        }
        return quota(of: fd, parent: parent)
    }

    /// Makes `data.img` (sparse) with `bytes` and its inodes, filled from the plain folder at
    /// `source` when given. A nil return: made; a reason: it could not hold the old data (the
    /// plain folder stays).
    static func makeImage(parent: Int32, image: String, source: String?, uid: UInt32, bytes: UInt64,
                          mkfs: String) throws(Refusal) -> String? {
        let staging = imageName + ".new"
        _ = unlinkat(parent, staging, 0)
        let fd = openat(parent, staging, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Refusal(reason: "cannot create \(image).new: \(String(cString: strerror(errno)))") }
        let sized = ftruncate(fd, off_t(clamping: bytes)) == 0
        let sizeErrno = errno
        close(fd)
        guard sized else {
            _ = unlinkat(parent, staging, 0)
            throw Refusal(reason: "cannot size \(image).new: \(String(cString: strerror(sizeErrno)))")
        }
        var arguments = ["-q", "-F", "-t", "ext4", "-m", "0", "-N", "\(inodes(for: bytes))",
                         "-L", "vigil-data", "-E", "root_owner=\(uid):\(uid),nodiscard"]
        if let source { arguments += ["-d", source] }
        arguments.append(image + ".new")
        let outcome: HostProgram.Outcome
        do { outcome = try HostProgram.run(mkfs, arguments) } catch {
            _ = unlinkat(parent, staging, 0)
            throw Refusal(reason: "cannot run \(mkfs): \(error)")
        }
        guard outcome.succeeded else {
            _ = unlinkat(parent, staging, 0)
            let why = outcome.errorText.isEmpty ? "status \(outcome.status.map { "\($0)" } ?? "signal")" : outcome.errorText
            if source != nil {
                return "the data folder left by an earlier version does not fit in \(DataFolderMode.bytesText(bytes)) "
                    + "(raise sandbox.limits.data or empty it): \(why)"
            }
            throw Refusal(reason: "mkfs.ext4 \(image) failed: \(why)")
        }
        guard renameat(parent, staging, parent, imageName) == 0 else {
            throw Refusal(reason: "cannot rename \(image).new: \(String(cString: strerror(errno)))")
        }
        return nil
    }

    /// Attaches the image to a free loop device and mounts it on `data`, through a descriptor of
    /// the folder (never a path a symlink could redirect).
    static func mount(parent: Int32, path: String, image: String) throws(Refusal) -> DataFolderMode {
        let imageFD = openat(parent, imageName, O_RDWR | O_NOFOLLOW | O_CLOEXEC)
        guard imageFD >= 0 else { throw Refusal(reason: "cannot open \(image): \(String(cString: strerror(errno)))") }
        defer { close(imageFD) }
        let target = openat(parent, "data", oPath | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard target >= 0 else { throw Refusal(reason: "cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(target) }
        var device: Int32 = -1, step: Int32 = 0
        let flags = vigil_ms_nosuid() | vigil_ms_nodev() | vigil_ms_noexec()
        // A loop device may still hold this image: a mount namespace copied from the daemon's
        // while it was mounted (`unshare -m`, `ip netns exec`) keeps its copy of the mount after
        // the daemon let go. Mounting that device again shares its one superblock; a second
        // loop device on the same image would be a second ext4 writing it (corruption).
        if let held = attachedDevice(backing: image),
           Glibc.mount("/dev/loop\(held)", "/proc/self/fd/\(target)", "ext4", flags, "errors=remount-ro") == 0 {
            let root = openat(parent, "data", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard root >= 0 else { throw Refusal(reason: "cannot open \(path) after mounting: \(String(cString: strerror(errno)))") }
            defer { close(root) }
            return quota(of: root, parent: parent)
        }
        guard vigil_loop_mount(imageFD, "/proc/self/fd/\(target)", "ext4", flags, "errors=remount-ro", &device, &step) == 0 else {
            let code = errno
            let why = String(cString: strerror(code))
            // 1–4: no loop device for us here (a container's /dev, no permission): no quota, said loudly.
            // 5: the image itself does not mount; starting on an empty folder would hide the plugin's data.
            if step < 5 { return .plain(reason: "no loop device (\(loopStep(step)): \(why))") }
            throw Refusal(reason: "\(image) does not mount (\(why)); check it with e2fsck -f \(image)")
        }
        let root = openat(parent, "data", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard root >= 0 else { throw Refusal(reason: "cannot open \(path) after mounting: \(String(cString: strerror(errno)))") }
        defer { close(root) }
        return quota(of: root, parent: parent)
    }

    /// The number of a loop device whose backing file is `image`, if any.
    static func attachedDevice(backing image: String) -> Int? {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/sys/block")) ?? [] where name.hasPrefix("loop") {
            guard let n = Int(name.dropFirst(4)),
                  let backing = try? String(contentsOfFile: "/sys/block/\(name)/loop/backing_file", encoding: .utf8),
                  backing.trimmingCharacters(in: CharacterSet.newlines) == image else { continue }
            return n
        }
        return nil
    }

    static func loopStep(_ step: Int32) -> String {
        switch step {
        case 1: "opening \(loopControl)"
        case 2: "LOOP_CTL_GET_FREE"
        case 3: "opening the loop device"
        default: "attaching the image"
        }
    }

    /// The image's size and the inode count of the filesystem open at `fd` (ext4's own
    /// metadata, journal and inode tables, comes out of that size).
    static func quota(of fd: Int32, parent: Int32) -> DataFolderMode {
        var image = stat()
        let bytes = fstatat(parent, imageName, &image, AT_SYMLINK_NOFOLLOW) == 0 ? UInt64(clamping: image.st_size) : 0
        var fs = statvfs()
        return .quota(bytes: bytes, inodes: fstatvfs(fd, &fs) == 0 ? UInt64(fs.f_files) : 0)
    }

    /// What the data folder at `path` is short of, when it is full (bytes or inodes); nil when
    /// it has room or is not a quota mount. For the report at a plugin's exit.
    public static func exhaustion(of path: String) -> String? {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        guard vigil_filesystem_type(fd) == ext4Magic else { return nil }
        var v = statvfs()
        guard fstatvfs(fd, &v) == 0, v.f_blocks > 0 else { return nil }
        let size = UInt64(v.f_blocks) * UInt64(v.f_frsize)
        if v.f_favail == 0 { return "data folder full: all \(v.f_files) inodes used" }
        // ext4 refuses a write that its delayed allocation cannot reserve whole, so a plugin
        // stopped by ENOSPC leaves up to one write's worth free (measured: 637 KiB of a 4 MiB
        // image after 1 MiB writes): under 1 MiB or 5% free counts as full.
        let free = UInt64(v.f_bavail) * UInt64(v.f_frsize)
        if free <= max(1 << 20, size / 20) { return "data folder full: \(free >> 10) KiB of \(size >> 10) KiB free" }
        return nil
    }

    /// Unmounts the image mounted on `path` (MNT_DETACH), if one is.
    static func release(_ path: String) {
        _ = lock.withLock { _ in umount2(path, Int32(MNT_DETACH) | Int32(UMOUNT_NOFOLLOW)) }
    }

    /// Moves the plain `data` folder aside as `name` (`name.N` when an operator has not yet
    /// looked at an earlier one); returns the name it got.
    static func moveAside(parent: Int32, folder: String, as name: String) throws(Refusal) -> String {
        var chosen = name
        var n = 1
        var st = stat()
        while fstatat(parent, chosen, &st, AT_SYMLINK_NOFOLLOW) == 0 {
            n += 1
            chosen = "\(name).\(n)"
            if n > 100 { throw Refusal(reason: "too many \(folder)/\(name).* folders; remove them") }
        }
        guard renameat(parent, "data", parent, chosen) == 0 else {
            throw Refusal(reason: "cannot move \(folder)/data aside: \(String(cString: strerror(errno)))")
        }
        return chosen
    }

    static func isEmptyFolder(parent: Int32, name: String) -> Bool {
        let fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0, let dir = fdopendir(fd) else { return true }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let entryName = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if entryName != ".", entryName != ".." { return false }
        }
        return true
    }

    static func parentPath(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return "/" }
        return String(path[..<slash])
    }
}

/// `O_PATH` (Glibc only exports it under `_GNU_SOURCE`); the same value on x86-64 and arm64.
private let oPath: Int32 = 0o10_000_000
